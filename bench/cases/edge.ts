/**
 * @module edge: HTTP load against the worker in workerd, one request class at a time: the bare Hono
 * route (the floor), then GET /v1/resources/workout/{id} answered from isolate memory, from the Cache
 * API, from Redis (L2), and from Postgres (a miss in every tier).
 *
 * Each class reaches its tier by construction, not by luck: the memory class reads one warm key;
 * the Cache API and L2 classes read keys that were placed (from Node, through the same core engine)
 * in that tier alone, each key once; the miss class reads rows nobody has read. The classes run in
 * rounds (floor, memory, Cache API, L2, miss, repeated) so that drift on this shared machine lands
 * on all of them, and each figure is the median over rounds.
 */
import type { ResourceType } from "../../core/types.ts";
import { runLoad, type LoadResult } from "../lib/load.ts";
import { nodeIsolate } from "../lib/node-isolate.ts";
import { median, ratio, round } from "../lib/stats.ts";
import type { BenchCase, BenchContext, CaseReport, TargetCheck } from "../lib/types.ts";

const TYPE: ResourceType = "WORKOUT";
const SLUG = "workout";
const CONNECTIONS = 50;

type ClassName = "floor" | "memory" | "cache-api" | "l2" | "miss";
const CLASSES: ReadonlyArray<{ name: ClassName; label: string }> = [
  { name: "floor", label: "bare Hono route (floor)" },
  { name: "memory", label: "isolate-memory hit" },
  { name: "cache-api", label: "Cache API hit" },
  { name: "l2", label: "L2 (Redis) hit" },
  { name: "miss", label: "origin miss (Postgres)" },
];

interface Plan {
  rounds: number;
  durationSeconds: number;
  /** Keys per round for the classes that read every key once. */
  cacheApiKeys: number;
  l2Keys: number;
  missKeys: number;
}

const FULL: Plan = { rounds: 3, durationSeconds: 8, cacheApiKeys: 6_000, l2Keys: 6_000, missKeys: 3_000 };
const QUICK: Plan = { rounds: 1, durationSeconds: 2, cacheApiKeys: 1_000, l2Keys: 1_000, missKeys: 500 };

export const edgeCase: BenchCase = {
  name: "edge",
  title: "Edge: HTTP throughput and latency per tier, against the bare-route floor",
  async run(ctx: BenchContext): Promise<CaseReport> {
    const plan = ctx.quick ? QUICK : FULL;
    const stack = await ctx.stack();
    const worker = await stack.worker();
    const path = (id: string): string => `/v1/resources/${SLUG}/${id}`;

    ctx.log(`   preparing ${plan.rounds} round(s) of keys`);
    const hot = (await stack.insertResources(TYPE, 1))[0] as string;
    // One more key per class than the load reads: the probe that shows, after the load, which tier answers it.
    const cacheApiIds = await stack.insertResources(TYPE, plan.cacheApiKeys * plan.rounds + 1);
    const l2Ids = await stack.insertResources(TYPE, plan.l2Keys * plan.rounds + 1);
    const missIds = await stack.insertResources(TYPE, plan.missKeys * plan.rounds + 1);
    const cdnPlacer = await nodeIsolate(stack, { cdn: { cache: await worker.cache(), namespace: worker.cacheNamespace }, l2: false });
    await cdnPlacer.place(TYPE, SLUG, cacheApiIds);
    const l2Placer = await nodeIsolate(stack, {});
    await l2Placer.place(TYPE, SLUG, l2Ids);

    // Warm-up: JIT, connections, the hot key into isolate memory, the strategy registry loaded.
    await runLoad({ baseUrl: worker.url, paths: ["/__bench/floor", path(hot)], connections: CONNECTIONS, durationSeconds: ctx.quick ? 1 : 3 });

    const results = new Map<ClassName, LoadResult[]>(CLASSES.map((c) => [c.name, []]));
    for (let r = 0; r < plan.rounds; r++) {
      const slice = (ids: string[], per: number) => ids.slice(r * per, (r + 1) * per).map(path);
      const runs: Record<ClassName, () => Promise<LoadResult>> = {
        floor: () => runLoad({ baseUrl: worker.url, paths: ["/__bench/floor"], connections: CONNECTIONS, durationSeconds: plan.durationSeconds }),
        memory: () => runLoad({ baseUrl: worker.url, paths: [path(hot)], connections: CONNECTIONS, durationSeconds: plan.durationSeconds }),
        "cache-api": () => once(slice(cacheApiIds, plan.cacheApiKeys)),
        l2: () => once(slice(l2Ids, plan.l2Keys)),
        miss: () => once(slice(missIds, plan.missKeys)),
      };
      const once = (paths: string[]) => runLoad({ baseUrl: worker.url, paths, connections: CONNECTIONS, amount: paths.length });
      for (const c of CLASSES) {
        const result = await runs[c.name]();
        if (result.non2xx > 0 || result.errors > 0) {
          throw new Error(`${c.name}: ${result.non2xx} non-2xx responses (${JSON.stringify(result.statusCodes)}) and ${result.errors} errors of ${result.requests}`);
        }
        results.get(c.name)?.push(result);
        ctx.log(`   round ${r + 1} ${c.name.padEnd(9)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.latencyMs.p50} ms  p99 ${result.latencyMs.p99} ms`);
      }
    }

    // Each class's keys were placed so that one tier answers: the probes (placed alike, never loaded) show it.
    const tierOf: Record<ClassName, string> = {
      floor: "",
      memory: await cacheStatus(worker.url, path(hot)),
      "cache-api": await cacheStatus(worker.url, path(cacheApiIds.at(-1) as string)),
      l2: await cacheStatus(worker.url, path(l2Ids.at(-1) as string)),
      miss: await cacheStatus(worker.url, path(missIds.at(-1) as string)),
    };
    const expected: Record<ClassName, RegExp> = {
      floor: /^$/,
      memory: /^strata-l1; hit/,
      "cache-api": /strata-cdn; hit/,
      l2: /strata-l2; hit/,
      miss: /strata-l2; fwd=miss/,
    };
    for (const c of CLASSES) {
      if (!expected[c.name].test(tierOf[c.name])) throw new Error(`${c.name} probe was answered by the wrong tier: ${tierOf[c.name]}`);
    }

    const summary = (name: ClassName) => {
      const list = results.get(name) ?? [];
      return {
        rps: median(list.map((x) => x.rps)),
        p50: median(list.map((x) => x.latencyMs.p50)),
        p99: median(list.map((x) => x.latencyMs.p99)),
        requests: list.reduce((a, x) => a + x.requests, 0),
      };
    };
    const floor = summary("floor");
    const rows = CLASSES.map((c) => {
      const s = summary(c.name);
      return [c.label, round(s.rps, 0), ratio(s.rps, floor.rps), s.p50, s.p99, s.requests, tierOf[c.name] ?? ""];
    });
    const memory = summary("memory");
    const memoryRatio = ratio(memory.rps, floor.rps);
    const targets: TargetCheck[] = [
      {
        target: "isolate-memory hit ≥ 0.9× the bare route (req/s)",
        measured: `${memoryRatio}× (${round(memory.rps, 0)} vs ${round(floor.rps, 0)} req/s)`,
        met: memoryRatio >= 0.9,
        ...(memoryRatio >= 0.9
          ? {}
          : {
              note:
                "A memory hit does per-request work the bare route does not: zod validation of the path, the strategy " +
                "lookup, the epoch-view check, hit counters and key-registry bookkeeping, and four cache headers " +
                "(Cache-Status, Cache-Control, Age, ETag); a Node CPU profile of the same handler puts that at about " +
                "15 µs per request, against roughly 250 µs of one core per request in this setup (workerd, autocannon " +
                "and the bridges share 2 cores). A hit already reuses its serialized body. Catching up on invalidations " +
                "ahead of time in waitUntil (past half the poll interval) was tried: five full runs with and without it " +
                "all landed between 0.78× and 0.85×, so it was left out. What would reach " +
                "0.9×: a hot path without zod (a precompiled check, zod only to word the 400), header strings " +
                "precomputed per entry and second, and counters kept in a fixed array instead of string-keyed maps.",
            }),
      },
    ];
    return {
      summary:
        `autocannon (${CONNECTIONS} connections, in its own process) against one workerd process run by Miniflare, ` +
        `serving the Strata bundle plus a bare Hono route with a fixed body (the floor). ${plan.rounds} round(s); in each, ` +
        `the floor and the memory hit run ${plan.durationSeconds} s, and the Cache API, L2 and miss classes read ` +
        `${plan.cacheApiKeys.toLocaleString("en-US")} / ${plan.l2Keys.toLocaleString("en-US")} / ${plan.missKeys.toLocaleString("en-US")} ` +
        `distinct keys once each. Figures are medians over rounds; latency has autocannon's 1 ms resolution. ` +
        `Redis is reached through the local Upstash REST bridge and Postgres through the local Neon bridge, as in dev.`,
      tables: [
        {
          title: "Requests per second and latency by request class",
          columns: ["request class", "req/s", "× floor", "p50 ms", "p99 ms", "requests", "cache-status sample"],
          rows,
          note:
            "Baseline: the bare route, in the same worker, same run. The last column is the `cache-status` header of a " +
            "probe key of that class (placed like the others, read after the load), showing which tier answered.",
        },
      ],
      targets,
      figures: { plan, connections: CONNECTIONS, classes: Object.fromEntries(results), medians: Object.fromEntries(CLASSES.map((c) => [c.name, summary(c.name)])) },
    };
  },
};

/** The `cache-status` header of one GET per path: which tier answered. */
async function cacheStatus(base: string, path: string): Promise<string> {
  const res = await fetch(base + path, { signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`probe ${path}: HTTP ${res.status}`);
  return res.headers.get("cache-status") ?? "";
}
