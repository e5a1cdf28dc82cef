/**
 * The read path in workerd when dependencies fail or slow down, and under a stampede. This suite
 * reaches Postgres and Redis through fault proxies (test/global-setup.ts) that it stops and hangs
 * on demand; origin queries are counted at the Neon bridge, the last hop before Postgres.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseCacheStatus } from "../../core/engine/cache-status.ts";
import { cacheStrategies, resources } from "../../db/schema/index.ts";
import { isolateState } from "../../edge/cache.ts";
import { app } from "../../edge/index.ts";
import { db, testEnv } from "./helpers.ts";

const TIMEOUT_MS = 500;
/** Every binding this suite runs the worker with: its own isolate state, its own proxies. */
const env = {
  ...testEnv,
  DATABASE_URL: testEnv.TEST_FAULT_DATABASE_URL,
  UPSTASH_REDIS_REST_URL: testEnv.TEST_FAULT_UPSTASH_URL,
  DEPENDENCY_TIMEOUT_MS: String(TIMEOUT_MS),
};

async function get(path: string): Promise<{ res: Response; ms: number; body: unknown }> {
  const ctx = createExecutionContext();
  const started = Date.now();
  const res = await app.fetch(new Request(`http://strata.test${path}`), env, ctx);
  const ms = Date.now() - started;
  const body: unknown = await res.json().catch(() => null);
  await waitOnExecutionContext(ctx);
  return { res, ms, body };
}

function members(res: Response): Record<string, Record<string, string | true>> {
  const out: Record<string, Record<string, string | true>> = {};
  for (const m of parseCacheStatus(res.headers.get("cache-status") ?? "")) out[m.tier] = m.params;
  return out;
}

async function fault(dependency: "postgres" | "redis", mode: "up" | "refuse" | "hang"): Promise<void> {
  const res = await fetch(`${testEnv.TEST_FAULT_CONTROL_URL}/${dependency}/mode`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ mode }),
  });
  if (res.status !== 200) throw new Error(`fault control: ${res.status} ${await res.text()}`);
}

/** Origin queries that carried `id`, counted by the Neon bridge. */
async function originQueries(id: string): Promise<number> {
  const res = await fetch(`${testEnv.NEON_BRIDGE_URL}/__stats?contains=${id}`);
  return ((await res.json()) as { matching: number }).matching;
}

async function insert(type: "EXERCISE" | "ANALYTICS" | "PROGRAM", payload: Record<string, unknown>): Promise<string> {
  const id = crypto.randomUUID();
  await db().insert(resources).values({ id, resourceType: type, payload });
  return id;
}

/** Gives a seeded strategy short lifetimes (this suite alone reads its type) and reloads config. */
async function tune(name: string, ttlSeconds: number, configuration: Record<string, number>): Promise<void> {
  await db()
    .update(cacheStrategies)
    .set({ ttlSeconds, strategyConfiguration: configuration, updatedAt: sql`now()` })
    .where(eq(cacheStrategies.strategyName, name));
  await get(`/v1/resources/program/${crypto.randomUUID()}`); // builds this env's isolate state
  await isolateState()?.config.reload();
}

async function eventually(probe: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  await tune("exercise-library", 1, { staleWhileRevalidateSeconds: 0, staleIfErrorSeconds: 600, negativeTtlSeconds: 1 });
  await tune("analytics-rollup", 1, { staleWhileRevalidateSeconds: 600, staleIfErrorSeconds: 600, negativeTtlSeconds: 1 });
});

afterEach(async () => {
  await fault("postgres", "up");
  await fault("redis", "up");
  isolateState()?.breaker.reset();
});

afterAll(async () => {
  await fault("postgres", "up");
  await fault("redis", "up");
});

describe("stale-while-revalidate", () => {
  it("serves a stale entry with fwd=stale while exactly one background refresh runs, then the new version", async () => {
    const id = await insert("ANALYTICS", { metric: "active-users", value: 1 });
    const url = `/v1/resources/analytics/${id}`;
    expect((await get(url)).res.status).toBe(200);
    await sleep(1_100); // past the 1 s TTL, inside the 600 s SWR window
    await db().update(resources).set({ payload: { metric: "active-users", value: 2 }, version: 2 }).where(eq(resources.id, id));

    const before = await originQueries(id);
    const stale = await Promise.all([1, 2, 3, 4, 5].map(() => get(url)));
    for (const s of stale) {
      expect(s.res.status).toBe(200);
      expect(members(s.res)["strata-l1"]).toMatchObject({ fwd: "stale" });
      expect(s.body).toMatchObject({ version: 1 });
    }
    await eventually(async () => (await get(url)).res.headers.get("etag") === '"2"');
    expect((await originQueries(id)) - before).toBe(1);
    const fresh = await get(url);
    expect(members(fresh.res)["strata-l1"]).toMatchObject({ hit: true });
    expect(fresh.body).toMatchObject({ version: 2, payload: { value: 2 } });
  });
});

describe("Postgres stopped", () => {
  it("still serves a cached key (stale-if-error) and answers an uncached one with a JSON 503", async () => {
    const id = await insert("EXERCISE", { name: "Plank", muscles: ["core"] });
    const url = `/v1/resources/exercise/${id}`;
    expect((await get(url)).res.status).toBe(200);
    await sleep(1_100); // stale: past the 1 s TTL, no SWR, inside the 600 s stale-if-error grace

    await fault("postgres", "refuse");
    const served = await get(url);
    expect(served.res.status).toBe(200);
    expect(served.body).toMatchObject({ id, payload: { name: "Plank" } });
    expect(members(served.res)["strata-l1"]).toMatchObject({ fwd: "stale", detail: "origin-error" });

    const uncached = await get(`/v1/resources/exercise/${crypto.randomUUID()}`);
    expect(uncached.res.status).toBe(503);
    expect(uncached.body).toMatchObject({ error: { code: "dependency_unavailable", dependency: "postgres" } });
  });

  it("bounds a Postgres that stops answering by the dependency timeout", async () => {
    await fault("postgres", "hang");
    const r = await get(`/v1/resources/exercise/${crypto.randomUUID()}`);
    expect(r.res.status).toBe(503);
    expect(r.ms).toBeLessThan(TIMEOUT_MS * 4);
  });
});

describe("Redis stopped", () => {
  it.each(["refuse", "hang"] as const)("(%s) GETs still return 200 with L2 bypassed, within the timeout, then the breaker opens", async (mode) => {
    const ids = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((n) => insert("PROGRAM", { name: `Program ${n}` })));
    await fault("redis", mode);
    const details: string[] = [];
    for (const id of ids) {
      const r = await get(`/v1/resources/program/${id}`);
      expect(r.res.status).toBe(200);
      expect(r.body).toMatchObject({ id });
      const l2 = members(r.res)["strata-l2"];
      expect(l2).toMatchObject({ fwd: "bypass" });
      details.push(String(l2?.detail));
      // One bounded Redis attempt plus the origin: never a hang.
      expect(r.ms).toBeLessThan(TIMEOUT_MS * 3);
    }
    // Failures (the read, and the write-back in waitUntil) open the breaker after five; from then
    // on Redis is not called at all.
    expect(details[0]).toBe("error");
    const opened = details.indexOf("circuit-open");
    expect(opened).toBeGreaterThan(0);
    expect(details.slice(opened).every((d) => d === "circuit-open")).toBe(true);
    expect(isolateState()?.breaker.state).toBe("open");
  });
});

describe("stampede", () => {
  it("200 concurrent GETs of one cold key cost exactly one origin query", async () => {
    const id = await insert("PROGRAM", { name: "Stampede" });
    const before = await originQueries(id); // the INSERT above carried the id too
    const results = await Promise.all(Array.from({ length: 200 }, () => get(`/v1/resources/program/${id}`)));
    expect(results.every((r) => r.res.status === 200)).toBe(true);
    expect((await originQueries(id)) - before).toBe(1);
    const collapsed = results.filter((r) => members(r.res)["strata-l1"]?.collapsed === true).length;
    expect(collapsed).toBeGreaterThan(0);
  });
});
