/**
 * Writes and invalidation end to end: the worker in workerd, SQS in fauxqs, the fan-out and
 * write-behind Lambdas in the local runner (started by test/global-setup.ts), real Redis and
 * Postgres behind the bridges. Every invalidation is followed until GET /v1/invalidations/{id}
 * reports DONE, then the next read shows what each tier serves.
 */
import { eq, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { parseCacheStatus } from "../../core/engine/cache-status.ts";
import type { ResourceType } from "../../core/types.ts";
import { resourceDependencies, resources } from "../../db/schema/index.ts";
import { call, createKey, db } from "./helpers.ts";

interface InvalidationJson {
  id: string;
  status: string;
  type: string;
  mode: string;
  keysInvalidated: number;
  keys: string[];
  requestedAt: string;
  startedAt: string | null;
  completedAt: string | null;
  durationMs: number | null;
  details: Record<string, unknown> | null;
  triggerEvent: string;
  error: string | null;
}

let operator: string;
let viewer: string;
const run = crypto.randomUUID().slice(0, 8);

beforeAll(async () => {
  operator = (await createKey("OPERATOR")).key;
  viewer = (await createKey("VIEWER")).key;
});

function status(res: Response): Record<string, Record<string, string | true>> {
  const out: Record<string, Record<string, string | true>> = {};
  for (const m of parseCacheStatus(res.headers.get("cache-status") ?? "")) out[m.tier] = m.params;
  return out;
}

/** No tier had it: the answer came from Postgres. */
function fromOrigin(res: Response): boolean {
  const s = status(res);
  return Object.values(s).every((p) => p.hit === undefined && p.fwd !== "stale");
}

function l1Hit(res: Response): boolean {
  return status(res)["strata-l1"]?.hit === true;
}

async function create(type: ResourceType, payload: Record<string, unknown>, tags: string[] = []): Promise<string> {
  const id = crypto.randomUUID();
  await db().insert(resources).values({ id, resourceType: type, payload, tags });
  return id;
}

/** Changes the data behind the cache's back, as another writer of the database would. */
async function changeInPostgres(id: string, payload: Record<string, unknown>): Promise<void> {
  await db()
    .update(resources)
    .set({ payload, version: sql`${resources.version} + 1`, updatedAt: sql`now()` })
    .where(eq(resources.id, id));
}

const slugOf: Partial<Record<ResourceType, string>> = { WORKOUT: "workout", PROGRAM: "program", EXERCISE: "exercise", SEARCH_RESULTS: "search-results", USER_PROFILE: "user-profile", ANALYTICS: "analytics" };

async function read(type: ResourceType, id: string): Promise<{ res: Response; body: { payload: Record<string, unknown>; version: number } }> {
  const res = await call(`/v1/resources/${slugOf[type]}/${id}`);
  expect(res.status).toBe(200);
  return { res, body: (await res.json()) as { payload: Record<string, unknown>; version: number } };
}

/** Reads until the answer is cached in this isolate's memory. */
async function warm(type: ResourceType, id: string): Promise<void> {
  await read(type, id);
  const { res } = await read(type, id);
  expect(l1Hit(res)).toBe(true);
}

async function invalidate(body: Record<string, unknown>, key = operator): Promise<string> {
  const res = await call("/v1/invalidations", { method: "POST", key, body: JSON.stringify(body), headers: { "content-type": "application/json" } });
  expect(res.status, await res.clone().text()).toBe(202);
  const json = (await res.json()) as { id: string; status: string };
  expect(json.status).toBe("PENDING");
  expect(res.headers.get("location")).toBe(`/v1/invalidations/${json.id}`);
  return json.id;
}

async function done(id: string, timeoutMs = 20_000): Promise<InvalidationJson> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await call(`/v1/invalidations/${id}`, { key: operator });
    expect(res.status).toBe(200);
    const json = (await res.json()) as InvalidationJson;
    if (json.status === "DONE" || json.status === "FAILED") return json;
    if (Date.now() > deadline) throw new Error(`invalidation ${id} still ${json.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("POST /v1/invalidations: each type, each mode", () => {
  it("SINGLE_KEY hard: the key is fetched from the origin with the new data; its neighbour stays cached", async () => {
    const a = await create("WORKOUT", { v: "a1" });
    const b = await create("WORKOUT", { v: "b1" });
    await warm("WORKOUT", a);
    await warm("WORKOUT", b);
    await changeInPostgres(a, { v: "a2" });
    const record = await done(await invalidate({ type: "SINGLE_KEY", key: `workout:${a}`, mode: "hard", reason: "test" }));
    expect(record).toMatchObject({ status: "DONE", type: "SINGLE_KEY", mode: "HARD", keysInvalidated: 1, keys: [`workout:${a}`], triggerEvent: "MANUAL" });
    expect(record.startedAt).not.toBeNull();
    expect(record.durationMs).toBeGreaterThanOrEqual(0);
    const after = await read("WORKOUT", a);
    expect(fromOrigin(after.res)).toBe(true);
    expect(after.body.payload).toEqual({ v: "a2" });
    expect(l1Hit((await read("WORKOUT", b)).res)).toBe(true);
  });

  it("SINGLE_KEY soft: served stale once while one refresh runs, then fresh", async () => {
    const a = await create("WORKOUT", { v: "s1" });
    await warm("WORKOUT", a);
    await changeInPostgres(a, { v: "s2" });
    await done(await invalidate({ type: "SINGLE_KEY", key: `workout:${a}`, mode: "soft" }));
    const stale = await read("WORKOUT", a);
    expect(status(stale.res)["strata-l1"]?.fwd).toBe("stale");
    expect(stale.body.payload).toEqual({ v: "s1" });
    const fresh = await eventually(async () => {
      const r = await read("WORKOUT", a);
      return (r.body.payload as { v: string }).v === "s2" ? r : undefined;
    });
    expect(fresh.body.payload).toEqual({ v: "s2" });
  });

  it("PATTERN_MATCH: matches by glob with user metacharacters taken literally, counts exactly", async () => {
    const keys = [`pm-${run}:a:1`, `pm-${run}:a:2`, `pm-${run}:b:1`, `pm-${run}:[x]1`, `pm-${run}:x1`];
    for (const k of keys) {
      const res = await call(`/v1/cache/${k}`, { method: "PUT", key: operator, body: JSON.stringify({ value: { k } }), headers: { "content-type": "application/json" } });
      expect(res.status).toBe(200);
    }
    const first = await done(await invalidate({ type: "PATTERN_MATCH", pattern: `pm-${run}:a:*`, mode: "hard" }));
    expect(first.keysInvalidated).toBe(2);
    expect([...first.keys].sort()).toEqual([`pm-${run}:a:1`, `pm-${run}:a:2`]);
    expect((await call(`/v1/cache/pm-${run}:a:1`, { key: operator })).status).toBe(404);
    expect((await call(`/v1/cache/pm-${run}:a:2`, { key: operator })).status).toBe(404);
    const kept = await call(`/v1/cache/pm-${run}:b:1`, { key: operator });
    expect(kept.status).toBe(200);
    expect(l1Hit(kept)).toBe(true);

    // `[x]` is literal: it must not act as a character class matching `x`.
    const literal = await done(await invalidate({ type: "PATTERN_MATCH", pattern: `pm-${run}:[x]*`, mode: "hard" }));
    expect(literal.keys).toEqual([`pm-${run}:[x]1`]);
    expect((await call(`/v1/cache/pm-${run}:x1`, { key: operator })).status).toBe(200);
  });

  it("TAG_BASED hard: every tagged key is refetched, untagged ones stay cached", async () => {
    const tag = `tag-${run}`;
    const tagged = await Promise.all([0, 1, 2].map((i) => create("WORKOUT", { v: `t${i}` }, [tag, "other"])));
    const untagged = await create("WORKOUT", { v: "u" }, ["other"]);
    for (const id of [...tagged, untagged]) await warm("WORKOUT", id);
    for (const id of tagged) await changeInPostgres(id, { v: "changed" });
    const record = await done(await invalidate({ type: "TAG_BASED", tags: [tag], mode: "hard", reason: "catalogue update" }));
    expect(record.keysInvalidated).toBe(3);
    expect([...record.keys].sort()).toEqual(tagged.map((id) => `workout:${id}`).sort());
    for (const id of tagged) {
      const r = await read("WORKOUT", id);
      expect(fromOrigin(r.res)).toBe(true);
      expect(r.body.payload).toEqual({ v: "changed" });
    }
    expect(l1Hit((await read("WORKOUT", untagged)).res)).toBe(true);
  });

  it("TAG_BASED reaches generic keys through the L2 tag index, and hard mode drops the index set", async () => {
    const tag = `generic-${run}`;
    const tagged = [`tg-${run}:1`, `tg-${run}:2`];
    for (const k of [...tagged, `tg-${run}:untagged`]) {
      const body = { value: { k }, ...(tagged.includes(k) ? { tags: [tag] } : {}) };
      expect((await call(`/v1/cache/${k}`, { method: "PUT", key: operator, body: JSON.stringify(body) })).status).toBe(200);
    }
    const record = await done(await invalidate({ type: "TAG_BASED", tags: [tag], mode: "hard" }));
    // No resource carries this tag: only the index can have named these keys.
    expect([...record.keys].sort()).toEqual(tagged);
    expect(record.details).toMatchObject({ l2Unlinked: 2 });
    for (const k of tagged) expect((await call(`/v1/cache/${k}`, { key: operator })).status).toBe(404);
    expect((await call(`/v1/cache/tg-${run}:untagged`, { key: operator })).status).toBe(200);
    const stillIndexed = await done(await invalidate({ type: "TAG_BASED", tags: [tag], mode: "hard" }));
    expect(stillIndexed.keysInvalidated).toBe(0);
  });

  it("TAG_BASED soft: stale first, then fresh", async () => {
    const tag = `soft-${run}`;
    const id = await create("WORKOUT", { v: "old" }, [tag]);
    await warm("WORKOUT", id);
    await changeInPostgres(id, { v: "new" });
    await done(await invalidate({ type: "TAG_BASED", tags: [tag], mode: "soft" }));
    const stale = await read("WORKOUT", id);
    expect(status(stale.res)["strata-l1"]?.fwd).toBe("stale");
    expect(stale.body.payload).toEqual({ v: "old" });
    await eventually(async () => ((await read("WORKOUT", id)).body.payload.v === "new" ? true : undefined));
  });

  it("DEPENDENCY_CASCADE on a cyclic graph terminates and invalidates each key once", async () => {
    const program = await create("PROGRAM", { v: "p1" });
    const workout = await create("WORKOUT", { v: "w1" });
    const exercise = await create("EXERCISE", { v: "e1" });
    const bystander = await create("WORKOUT", { v: "x" });
    // program → workout → exercise → program: a cycle.
    await db().insert(resourceDependencies).values([
      { parentId: program, childId: workout },
      { parentId: workout, childId: exercise },
      { parentId: exercise, childId: program },
    ]);
    for (const [type, id] of [["PROGRAM", program], ["WORKOUT", workout], ["WORKOUT", bystander]] as const) await warm(type, id);
    await changeInPostgres(program, { v: "p2" });
    await changeInPostgres(workout, { v: "w2" });
    const record = await done(
      await invalidate({ type: "DEPENDENCY_CASCADE", resource: { type: "exercise", id: exercise }, maxDepth: 5, mode: "hard" }),
    );
    expect(record.keysInvalidated).toBe(3);
    expect(new Set(record.keys).size).toBe(record.keys.length);
    expect([...record.keys].sort()).toEqual([`exercise:${exercise}`, `program:${program}`, `workout:${workout}`].sort());
    expect(record.details?.cascade).toMatchObject({ depthReached: 2, truncated: false });
    expect((record.details?.cascade as { revisitsSkipped: number }).revisitsSkipped).toBeGreaterThanOrEqual(1);
    const p = await read("PROGRAM", program);
    expect(fromOrigin(p.res), p.res.headers.get("cache-status") ?? "").toBe(true);
    expect(p.body.payload).toEqual({ v: "p2" });
    expect((await read("WORKOUT", workout)).body.payload).toEqual({ v: "w2" });
    expect(l1Hit((await read("WORKOUT", bystander)).res)).toBe(true);
  });

  it("MANUAL_FLUSH of a strategy: all its keys are refetched, other strategies untouched", async () => {
    const a = await create("SEARCH_RESULTS", { q: "a" });
    const b = await create("SEARCH_RESULTS", { q: "b" });
    const other = await create("WORKOUT", { v: "keep" });
    for (const id of [a, b]) await warm("SEARCH_RESULTS", id);
    await warm("WORKOUT", other);
    await changeInPostgres(a, { q: "a2" });
    const record = await done(await invalidate({ type: "MANUAL_FLUSH", strategy: "search-results", mode: "hard", reason: "reindex" }));
    expect(record.status).toBe("DONE");
    expect(record.keys).toEqual(expect.arrayContaining([`search-results:${a}`, `search-results:${b}`]));
    const r = await read("SEARCH_RESULTS", a);
    expect(fromOrigin(r.res)).toBe(true);
    expect(r.body.payload).toEqual({ q: "a2" });
    expect(fromOrigin((await read("SEARCH_RESULTS", b)).res)).toBe(true);
    expect(l1Hit((await read("WORKOUT", other)).res)).toBe(true);
  });

  it("soft PATTERN_MATCH, DEPENDENCY_CASCADE and MANUAL_FLUSH: stale first, then fresh", async () => {
    const viaPattern = await create("WORKOUT", { v: "old" });
    const child = await create("EXERCISE", { v: "e" });
    const viaCascade = await create("WORKOUT", { v: "old" });
    await db().insert(resourceDependencies).values({ parentId: viaCascade, childId: child });
    const viaFlush = await create("SEARCH_RESULTS", { v: "old" });
    const cases: Array<[ResourceType, string, Record<string, unknown>]> = [
      ["WORKOUT", viaPattern, { type: "PATTERN_MATCH", pattern: `workout:${viaPattern.slice(0, 13)}*`, mode: "soft" }],
      ["WORKOUT", viaCascade, { type: "DEPENDENCY_CASCADE", resource: { type: "exercise", id: child }, maxDepth: 1, mode: "soft" }],
      ["SEARCH_RESULTS", viaFlush, { type: "MANUAL_FLUSH", strategy: "search-results", mode: "soft" }],
    ];
    for (const [type, id, body] of cases) {
      await warm(type, id);
      await changeInPostgres(id, { v: "new" });
      const record = await done(await invalidate(body));
      expect(record.mode).toBe("SOFT");
      const stale = await read(type, id);
      expect(status(stale.res)["strata-l1"]?.fwd, String(body.type)).toBe("stale");
      expect(stale.body.payload).toEqual({ v: "old" });
      await eventually(async () => ((await read(type, id)).body.payload.v === "new" ? true : undefined));
    }
  });

  it("MANUAL_FLUSH of a layer completes and reports its scope", async () => {
    const record = await done(await invalidate({ type: "MANUAL_FLUSH", layer: "L5_EXTERNAL", mode: "soft" }));
    expect(record.status).toBe("DONE");
    expect((record.details?.scopes as string[])[0]).toMatch(/^l:/);
  });

  it("the same invalidation delivered twice has one effect and one log row (idempotent by id)", async () => {
    const id = await invalidate({ type: "SINGLE_KEY", key: `dup-${run}`, mode: "hard" });
    const first = await done(id);
    const rows = await db().execute(sql`select count(*)::int as n from cache_invalidation_log where id = ${id}::uuid`);
    expect((rows.rows[0] as { n: number }).n).toBe(1);
    expect(first.details?.replayedBumps ?? 0).toBeGreaterThanOrEqual(0);
  });

  it("rejects bad requests with 400 naming the field", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ type: "SINGLE_KEY" }, "body.key"],
      [{ type: "NOPE", key: "x" }, "body.type"],
      [{ type: "PATTERN_MATCH", pattern: "**" }, "body.pattern"],
      [{ type: "TAG_BASED", tags: [] }, "body.tags"],
      [{ type: "DEPENDENCY_CASCADE", resource: { type: "workout", id: "nope" } }, "body.resource.id"],
      [{ type: "MANUAL_FLUSH" }, "body.strategy"],
      [{ type: "MANUAL_FLUSH", strategy: "no-such-strategy" }, "body.strategy"],
      [{ type: "SINGLE_KEY", key: "k", mode: "gentle" }, "body.mode"],
      [{ type: "SINGLE_KEY", key: "k", extra: 1 }, "body"],
    ];
    for (const [body, field] of cases) {
      const res = await call("/v1/invalidations", { method: "POST", key: operator, body: JSON.stringify(body) });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as { error: { field: string } }).error.field).toBe(field);
    }
    expect((await call(`/v1/invalidations/not-a-uuid`, { key: operator })).status).toBe(400);
    expect((await call(`/v1/invalidations/${crypto.randomUUID()}`, { key: operator })).status).toBe(404);
  });
});

describe("writes by behaviour", () => {
  it("WRITE_THROUGH: the response carries the version and ETag; a GET through the same worker returns it", async () => {
    const id = crypto.randomUUID();
    const created = await call(`/v1/resources/user-profile/${id}`, { method: "PUT", key: operator, body: JSON.stringify({ payload: { name: "Ada" }, tags: ["vip"] }) });
    expect(created.status).toBe(201);
    expect(created.headers.get("etag")).toBe('"1"');
    expect(created.headers.get("strata-write")).toBe("write-through");
    await read("USER_PROFILE", id);
    const updated = await call(`/v1/resources/user-profile/${id}`, {
      method: "PUT",
      key: operator,
      headers: { "if-match": '"1"' },
      body: JSON.stringify({ payload: { name: "Ada Lovelace" } }),
    });
    expect(updated.status).toBe(200);
    expect(updated.headers.get("etag")).toBe('"2"');
    const after = await read("USER_PROFILE", id);
    expect(after.body).toMatchObject({ version: 2, payload: { name: "Ada Lovelace" } });
    expect(after.res.headers.get("etag")).toBe('"2"');
    // Stored by the write, not fetched again.
    expect(l1Hit(after.res)).toBe(true);
  });

  it("write-around (READ_THROUGH): Postgres commits and the cached copy is dropped", async () => {
    const id = await create("WORKOUT", { v: 1 });
    await warm("WORKOUT", id);
    const res = await call(`/v1/resources/workout/${id}`, { method: "PUT", key: operator, body: JSON.stringify({ payload: { v: 2 } }) });
    expect(res.status).toBe(200);
    expect(res.headers.get("strata-write")).toBe("write-around");
    const after = await read("WORKOUT", id);
    expect(fromOrigin(after.res)).toBe(true);
    expect(after.body).toMatchObject({ version: 2, payload: { v: 2 } });
  });

  it("WRITE_BEHIND: 202 with the version at once, readable at once, persisted by the Lambda", async () => {
    const id = crypto.randomUUID();
    const res = await call(`/v1/resources/analytics/${id}`, { method: "PUT", key: operator, body: JSON.stringify({ payload: { views: 7 } }) });
    expect(res.status).toBe(202);
    expect(res.headers.get("etag")).toBe('"1"');
    expect(res.headers.get("strata-write")).toBe("write-behind");
    const now = await read("ANALYTICS", id);
    expect(now.body).toMatchObject({ version: 1, payload: { views: 7 } });
    const row = await eventually(async () => {
      const [r] = await db().select().from(resources).where(eq(resources.id, id));
      return r;
    });
    expect(row).toMatchObject({ version: 1, payload: { views: 7 }, resourceType: "ANALYTICS" });
  });

  for (const [slug, type] of [["workout", "WORKOUT"], ["user-profile", "USER_PROFILE"], ["analytics", "ANALYTICS"]] as const) {
    it(`two concurrent PUTs with the same If-Match on ${slug}: exactly one succeeds, one gets 412`, async () => {
      const id = await create(type, { v: 0 });
      const put = (v: number) =>
        call(`/v1/resources/${slug}/${id}`, { method: "PUT", key: operator, headers: { "if-match": '"1"' }, body: JSON.stringify({ payload: { v } }) });
      const results = await Promise.all([put(1), put(2)]);
      const codes = results.map((r) => r.status).sort();
      expect(codes).toEqual([type === "ANALYTICS" ? 202 : 200, 412]);
      const loser = results.find((r) => r.status === 412);
      expect(loser?.headers.get("etag")).toBe('"2"');
    });
  }

  it("DELETE: 404 afterwards; If-Match mismatch is 412; unknown is 404", async () => {
    const id = await create("WORKOUT", { v: 1 });
    await warm("WORKOUT", id);
    expect((await call(`/v1/resources/workout/${id}`, { method: "DELETE", key: operator, headers: { "if-match": '"9"' } })).status).toBe(412);
    expect((await call(`/v1/resources/workout/${id}`, { method: "DELETE", key: operator })).status).toBe(204);
    expect((await call(`/v1/resources/workout/${id}`)).status).toBe(404);
    expect((await call(`/v1/resources/workout/${id}`, { method: "DELETE", key: operator })).status).toBe(404);
  });

  it("a change event invalidates DEPENDENCY_BASED parents and is logged", async () => {
    const exercise = await create("EXERCISE", { v: 1 });
    const workout = await create("WORKOUT", { v: "w" });
    await db().insert(resourceDependencies).values({ parentId: workout, childId: exercise });
    await warm("WORKOUT", workout);
    await changeInPostgres(workout, { v: "w-changed" });
    const res = await call(`/v1/resources/exercise/${exercise}`, { method: "PUT", key: operator, body: JSON.stringify({ payload: { v: 2 } }) });
    expect(res.status).toBe(200);
    // DONE, and past the readers' poll interval (what GET /v1/invalidations calls visibleEverywhereAt).
    const row = await eventually(async () => {
      const rows = await db().execute(
        sql`select status, keys_invalidated_count, invalidated_keys, trigger_event from cache_invalidation_log where trigger_resource_id = ${exercise}::uuid and status = 'DONE'
            and completed_at <= now() - interval '150 milliseconds'`,
      );
      return rows.rows[0] as { keys_invalidated_count: number; invalidated_keys: string[]; trigger_event: string } | undefined;
    });
    expect(row.trigger_event).toBe("RESOURCE_UPDATED");
    expect(row.invalidated_keys).toEqual(expect.arrayContaining([`exercise:${exercise}`, `workout:${workout}`]));
    const w = await read("WORKOUT", workout);
    expect(fromOrigin(w.res), w.res.headers.get("cache-status") ?? "").toBe(true);
    expect(w.body.payload).toEqual({ v: "w-changed" });
  });

  it("validates writes: 400 naming the field, 409 for a type clash, 400 for unknown dependencies", async () => {
    const id = crypto.randomUUID();
    const cases: Array<[RequestInit, string]> = [
      [{ body: JSON.stringify({ payload: [1, 2] }) }, "body.payload"],
      [{ body: JSON.stringify({ payload: {}, tags: ["has space"] }) }, "body.tags.0"],
      [{ body: JSON.stringify({ payload: {}, dependsOn: [id] }) }, "body.dependsOn"],
      [{ body: JSON.stringify({ payload: {}, dependsOn: [crypto.randomUUID()] }) }, "body.dependsOn"],
      [{ body: JSON.stringify({ payload: {} }), headers: { "if-match": "W/\"1\"" } }, "headers.if-match"],
      [{ body: "{not json" }, "body"],
    ];
    for (const [init, field] of cases) {
      const res = await call(`/v1/resources/workout/${id}`, { method: "PUT", key: operator, ...init });
      expect(res.status, String(init.body)).toBe(400);
      expect(((await res.json()) as { error: { field: string } }).error.field).toBe(field);
    }
    const workout = await create("WORKOUT", { v: 1 });
    const clash = await call(`/v1/resources/program/${workout}`, { method: "PUT", key: operator, body: JSON.stringify({ payload: {} }) });
    expect(clash.status).toBe(409);
    const [row] = await db().select().from(resources).where(eq(resources.id, workout));
    expect(row).toMatchObject({ resourceType: "WORKOUT", version: 1, payload: { v: 1 } });
    // If-Match on something that does not exist.
    const missing = await call(`/v1/resources/workout/${crypto.randomUUID()}`, { method: "PUT", key: operator, headers: { "if-match": '"1"' }, body: JSON.stringify({ payload: {} }) });
    expect(missing.status).toBe(412);
  });
});

describe("the dev worker's CDN purge route (LocalPurger's other half)", () => {
  it("drops keys from this colo's Cache API and isolate memory; the next read comes from L2", async () => {
    const admin = (await createKey("ADMIN")).key;
    const key = `purge-${run}`;
    expect((await call(`/v1/cache/${key}`, { method: "PUT", key: operator, body: JSON.stringify({ value: 1 }) })).status).toBe(200);
    expect(l1Hit(await call(`/v1/cache/${key}`, { key: operator }))).toBe(true);
    const res = await call("/v1/admin/cdn-purge", { method: "POST", key: admin, body: JSON.stringify({ keys: [key] }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ purged: 1 });
    const after = status(await call(`/v1/cache/${key}`, { key: operator }));
    expect(after["strata-l1"]?.hit).toBeUndefined();
    expect(after["strata-cdn"]?.fwd).toBe("miss");
    expect(after["strata-l2"]?.hit).toBe(true);
    const bad = await call("/v1/admin/cdn-purge", { method: "POST", key: admin, body: JSON.stringify({ keys: [] }) });
    expect(bad.status).toBe(400);
  });
});

describe("auth on writes and invalidations", () => {
  it("401 without a key, 403 for a VIEWER", async () => {
    const id = crypto.randomUUID();
    const put = { method: "PUT", body: JSON.stringify({ payload: {} }) };
    const post = { method: "POST", body: JSON.stringify({ type: "SINGLE_KEY", key: "x" }) };
    expect((await call(`/v1/resources/workout/${id}`, put)).status).toBe(401);
    expect((await call(`/v1/resources/workout/${id}`, { ...put, key: viewer })).status).toBe(403);
    expect((await call(`/v1/resources/workout/${id}`, { method: "DELETE" })).status).toBe(401);
    expect((await call(`/v1/resources/workout/${id}`, { method: "DELETE", key: viewer })).status).toBe(403);
    expect((await call("/v1/invalidations", post)).status).toBe(401);
    expect((await call("/v1/invalidations", { ...post, key: viewer })).status).toBe(403);
    expect((await call(`/v1/invalidations/${id}`)).status).toBe(401);
    expect((await call(`/v1/invalidations/${id}`, { key: viewer })).status).toBe(403);
    expect((await call("/v1/admin/cdn-purge", { method: "POST", key: operator, body: JSON.stringify({ keys: ["x"] }) })).status).toBe(403);
    // Nothing was written by the refused requests.
    expect(await db().select().from(resources).where(eq(resources.id, id))).toEqual([]);
  });
});
