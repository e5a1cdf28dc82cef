/**
 * Two processes (two "isolates" with their own memory and single flight) racing on one cold key
 * share one origin query through the Redis lease. Real Redis via the Upstash bridge, real
 * Postgres via the Neon bridge, where the origin queries are counted.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

const run = promisify(execFile);
let client: pg.Client;

beforeAll(async () => {
  client = new pg.Client({ connectionString: inject("databaseUrl") });
  await client.connect();
});
afterAll(async () => {
  await client.end();
});

async function originQueries(id: string): Promise<number> {
  const res = await fetch(`${inject("neonBridgeUrl")}/__stats?contains=${id}`);
  return ((await res.json()) as { matching: number }).matching;
}

describe("cross-process stampede", () => {
  it("two processes racing on one cold key cost one origin query", async () => {
    const id = crypto.randomUUID();
    await client.query("insert into resources (id, resource_type, payload) values ($1, 'PROGRAM', '{\"name\":\"race\"}')", [id]);
    const before = await originQueries(id);
    const env = {
      ...process.env,
      UPSTASH_URL: inject("upstashUrl"),
      UPSTASH_TOKEN: inject("upstashToken"),
      DATABASE_URL: inject("databaseUrl"),
      NEON_BRIDGE_URL: inject("neonBridgeUrl"),
      KEY_PREFIX: `test:race:${randomBytes(4).toString("hex")}:`,
    };
    // Both start reading at the same instant, well after both have booted.
    const startAt = String(Date.now() + 2_500);
    const outputs = await Promise.all(
      [1, 2].map(() => run(process.execPath, ["test/fixtures/engine-reader.ts", id, startAt], { env, timeout: 30_000 })),
    );
    const results = outputs.map((o) => JSON.parse(o.stdout.trim()) as { source: string; status: string });
    expect((await originQueries(id)) - before).toBe(1);
    expect(results.map((r) => r.source).sort()).toEqual(["origin", "strata-l2"]);
    const loser = results.find((r) => r.source === "strata-l2");
    expect(loser?.status).toMatch(/strata-l2; hit; ttl=\d+; collapsed/);
  }, 60_000);
});
