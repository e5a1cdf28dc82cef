/**
 * @module stampede: N concurrent requests (N connections, one request each) for one key that no
 * tier holds. Counts the origin queries for that key at the Neon bridge and the worker's Redis round
 * trips for it at the Upstash bridge; the baseline is the same N-way burst on a key already in
 * isolate memory, measured right after, so the latency ratio shows what the cold key costs.
 */
import type { ResourceType } from "../../core/types.ts";
import { runLoad, type LoadResult } from "../lib/load.ts";
import { median, ratio } from "../lib/stats.ts";
import type { BenchCase, BenchContext, CaseReport, TargetCheck } from "../lib/types.ts";

const TYPE: ResourceType = "PROGRAM";
const SLUG = "program";
const SIZES = [10, 100, 1000] as const;

interface Trial {
  originQueries: number;
  redisRoundTrips: number;
  cold: LoadResult;
  warm: LoadResult;
}

export const stampedeCase: BenchCase = {
  name: "stampede",
  title: "Stampede: N concurrent requests for one cold key",
  async run(ctx: BenchContext): Promise<CaseReport> {
    const trials = ctx.quick ? 2 : 7;
    const stack = await ctx.stack();
    const worker = await stack.worker();
    const results = new Map<number, Trial[]>();
    // Warm the isolate (registry, epoch view, connections) so the first trial is not also a cold start.
    await runLoad({ baseUrl: worker.url, paths: ["/__bench/floor"], connections: 10, amount: 200 });

    for (const n of SIZES) {
      const list: Trial[] = [];
      for (let t = 0; t < trials; t++) {
        const [id] = await stack.insertResources(TYPE, 1);
        const path = `/v1/resources/${SLUG}/${id}`;
        const before = stack.neon.stats({ contains: id as string }).matching; // the insert does not pass the bridge, but be exact
        stack.upstash.resetStats();
        const cold = await runLoad({ baseUrl: worker.url, paths: [path], connections: n, amount: n });
        await new Promise((r) => setTimeout(r, 200)); // the winner's store runs in waitUntil
        const originQueries = stack.neon.stats({ contains: id as string }).matching - before;
        const redisRoundTrips = stack.upstash.stats().log.filter((trip) => trip.commands.some((c) => c.key?.includes(id as string))).length;
        const warm = await runLoad({ baseUrl: worker.url, paths: [path], connections: n, amount: n });
        if (cold.ok !== n || warm.ok !== n) throw new Error(`N=${n}: ${cold.ok}/${warm.ok} of ${n} requests answered 2xx (cold ${JSON.stringify(cold.statusCodes)}, warm ${JSON.stringify(warm.statusCodes)}, errors ${cold.errors}/${warm.errors})`);
        list.push({ originQueries, redisRoundTrips, cold, warm });
        ctx.log(`   N=${String(n).padEnd(4)} trial ${t + 1}: ${originQueries} origin quer${originQueries === 1 ? "y" : "ies"}, ${redisRoundTrips} Redis round trips, p99 ${cold.latencyMs.p99} ms cold vs ${warm.latencyMs.p99} ms warm`);
      }
      results.set(n, list);
    }

    const rows = SIZES.map((n) => {
      const list = results.get(n) as Trial[];
      const coldP99 = median(list.map((x) => x.cold.latencyMs.p99));
      const warmP99 = median(list.map((x) => x.warm.latencyMs.p99));
      return [
        n,
        list.length,
        Math.max(...list.map((x) => x.originQueries)),
        median(list.map((x) => x.redisRoundTrips)),
        median(list.map((x) => x.cold.latencyMs.p50)),
        coldP99,
        warmP99,
        ratio(coldP99, warmP99),
      ];
    });
    const worst = Math.max(...(results.get(1000) as Trial[]).map((x) => x.originQueries));
    const targets: TargetCheck[] = [
      { target: "1,000-way stampede = 1 origin query", measured: `${worst} (most in any of ${trials} trials)`, met: worst === 1 },
    ];
    return {
      summary:
        `For each N, ${trials} trials on a fresh key: N connections each send one GET for a program no tier holds, all at ` +
        "once (autocannon, own process). Origin queries are the statements carrying the key's id at the Neon bridge; Redis " +
        "round trips are the worker's requests touching the key at the Upstash bridge (lease, waits, the store). Baseline: " +
        "the same N-way burst on the same key once it is in isolate memory. Latency has 1 ms resolution.",
      tables: [
        {
          title: "Origin queries and latency per burst",
          columns: ["N", "trials", "origin queries (max)", "Redis round trips (median)", "p50 ms cold", "p99 ms cold", "p99 ms warm (baseline)", "p99 cold ÷ warm"],
          rows,
          note: "Inside one isolate, concurrent misses share one flight; across isolates, the Redis lease makes the others wait for the winner's value.",
        },
      ],
      targets,
      figures: Object.fromEntries([...results].map(([n, list]) => [String(n), list])),
    };
  },
};
