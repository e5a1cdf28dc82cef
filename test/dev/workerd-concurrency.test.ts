/**
 * Separate, concurrent HTTP requests to one isolate of the production bundle in workerd: what the
 * Workers test pool cannot show, since it never has two requests in flight. Requests that join
 * another request's work (single flight, the shared epoch catch-up, the first config load) must
 * neither resume inside that other request nor be cancelled as hung while they wait for it; the
 * `stampede` benchmark found both (9 of 10 joiners answered 500 after a burst of misses).
 */
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { joined } from "../../core/joined.ts";
import { startWorkerd, type WorkerdWorker } from "../../dev/workerd.ts";

let client: pg.Client;
let worker: WorkerdWorker;
// Inside the repo: workerd refuses source-map paths that climb out of the bundle's directory tree.
const outdir = join(resolve(import.meta.dirname, "..", ".."), ".bench", `test-worker-${process.pid}`);

beforeAll(async () => {
  client = new pg.Client({ connectionString: inject("databaseUrl") });
  await client.connect();
  worker = await startWorkerd({
    outdir,
    bindings: {
      DATABASE_URL: inject("databaseUrl"),
      NEON_BRIDGE_URL: inject("neonBridgeUrl"),
      UPSTASH_REDIS_REST_URL: inject("upstashUrl"),
      UPSTASH_REDIS_REST_TOKEN: inject("upstashToken"),
      SQS_ENDPOINT: inject("sqsEndpoint"),
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
      DEPENDENCY_TIMEOUT_MS: "2000",
      STRATA_KEY_PREFIX: `strata:test:${inject("runId")}:workerd:`,
      STRATA_CACHE_NAMESPACE: `strata-test-${inject("runId")}-workerd`,
      STRATA_ENCRYPTION_KEYS: inject("encryptionKeys"),
      STRATA_ENCRYPTION_KEY_ID: "t1",
    },
  });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await client?.end();
  rmSync(outdir, { recursive: true, force: true });
});

async function insert(type: string, count: number): Promise<string[]> {
  const r = await client.query<{ id: string }>(
    `insert into resources (resource_type, payload) select $1::resource_type, jsonb_build_object('n', g) from generate_series(1, $2::int) g returning id`,
    [type, count],
  );
  return r.rows.map((row) => row.id);
}

async function originQueries(id: string): Promise<number> {
  const res = await fetch(`${inject("neonBridgeUrl")}/__stats?contains=${id}`);
  return ((await res.json()) as { matching: number }).matching;
}

async function get(path: string): Promise<{ status: number; body: string; cacheStatus: string }> {
  const res = await fetch(worker.url + path, { signal: AbortSignal.timeout(20_000) });
  return { status: res.status, body: await res.text(), cacheStatus: res.headers.get("cache-status") ?? "" };
}

describe("concurrent requests in one workerd isolate", () => {
  it("joiners of a cold key's single flight all get the value, after a burst of misses, with one origin query", async () => {
    // A burst of misses first: each leaves stores and flushes behind in waitUntil, which is what
    // made the next single flight's joiners look hung.
    const warm = await insert("WORKOUT", 1000);
    let next = 0;
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < warm.length) statuses.push((await get(`/v1/resources/workout/${warm[next++]}`)).status);
      }),
    );
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    for (let round = 0; round < 3; round++) {
      const [id] = await insert("PROGRAM", 1);
      const before = await originQueries(id as string);
      const results = await Promise.all(Array.from({ length: 10 }, () => get(`/v1/resources/program/${id}`)));
      expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
      expect(new Set(results.map((r) => r.body)).size).toBe(1);
      expect(results.filter((r) => r.cacheStatus.includes("collapsed")).length).toBeGreaterThan(0);
      expect((await originQueries(id as string)) - before).toBe(1);
    }
  }, 60_000);
});

describe("joined", () => {
  it("settles each joiner's own promise with the shared outcome", async () => {
    const shared = new Promise<number>((resolve) => setTimeout(() => resolve(7), 60));
    const a = joined(shared);
    const b = joined(shared);
    expect(a).not.toBe(shared);
    expect(a).not.toBe(b);
    expect(await Promise.all([a, b])).toEqual([7, 7]);
    const failing = Promise.reject(new Error("origin down"));
    await expect(joined(failing)).rejects.toThrow("origin down");
  });
});
