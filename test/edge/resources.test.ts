/**
 * The read path end to end in workerd: isolate memory → Cache API → Upstash (through the bridge
 * to real Redis) → Neon (through the bridge to real Postgres).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { parseCacheStatus } from "../../core/engine/cache-status.ts";
import { resources } from "../../db/schema/index.ts";
import { isolateState } from "../../edge/cache.ts";
import { CacheApiTier } from "../../edge/tiers/cache-api.ts";
import { call, db, testEnv } from "./helpers.ts";

interface ErrorJson {
  error: { code: string; message: string; field?: string };
}

async function createWorkout(payload: Record<string, unknown> = { name: "Leg day", minutes: 45 }): Promise<string> {
  const id = crypto.randomUUID();
  await db().insert(resources).values({ id, resourceType: "WORKOUT", payload, tags: ["legs", "strength"] });
  return id;
}

function status(res: Response): Record<string, Record<string, string | true>> {
  const out: Record<string, Record<string, string | true>> = {};
  for (const m of parseCacheStatus(res.headers.get("cache-status") ?? "")) out[m.tier] = m.params;
  return out;
}

function engine() {
  const engine = isolateState()?.engine?.engine;
  if (!engine) throw new Error("no engine built yet");
  return engine;
}

const cdn = () => new CacheApiTier({ namespace: testEnv.STRATA_CACHE_NAMESPACE });

/** Background writes (waitUntil) land shortly after the response; poll for their effect. */
async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("GET /v1/resources/{type}/{id}", () => {
  beforeAll(async () => {
    // Build the isolate's engine (and load strategies) once.
    await call(`/v1/resources/workout/${crypto.randomUUID()}`);
  });

  it("misses down to the origin, then hits isolate memory, then the Cache API, then L2, backfilling above", async () => {
    const id = await createWorkout();
    const url = `/v1/resources/workout/${id}`;

    const first = await call(url);
    expect(first.status).toBe(200);
    const body = (await first.json()) as { id: string; type: string; version: number; payload: unknown; tags: string[]; updatedAt: string };
    expect(body).toMatchObject({ id, type: "workout", version: 1, payload: { name: "Leg day", minutes: 45 }, tags: ["legs", "strength"] });
    expect(new Date(body.updatedAt).toString()).not.toBe("Invalid Date");
    expect(first.headers.get("etag")).toBe('"1"');
    expect(first.headers.get("age")).toBe("0");
    expect(first.headers.get("cache-control")).toMatch(/^public, max-age=\d+/);
    const s1 = status(first);
    expect(Object.keys(s1)).toEqual(["strata-l2", "strata-cdn", "strata-l1"]); // RFC 9211 order
    expect(s1["strata-l2"]).toMatchObject({ fwd: "miss", stored: true });
    expect(s1["strata-cdn"]).toMatchObject({ fwd: "miss", stored: true });
    expect(s1["strata-l1"]).toMatchObject({ fwd: "miss", stored: true });

    const second = await call(url);
    expect(second.status).toBe(200);
    const s2 = status(second);
    expect(Object.keys(s2)).toEqual(["strata-l1"]);
    expect(s2["strata-l1"]).toMatchObject({ hit: true });
    expect(Number(s2["strata-l1"]?.ttl)).toBeGreaterThan(0);

    // Isolate memory cleared: the colo's Cache API answers, and L1 is refilled.
    const key = `workout:${id}`;
    await eventually(async () => (await cdn().get(key)) ?? undefined);
    engine().l1.clear();
    const third = await call(url);
    const s3 = status(third);
    expect(s3["strata-cdn"]).toMatchObject({ hit: true });
    expect(s3["strata-l1"]).toMatchObject({ fwd: "miss", stored: true });
    expect(status(await call(url))["strata-l1"]).toMatchObject({ hit: true });

    // Both edge tiers cleared: Redis answers with one round trip, and backfills both.
    engine().l1.clear();
    await cdn().delete(key);
    const fourth = await call(url);
    const s4 = status(fourth);
    expect(s4["strata-l2"]).toMatchObject({ hit: true });
    expect(s4["strata-cdn"]).toMatchObject({ fwd: "miss" });
    expect(s4["strata-l1"]).toMatchObject({ fwd: "miss", stored: true });
    expect(await fourth.json()).toMatchObject({ id, version: 1 });
    await eventually(async () => (await cdn().get(key)) ?? undefined);
  });

  it("answers If-None-Match with 304 and the cache headers", async () => {
    const id = await createWorkout();
    const url = `/v1/resources/workout/${id}`;
    const first = await call(url);
    const etag = first.headers.get("etag") ?? "";
    const res = await call(url, { headers: { "if-none-match": etag } });
    expect(res.status).toBe(304);
    expect(await res.text()).toBe("");
    expect(res.headers.get("etag")).toBe(etag);
    expect(res.headers.get("cache-status")).toContain("strata-l1; hit");
    expect((await call(url, { headers: { "if-none-match": '"999"' } })).status).toBe(200);
    expect((await call(url, { headers: { "if-none-match": `W/${etag}` } })).status).toBe(304);
  });

  it("answers an unknown id with 404 and remembers it (negative caching)", async () => {
    const url = `/v1/resources/workout/${crypto.randomUUID()}`;
    const first = await call(url);
    expect(first.status).toBe(404);
    expect(((await first.json()) as ErrorJson).error.field).toBe("path.id");
    const second = await call(url);
    expect(second.status).toBe(404);
    expect(status(second)["strata-l1"]).toMatchObject({ hit: true });
  });

  it("answers a resource of another type as not found", async () => {
    const id = await createWorkout();
    expect((await call(`/v1/resources/exercise/${id}`)).status).toBe(404);
  });

  it.each([
    ["/v1/resources/workouts/" + "0".repeat(8) + "-0000-4000-8000-" + "0".repeat(12), "path.type"],
    ["/v1/resources/workout/not-a-uuid", "path.id"],
    ["/v1/resources/WORKOUT/" + crypto.randomUUID(), "path.type"],
  ])("answers %s with 400 naming %s", async (url, field) => {
    const res = await call(url);
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorJson).error.field).toBe(field);
  });
});

describe("GET /v1/resources/{type}", () => {
  it("pages through ids and versions by keyset", async () => {
    type Page = { items: Array<{ id: string; version: number }>; nextCursor: string | null };
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await call(`/v1/resources/program?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as Page;
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
    } while (cursor);
    // Every live program exactly once, in id order.
    expect(seen.length).toBeGreaterThan(2);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual(seen);
  });

  it("validates limit and cursor", async () => {
    const bad = await call("/v1/resources/program?limit=5000");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ErrorJson).error.field).toBe("query.limit");
    const cursor = await call("/v1/resources/program?cursor=x");
    expect(((await cursor.json()) as ErrorJson).error.field).toBe("query.cursor");
  });
});
