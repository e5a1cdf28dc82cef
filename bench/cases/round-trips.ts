/**
 * @module round-trips: Redis round trips and SQL statements per request class, counted at the two
 * bridges (the last hop before Redis and Postgres), not estimated.
 *
 * Requests run one at a time so each class's window holds only its own traffic. What a request
 * issues for its own key (value, lease, tag index, invalidation bump; origin read or write) is told
 * apart from what the isolate does in the background (epoch catch-up at most once per poll interval,
 * counter and key-registry flushes, config checks) by the keys and tables involved.
 */
import type { ResourceType } from "../../core/types.ts";
import { tallyRedis, tallySql, type RedisTally, type SqlTally } from "../lib/counting.ts";
import { nodeIsolate } from "../lib/node-isolate.ts";
import { round } from "../lib/stats.ts";
import type { BenchCase, BenchContext, CaseReport, TargetCheck } from "../lib/types.ts";

const READ_TYPE: ResourceType = "WORKOUT";
const READ_SLUG = "workout";
/** The seeded user-profile strategy is WRITE_THROUGH. */
const WRITE_TYPE: ResourceType = "USER_PROFILE";
const WRITE_SLUG = "user-profile";

type ClassName = "memory" | "cache-api" | "l2" | "miss" | "write-through";
const LABELS: Record<ClassName, string> = {
  memory: "isolate-memory hit",
  "cache-api": "Cache API hit",
  l2: "L2 (Redis) hit",
  miss: "miss (origin read, stored in every tier)",
  "write-through": "write-through PUT",
};

interface Counted {
  requests: number;
  redis: RedisTally;
  sql: SqlTally;
  sqlTotal: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const roundTripsCase: BenchCase = {
  name: "round-trips",
  title: "Round trips: Redis commands and SQL statements per request class, counted at the bridges",
  async run(ctx: BenchContext): Promise<CaseReport> {
    const n = ctx.quick ? 40 : 100;
    const stack = await ctx.stack();
    const worker = await stack.worker();
    const readPath = (id: string) => `/v1/resources/${READ_SLUG}/${id}`;

    const hot = (await stack.insertResources(READ_TYPE, 1))[0] as string;
    const cacheApiIds = await stack.insertResources(READ_TYPE, n);
    const l2Ids = await stack.insertResources(READ_TYPE, n);
    const missIds = await stack.insertResources(READ_TYPE, n);
    const writeIds = await stack.insertResources(WRITE_TYPE, n);
    await (await nodeIsolate(stack, { cdn: { cache: await worker.cache(), namespace: worker.cacheNamespace }, l2: false })).place(READ_TYPE, READ_SLUG, cacheApiIds);
    await (await nodeIsolate(stack, {})).place(READ_TYPE, READ_SLUG, l2Ids);

    const get = async (path: string, expect: RegExp): Promise<void> => {
      const res = await fetch(worker.url + path, { signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      const status = res.headers.get("cache-status") ?? "";
      if (res.status !== 200 || !expect.test(status)) throw new Error(`GET ${path}: ${res.status} ${status} (expected ${expect})`);
    };
    const put = async (id: string, i: number): Promise<void> => {
      const res = await fetch(`${worker.url}/v1/resources/${WRITE_SLUG}/${id}`, {
        method: "PUT",
        headers: { authorization: `Bearer ${stack.adminKey}`, "content-type": "application/json" },
        body: JSON.stringify({ payload: { displayName: `Bench user ${i}`, units: "metric" } }),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`PUT ${id}: ${res.status} ${text}`);
      if (res.headers.get("strata-warning")) throw new Error(`PUT ${id}: degraded (${res.headers.get("strata-warning")})`);
    };

    // Warm: the isolate, its registry and epoch view, and the hot key in memory.
    for (let i = 0; i < 20; i++) await get(readPath(hot), /strata-l1/);

    const runs: Record<ClassName, () => Promise<void>> = {
      memory: async () => {
        for (let i = 0; i < n; i++) await get(readPath(hot), /^strata-l1; hit/);
      },
      "cache-api": async () => {
        for (const id of cacheApiIds) await get(readPath(id), /strata-cdn; hit/);
      },
      l2: async () => {
        for (const id of l2Ids) await get(readPath(id), /strata-l2; hit/);
      },
      miss: async () => {
        for (const id of missIds) await get(readPath(id), /strata-l2; fwd=miss/);
      },
      "write-through": async () => {
        for (const [i, id] of writeIds.entries()) await put(id, i);
      },
    };

    const counted = new Map<ClassName, Counted>();
    for (const name of Object.keys(runs) as ClassName[]) {
      await sleep(300); // background work of the previous class lands before the window opens
      stack.upstash.resetStats();
      stack.neon.resetStats();
      await runs[name]();
      await sleep(300); // and this class's own waitUntil work (backfills, stores) inside it
      const redisLog = stack.upstash.stats().log;
      const sqlStats = stack.neon.stats();
      if (sqlStats.total > sqlStats.statements.length) {
        throw new Error(`${name}: ${sqlStats.total} SQL statements, but the bridge keeps only the last ${sqlStats.statements.length} for sorting`);
      }
      counted.set(name, { requests: n, redis: tallyRedis(stack.keyPrefix, redisLog), sql: tallySql(sqlStats.statements), sqlTotal: sqlStats.total });
      const c = counted.get(name) as Counted;
      ctx.log(
        `   ${name.padEnd(13)} redis ${round(c.redis.requestRoundTrips / n)} rt/req (+${round(c.redis.backgroundRoundTrips / n)} background)  ` +
          `sql ${round(c.sql.request / n)} /req (+${round(c.sql.background / n)} background)`,
      );
    }

    const per = (x: number) => round(x / n, 2);
    const rows = [...counted.entries()].map(([name, c]) => [
      LABELS[name],
      per(c.redis.requestRoundTrips),
      per(c.redis.requestCommands),
      Object.entries(c.redis.requestCommandNames)
        .map(([cmd, k]) => `${cmd} ×${per(k)}`)
        .join(", ") || "none",
      per(c.sql.request),
      per(c.redis.backgroundRoundTrips),
      per(c.sql.background),
    ]);
    const c = (name: ClassName) => counted.get(name) as Counted;
    const l2Rt = per(c("l2").redis.requestRoundTrips);
    const missRt = per(c("miss").redis.requestRoundTrips);
    const missSql = per(c("miss").sql.request);
    const memoryOwn = per(c("memory").redis.requestRoundTrips) + per(c("memory").sql.request);
    const targets: TargetCheck[] = [
      { target: "isolate-memory hit: no Redis, no SQL of its own", measured: `${memoryOwn} per request`, met: memoryOwn === 0 },
      { target: "L2 hit = 1 Redis round trip", measured: `${l2Rt} round trips per request`, met: l2Rt === 1 },
      {
        target: "miss ≤ 1 Redis read + 1 SQL + 1 pipelined write",
        measured: `${missRt} Redis round trips (read, then one write) and ${missSql} SQL per request`,
        met: missRt <= 2 && missSql <= 1,
      },
    ];
    return {
      summary:
        `${n} requests per class, one at a time, against the worker in workerd; the Upstash bridge and the Neon bridge ` +
        "count every round trip and statement. \"Own\" is what the request issued for its key; \"background\" is the " +
        "isolate's shared work in the same window (epoch catch-up at most once per 100 ms poll interval, counter and " +
        "key-registry flushes, config-version checks), divided by the requests too. Cache API and L2 keys were placed " +
        "in that tier alone beforehand; miss keys were never read.",
      tables: [
        {
          title: "Per request",
          columns: ["request class", "Redis round trips (own)", "Redis commands (own)", "own commands", "SQL (own)", "Redis round trips (background)", "SQL (background)"],
          rows,
          note: "Baseline: none needed; these are counts. A miss's second round trip is the write of the loaded value (value, tag index and lease release in one script), issued after the response in waitUntil.",
        },
      ],
      targets,
      figures: Object.fromEntries(counted),
    };
  },
};
