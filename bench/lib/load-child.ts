/**
 * @module Runs one autocannon load in its own process (spawned by bench/lib/load.ts), so the load
 * generator never competes with the bridges in the parent's event loop. Reads a JSON LoadSpec file
 * named on the command line and prints one JSON LoadResult line on stdout.
 */
import { readFileSync } from "node:fs";
import autocannon from "autocannon";
import type { LoadResult, LoadSpec } from "./load.ts";

const spec = JSON.parse(readFileSync(process.argv[2] as string, "utf8")) as LoadSpec;
let next = 0;
const paths = spec.paths;

const result = await autocannon({
  url: spec.baseUrl + (paths[0] ?? "/"),
  connections: spec.connections,
  ...(spec.amount !== undefined ? { amount: spec.amount } : { duration: spec.durationSeconds ?? 5 }),
  method: spec.method ?? "GET",
  headers: spec.headers ?? {},
  ...(spec.body !== undefined ? { body: spec.body } : {}),
  // Each request takes the next path: with as many paths as requests, no key is read twice.
  requests: [
    {
      setupRequest: (req) => {
        req.path = paths[next++ % paths.length] as string;
        return req;
      },
    },
  ],
});

const out: LoadResult = {
  requests: result.requests.total,
  ok: result["2xx"],
  non2xx: result.non2xx,
  errors: result.errors,
  statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count ?? 0])),
  durationSeconds: result.duration,
  rps: result["2xx"] / result.duration,
  latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, mean: result.latency.mean, max: result.latency.max },
};
process.stdout.write(JSON.stringify(out) + "\n");
