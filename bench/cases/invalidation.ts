/**
 * @module invalidation: how long after `POST /v1/invalidations` every tier serves fresh data, for a
 * tag covering 1, 100 and 10,000 keys; and how long a write-through PUT takes to be read back, by
 * the writer and by another isolate.
 *
 * Two isolates watch: the worker in workerd, and a Strata isolate in Node (same core engine, tiers
 * and epoch view) standing in for a second isolate or colo. Before each trial every key of the tag
 * sits in Redis (with its tag index), and one sampled key also sits in the Cache API and in both
 * isolates' memory. The rows change in Postgres behind the cache's back, the invalidation is posted,
 * and the sampled key is polled through both isolates until both return the new version: the
 * time to "fresh everywhere" (the Cache API and Redis are read through the worker, so a
 * stale copy in either would show).
 */
import type { ResourceType } from "../../core/types.ts";
import { nodeIsolate, type NodeIsolate } from "../lib/node-isolate.ts";
import type { Stack } from "../lib/stack.ts";
import { median, percentile, round } from "../lib/stats.ts";
import type { BenchCase, BenchContext, CaseReport, TargetCheck } from "../lib/types.ts";

const TYPE: ResourceType = "WORKOUT";
const SLUG = "workout";
const WRITE_TYPE: ResourceType = "USER_PROFILE";
const WRITE_SLUG = "user-profile";
const POLL_GAP_MS = 2;

interface TagPlan {
  keys: number;
  trials: number;
}

/**
 * One sampled key per trial (a different one each time): probing many keys at once would load this
 * 2-core machine enough to measure the probes rather than the invalidation.
 */
const FULL: TagPlan[] = [
  { keys: 1, trials: 100 },
  { keys: 100, trials: 100 },
  { keys: 10_000, trials: 15 },
];
const QUICK: TagPlan[] = [
  { keys: 1, trials: 5 },
  { keys: 100, trials: 5 },
  { keys: 1_000, trials: 3 },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const invalidationCase: BenchCase = {
  name: "invalidation",
  title: "Invalidation: time until every tier serves fresh data",
  async run(ctx: BenchContext): Promise<CaseReport> {
    const stack = await ctx.stack();
    const worker = await stack.worker();
    // Every key of the tag goes to Redis (its tag index is what the fan-out's cleanup walks); the
    // sampled key also goes to the Cache API. No CDN purger is configured here: the Cache API copy
    // is made unservable by the epochs alone, which is what the sampled read checks.
    const l2Placer = await nodeIsolate(stack, {});
    const cdnPlacer = await nodeIsolate(stack, { cdn: { cache: await worker.cache(), namespace: worker.cacheNamespace }, l2: false });
    const other = await nodeIsolate(stack, { l2: true });
    const plans = ctx.quick ? QUICK : FULL;

    const tagRows: Array<Array<string | number>> = [];
    const tagFigures: Record<string, unknown> = {};
    const p99ByKeys = new Map<number, number>();
    for (const plan of plans) {
      const tag = `bench-inv-${plan.keys}-${Date.now().toString(36)}`;
      const ids = await stack.insertResources(TYPE, plan.keys, { tags: [tag] });
      const visible: number[] = [];
      const workerVisible: number[] = [];
      const accepted: number[] = [];
      const done: number[] = [];
      for (let t = 0; t < plan.trials; t++) {
        const samples = [ids[Math.floor((t * ids.length) / plan.trials)] as string];
        await l2Placer.place(TYPE, SLUG, ids, 32);
        await cdnPlacer.place(TYPE, SLUG, samples);
        for (const id of samples) {
          await expectVersionVia(worker.url, id, undefined, /strata-cdn; hit|strata-l1; hit/);
          await other.read(TYPE, SLUG, id);
        }
        const version = await bumpRows(stack, tag);
        const t0 = performance.now();
        const res = await fetch(`${worker.url}/v1/invalidations`, {
          method: "POST",
          headers: { authorization: `Bearer ${stack.adminKey}`, "content-type": "application/json" },
          body: JSON.stringify({ type: "TAG_BASED", tags: [tag], mode: "hard", reason: "benchmark" }),
          signal: AbortSignal.timeout(10_000),
        });
        const body = (await res.json()) as { id?: string };
        if (res.status !== 202 || !body.id) throw new Error(`POST /v1/invalidations: ${res.status} ${JSON.stringify(body)}`);
        accepted.push(performance.now() - t0);
        const times = await Promise.all(samples.map((id) => freshEverywhere(worker.url, other, id, version, t0)));
        for (const x of times) {
          visible.push(x.everywhere);
          workerVisible.push(x.worker);
        }
        done.push(await waitDone(worker.url, stack.adminKey, body.id, t0));
        if (!ctx.quick && t % 5 !== 4) continue;
        ctx.log(`   tag of ${plan.keys} key(s), trial ${t + 1}: fresh everywhere after ${round(Math.max(...times.map((x) => x.everywhere)), 1)} ms, fan-out DONE after ${round(done.at(-1) as number, 0)} ms`);
      }
      const p99 = percentile(visible, 99);
      p99ByKeys.set(plan.keys, p99);
      tagRows.push([
        plan.keys,
        plan.trials,
        round(median(accepted), 1),
        round(median(workerVisible), 1),
        round(median(visible), 1),
        round(p99, 1),
        round(Math.max(...visible), 1),
        round(median(done), 0),
      ]);
      tagFigures[String(plan.keys)] = { plan, acceptedMs: accepted, visibleMs: visible, workerVisibleMs: workerVisible, doneMs: done };
    }

    const rw = await readYourWrites(ctx, stack, worker.url, other);

    const worstP99 = Math.max(...p99ByKeys.values());
    const targets: TargetCheck[] = [
      {
        target: "tag invalidation visible everywhere: p99 ≤ 150 ms regardless of key count",
        measured: [...p99ByKeys].map(([k, p]) => `${k.toLocaleString("en-US")} keys: ${round(p, 1)} ms`).join("; "),
        met: worstP99 <= 150,
      },
      {
        target: "write-through PUT, then GET by the writer: the new version, every time",
        measured: `${rw.fresh} of ${rw.trials}`,
        met: rw.fresh === rw.trials,
      },
    ];
    return {
      summary:
        "Each trial: every key of the tag placed in Redis (with its tag index); one sampled key (a different one per " +
        "trial) also placed in the Cache API and read into the worker's isolate memory and into a second Strata isolate in Node (same engine, epoch view with the " +
        "worker's 100 ms poll interval). The rows are then updated in Postgres directly, `POST /v1/invalidations` " +
        "(TAG_BASED, hard) is sent, and the sampled key is polled through both isolates (a read every 2 ms in each) until " +
        "both return the new version. \"Fresh everywhere\" is the later of the two; the worker reads through its Cache API and Redis, so a " +
        "stale copy there would show. The fan-out Lambda (local runner, fauxqs) unlinks the Redis copies meanwhile; " +
        "\"fan-out DONE\" is when GET /v1/invalidations/{id} first answered DONE or PROPAGATING.",
      tables: [
        {
          title: "Tag invalidation: POST → fresh data in every tier",
          columns: ["keys under the tag", "trials", "POST answered, median ms", "worker fresh, median ms", "everywhere fresh, median ms", "everywhere p99 ms", "max ms", "fan-out DONE, median ms"],
          rows: tagRows,
          note:
            "Baseline: the POST's own round trip (column 4). The edge bumps the tag's epoch before answering, so the worker " +
            "that took the POST is fresh at once; another isolate is fresh at its next catch-up (≤ 100 ms poll interval). " +
            "The key count only changes how long the Lambda's cleanup of Redis takes, not when data is fresh.",
        },
        {
          title: "Write-through read-your-writes",
          columns: ["trials", "PUT p50 ms", "PUT p99 ms", "GET after PUT: new version", "GET after PUT p50 ms", "other isolate fresh p50 ms", "other isolate fresh p99 ms"],
          rows: [[rw.trials, rw.putP50, rw.putP99, `${rw.fresh} of ${rw.trials}`, rw.getP50, rw.otherP50, rw.otherP99]],
          note:
            "Baseline: the PUT itself (commit, key bump, value into every tier, change event). Times for the other isolate " +
            "run from the start of the PUT.",
        },
      ],
      targets,
      figures: { tag: tagFigures, readYourWrites: rw },
    };
  },
};

/** Changes every row of the tag in Postgres (not through Strata); returns the new version they share. */
async function bumpRows(stack: Stack, tag: string): Promise<number> {
  const r = await stack.sql.query<{ v: string }>(
    `update resources set version = (select max(version) from resources where $1 = any(tags)) + 1, updated_at = now()
     where $1 = any(tags) returning version::text as v`,
    [tag],
  );
  return Number(r.rows[0]?.v);
}

async function expectVersionVia(base: string, id: string, version: number | undefined, status?: RegExp): Promise<boolean> {
  const res = await fetch(`${base}/v1/resources/${SLUG}/${id}`, { signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`GET ${SLUG} ${id}: ${res.status}`);
  if (status && !status.test(res.headers.get("cache-status") ?? "")) {
    throw new Error(`GET ${SLUG} ${id}: expected ${status}, got ${res.headers.get("cache-status")}`);
  }
  return version === undefined || res.headers.get("etag") === `"${version}"`;
}

async function freshEverywhere(base: string, other: NodeIsolate, id: string, version: number, t0: number): Promise<{ worker: number; everywhere: number }> {
  const deadline = t0 + 10_000;
  const poll = async (fresh: () => Promise<boolean>): Promise<number> => {
    while (performance.now() < deadline) {
      if (await fresh()) return performance.now() - t0;
      await sleep(POLL_GAP_MS);
    }
    throw new Error(`${SLUG} ${id} still stale 10 s after the invalidation`);
  };
  const [w, o] = await Promise.all([
    poll(() => expectVersionVia(base, id, version)),
    poll(async () => (await other.read(TYPE, SLUG, id)).version === String(version)),
  ]);
  return { worker: w, everywhere: Math.max(w, o) };
}

async function waitDone(base: string, adminKey: string, id: string, t0: number): Promise<number> {
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline) {
    const res = await fetch(`${base}/v1/invalidations/${id}`, { headers: { authorization: `Bearer ${adminKey}` }, signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { status?: string; error?: string };
    if (body.status === "DONE" || body.status === "PROPAGATING") return performance.now() - t0;
    if (body.status === "FAILED") throw new Error(`invalidation ${id} FAILED: ${body.error ?? ""}`);
    await sleep(10);
  }
  throw new Error(`invalidation ${id} not done after 60 s`);
}

interface ReadYourWrites {
  trials: number;
  fresh: number;
  putP50: number;
  putP99: number;
  getP50: number;
  otherP50: number;
  otherP99: number;
}

async function readYourWrites(ctx: BenchContext, stack: Stack, base: string, other: NodeIsolate): Promise<ReadYourWrites> {
  const trials = ctx.quick ? 10 : 100;
  const ids = await stack.insertResources(WRITE_TYPE, trials);
  const put: number[] = [];
  const get: number[] = [];
  const otherTimes: number[] = [];
  let fresh = 0;
  for (const [i, id] of ids.entries()) {
    await other.read(WRITE_TYPE, WRITE_SLUG, id); // the other isolate holds the old version in memory
    const t0 = performance.now();
    const res = await fetch(`${base}/v1/resources/${WRITE_SLUG}/${id}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${stack.adminKey}`, "content-type": "application/json" },
      body: JSON.stringify({ payload: { displayName: `Writer ${i}`, units: "imperial" } }),
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`PUT ${WRITE_SLUG} ${id}: ${res.status}`);
    const etag = res.headers.get("etag") ?? "";
    const t1 = performance.now();
    put.push(t1 - t0);
    const back = await fetch(`${base}/v1/resources/${WRITE_SLUG}/${id}`, { signal: AbortSignal.timeout(10_000) });
    await back.arrayBuffer();
    get.push(performance.now() - t1);
    if (back.status === 200 && back.headers.get("etag") === etag) fresh++;
    const version = etag.replaceAll('"', "");
    const deadline = t0 + 10_000;
    for (;;) {
      if ((await other.read(WRITE_TYPE, WRITE_SLUG, id)).version === version) break;
      if (performance.now() > deadline) throw new Error(`the other isolate still serves the old ${WRITE_SLUG} ${id} after 10 s`);
      await sleep(POLL_GAP_MS);
    }
    otherTimes.push(performance.now() - t0);
  }
  const r = (x: number) => round(x, 1);
  return {
    trials,
    fresh,
    putP50: r(percentile(put, 50)),
    putP99: r(percentile(put, 99)),
    getP50: r(percentile(get, 50)),
    otherP50: r(percentile(otherTimes, 50)),
    otherP99: r(percentile(otherTimes, 99)),
  };
}
