/**
 * @module eviction: hit ratio of every isolate-memory (L1) policy on seeded traces, byte-bounded at three cache sizes,
 * beside Belady's OPT (exact, offline), the perfect-frequency bound of the Zipf distribution and the `lru-cache`
 * package as the LRU reference; then get/set throughput of each policy's MemoryStore against `lru-cache`.
 */
import { performance } from "node:perf_hooks";
import { LRUCache } from "lru-cache";
import { EVICTION_POLICIES } from "../../core/memory/policies/index.ts";
import { entryCost, MemoryStore, type EvictionPolicyName } from "../../core/memory/store.ts";
import { loopTrace, mulberry32, redrawnZipfTrace, scanMixedTrace, zipfTrace } from "../../core/memory/trace.ts";
import { beladyHits, internTrace, nextUses, perfectFrequencyBound } from "../lib/belady.ts";
import { ratio, round } from "../lib/stats.ts";
import type { BenchCase, BenchContext, CaseReport, Cell, Table, TargetCheck } from "../lib/types.ts";

/** Every entry is charged exactly this many bytes (payload sized to make up the key and the store's overhead). */
const ENTRY_BYTES = 1_024;
const SEED = 42;
/** Seed for RANDOM's victims and CUSTOM's hash seed, so reruns replay identically. */
const POLICY_SEED = 7;
const LRU_CACHE = "lru-cache";
const TARGET_SIZE = 0.01;
const TARGET_TRACE = "zipf-0.9";
const SHIFT_TRACE = "shifting";

interface Scale {
  keys: number;
  requests: number;
  /** Requests between two re-draws of popularity in the shifting trace. */
  phaseLength: number;
  /** Cache sizes as fractions of the key space (in bytes, so also in entries). */
  sizes: readonly number[];
  /** Requests per timed pass of the throughput measurement, and passes per implementation (best one counts). */
  opsRequests: number;
  opsRepetitions: number;
  /** Cache size of the throughput measurement, as a fraction of the key space. */
  opsSize: number;
}

const FULL: Scale = {
  keys: 100_000,
  requests: 1_000_000,
  phaseLength: 100_000,
  sizes: [0.001, 0.01, 0.1],
  opsRequests: 1_000_000,
  opsRepetitions: 5,
  opsSize: 0.1,
};

const QUICK: Scale = {
  keys: 10_000,
  requests: 100_000,
  phaseLength: 10_000,
  sizes: [0.001, 0.01, 0.1],
  opsRequests: 100_000,
  opsRepetitions: 2,
  opsSize: 0.1,
};

interface TraceSpec {
  id: string;
  label: string;
  /** Zipf skew where the requests are (mostly) independent Zipf draws; the perfect-frequency bound then applies. */
  zipf?: number;
  build(): string[];
}

function traceSpecs(scale: Scale): TraceSpec[] {
  const largestCache = Math.round(scale.keys * Math.max(...scale.sizes));
  // Scans as long as 1% of the key space, after every 4% of it in Zipf requests: a fifth of all requests.
  const scanEvery = Math.round(scale.keys / 25);
  const scanLength = Math.round(scale.keys / 100);
  const loopLength = 2 * largestCache;
  const zipf = (s: number): TraceSpec => ({
    id: `zipf-${s}`,
    label: `Zipf ${s}`,
    zipf: s,
    build: () => zipfTrace({ keys: scale.keys, requests: scale.requests, s, seed: SEED }),
  });
  return [
    zipf(0.7),
    zipf(0.9),
    zipf(1.1),
    {
      id: "scan",
      label: `Zipf 0.9 + scans (${scanLength.toLocaleString("en-US")} one-hit keys every ${scanEvery.toLocaleString("en-US")})`,
      zipf: 0.9,
      build: () =>
        scanMixedTrace({ keys: scale.keys, requests: scale.requests, s: 0.9, seed: SEED, scanEvery, scanLength }),
    },
    {
      id: SHIFT_TRACE,
      label: `Shifting: Zipf 0.9 re-drawn every ${scale.phaseLength.toLocaleString("en-US")}`,
      zipf: 0.9,
      build: () =>
        redrawnZipfTrace({ keys: scale.keys, requests: scale.requests, s: 0.9, seed: SEED, phaseLength: scale.phaseLength }),
    },
    {
      id: "loop",
      label: `Loop over ${loopLength.toLocaleString("en-US")} keys`,
      build: () => loopTrace({ length: loopLength, requests: scale.requests }),
    },
  ];
}

/** Payload that makes `key` cost exactly ENTRY_BYTES in the store (scan keys are longer than Zipf keys). */
function payloadFor(key: string): number {
  return ENTRY_BYTES - entryCost(key, 0);
}

/** Read-through replay: a miss stores the key. Returns hits. */
function replayStore(policy: EvictionPolicyName, trace: readonly string[], entries: number): number {
  const store = new MemoryStore<number>({ maxSizeBytes: entries * ENTRY_BYTES, policy, random: mulberry32(POLICY_SEED) });
  let hits = 0;
  for (const key of trace) {
    if (store.get(key) !== undefined) hits++;
    else store.set(key, 1, payloadFor(key), Infinity);
  }
  return hits;
}

function referenceLru(entries: number): LRUCache<string, number> {
  // Bounded by bytes like the store; `max` only lets it preallocate, the byte bound binds first or at the same time.
  return new LRUCache<string, number>({ max: entries, maxSize: entries * ENTRY_BYTES, sizeCalculation: () => ENTRY_BYTES });
}

function replayLruCache(trace: readonly string[], entries: number): number {
  const cache = referenceLru(entries);
  let hits = 0;
  for (const key of trace) {
    if (cache.get(key) !== undefined) hits++;
    else cache.set(key, 1);
  }
  return hits;
}

/** Hit ratios (0..1) of one trace at one cache size. */
interface SizeResult {
  fraction: number;
  entries: number;
  bytes: number;
  opt: number;
  /** Perfect-frequency bound (already scaled by the share of Zipf requests); null where it does not apply. */
  perfectFrequency: number | null;
  policies: Record<string, number>;
}

interface TraceResult {
  id: string;
  label: string;
  requests: number;
  distinctKeys: number;
  sizes: SizeResult[];
}

function measureTrace(spec: TraceSpec, scale: Scale, ctx: BenchContext): TraceResult {
  const t0 = performance.now();
  const trace = spec.build();
  const interned = internTrace(trace);
  const next = nextUses(interned);
  // Scan keys are never requested twice, so only the Zipf share of the requests can ever hit.
  const zipfShare = trace.filter((key) => !key.includes("scan")).length / trace.length;
  const sizes = scale.sizes.map((fraction): SizeResult => {
    const entries = Math.max(1, Math.round(scale.keys * fraction));
    const policies: Record<string, number> = {};
    for (const policy of EVICTION_POLICIES) policies[policy] = replayStore(policy, trace, entries) / trace.length;
    policies[LRU_CACHE] = replayLruCache(trace, entries) / trace.length;
    return {
      fraction,
      entries,
      bytes: entries * ENTRY_BYTES,
      opt: beladyHits(interned, entries, next) / trace.length,
      perfectFrequency: spec.zipf === undefined ? null : zipfShare * perfectFrequencyBound(scale.keys, spec.zipf, entries),
      policies,
    };
  });
  const line = sizes.map(
    (s) => `${sizeText(s.fraction)}: CUSTOM ${pctText(s.policies.CUSTOM ?? 0)} LRU ${pctText(s.policies.LRU ?? 0)} OPT ${pctText(s.opt)}`,
  );
  ctx.log(`   ${spec.label}: ${line.join("; ")} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return { id: spec.id, label: spec.label, requests: trace.length, distinctKeys: interned.distinct, sizes };
}

// ── throughput ──────────────────────────────────────────────────────────────────────────────────────────────

interface OpsResult {
  name: string;
  getOpsPerSec: number;
  setOpsPerSec: number;
}

/** The operations timed for one implementation; `warm` fills it read-through so gets see a steady-state cache. */
interface OpsSubject {
  name: string;
  warm(trace: readonly string[]): void;
  gets(trace: readonly string[]): number;
  sets(trace: readonly string[]): number;
}

function storeSubject(policy: EvictionPolicyName, entries: number, payload: number): OpsSubject {
  const store = new MemoryStore<number>({ maxSizeBytes: entries * ENTRY_BYTES, policy, random: mulberry32(POLICY_SEED) });
  return {
    name: policy,
    warm(trace) {
      for (const key of trace) if (store.get(key) === undefined) store.set(key, 1, payload, Infinity);
    },
    gets(trace) {
      let hits = 0;
      for (let i = 0; i < trace.length; i++) if (store.get(trace[i] as string) !== undefined) hits++;
      return hits;
    },
    sets(trace) {
      let stored = 0;
      for (let i = 0; i < trace.length; i++) if (store.set(trace[i] as string, i, payload, Infinity)) stored++;
      return stored;
    },
  };
}

function lruCacheSubject(entries: number): OpsSubject {
  const cache = referenceLru(entries);
  return {
    name: LRU_CACHE,
    warm(trace) {
      for (const key of trace) if (cache.get(key) === undefined) cache.set(key, 1);
    },
    gets(trace) {
      let hits = 0;
      for (let i = 0; i < trace.length; i++) if (cache.get(trace[i] as string) !== undefined) hits++;
      return hits;
    },
    sets(trace) {
      for (let i = 0; i < trace.length; i++) cache.set(trace[i] as string, i);
      return cache.size;
    },
  };
}

function opsPerSecond(run: () => number, operations: number): { rate: number; sink: number } {
  const t0 = performance.now();
  const sink = run();
  return { rate: operations / ((performance.now() - t0) / 1000), sink };
}

/**
 * Each repetition builds every implementation afresh, warms it untimed, then times a pass of gets and a pass of sets
 * over the same Zipf 0.9 requests; implementations take turns within a repetition (rotating who goes first), and each
 * keeps its best pass, so a burst of load on the shared machine penalises one pass rather than one implementation.
 */
function measureThroughput(scale: Scale, ctx: BenchContext): { results: OpsResult[]; entries: number; hitSink: number } {
  const entries = Math.max(1, Math.round(scale.keys * scale.opsSize));
  const trace = zipfTrace({ keys: scale.keys, requests: scale.opsRequests, s: 0.9, seed: SEED + 1 });
  const payload = payloadFor(trace[0] as string);
  const names = [...EVICTION_POLICIES, LRU_CACHE];
  const best = new Map<string, { get: number; set: number }>(names.map((n) => [n, { get: 0, set: 0 }]));
  let sink = 0;
  for (let rep = 0; rep < scale.opsRepetitions; rep++) {
    const order = names.map((_, i) => names[(i + rep) % names.length] as string);
    for (const name of order) {
      const subject = name === LRU_CACHE ? lruCacheSubject(entries) : storeSubject(name as EvictionPolicyName, entries, payload);
      subject.warm(trace);
      const get = opsPerSecond(() => subject.gets(trace), trace.length);
      const set = opsPerSecond(() => subject.sets(trace), trace.length);
      sink += get.sink + set.sink;
      const record = best.get(name) as { get: number; set: number };
      record.get = Math.max(record.get, get.rate);
      record.set = Math.max(record.set, set.rate);
    }
    ctx.log(`   throughput repetition ${rep + 1}/${scale.opsRepetitions} done`);
  }
  const results = names.map((name) => {
    const record = best.get(name) as { get: number; set: number };
    return { name, getOpsPerSec: record.get, setOpsPerSec: record.set };
  });
  return { results, entries, hitSink: sink };
}

// ── report ───────────────────────────────────────────────────────────────────────────────────────────────────

function pctText(ratio01: number): string {
  return `${(ratio01 * 100).toFixed(2)}%`;
}

/** A cache size as a share of the key space: "0.1%", "1%", "10%". */
function sizeText(fraction: number): string {
  return `${round(fraction * 100, 2)}%`;
}

/** Table cells carry fixed decimals, so a column of hit ratios lines up and 2-point differences stay readable. */
function pct(ratio01: number): string {
  return (ratio01 * 100).toFixed(2);
}

function millions(opsPerSecond: number): string {
  return (opsPerSecond / 1e6).toFixed(2);
}

function sizeLabel(fraction: number, entries: number): string {
  return `${sizeText(fraction)} of keys (${entries.toLocaleString("en-US")} entries, ${formatBytes(entries * ENTRY_BYTES)})`;
}

function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 20) return `${round(bytes / 2 ** 20, 1)} MiB`;
  return `${round(bytes / 2 ** 10, 1).toLocaleString("en-US")} KiB`;
}

const HIT_RATIO_NOTE =
  "Reference columns: OPT is Belady's offline optimum on this very trace (with bypass, so it bounds admission policies " +
  "too); PF bound is the sum of the top-C Zipf probabilities, the most any online policy can expect when requests are " +
  "independent draws (per phase on the shifting trace; scaled by the Zipf share on the scan trace; none for the loop). " +
  "The LRU baseline is `lru-cache` replaying the same trace under the same byte bound. TTL runs without expiry, where " +
  "it evicts the oldest write, like FIFO.";

function hitRatioTable(traces: readonly TraceResult[], sizeIndex: number): Table {
  const first = traces[0]?.sizes[sizeIndex] as SizeResult;
  const policyColumns = [...EVICTION_POLICIES, LRU_CACHE];
  const rows: Cell[][] = traces.map((t) => {
    const s = t.sizes[sizeIndex] as SizeResult;
    const custom = s.policies.CUSTOM ?? 0;
    const lru = s.policies.LRU ?? 0;
    return [
      t.label,
      pct(s.opt),
      s.perfectFrequency === null ? "—" : pct(s.perfectFrequency),
      ...policyColumns.map((p) => pct(s.policies[p] ?? 0)),
      ((custom - lru) * 100).toFixed(2),
    ];
  });
  return {
    title: `Hit ratio (%), cache = ${sizeLabel(first.fraction, first.entries)}`,
    columns: [
      "trace",
      "OPT (Belady)",
      "PF bound",
      ...policyColumns.map((p) => (p === LRU_CACHE ? "lru-cache (LRU ref.)" : p)),
      "CUSTOM − LRU (pts)",
    ],
    rows,
    // Said once, under the first size's table; the other sizes read the same way.
    ...(sizeIndex === 0 ? { note: HIT_RATIO_NOTE } : { note: "Columns and baseline as in the first hit-ratio table." }),
  };
}

function throughputTable(ops: readonly OpsResult[], entries: number, scale: Scale): Table {
  const base = ops.find((o) => o.name === LRU_CACHE) as OpsResult;
  return {
    title: `Throughput, cache = ${sizeLabel(scale.opsSize, entries)}, Zipf 0.9 over ${scale.keys.toLocaleString("en-US")} keys`,
    columns: ["implementation", "get (M ops/s)", "get vs lru-cache", "set (M ops/s)", "set vs lru-cache"],
    rows: ops.map((o) => [
      o.name === LRU_CACHE ? "lru-cache (baseline)" : `MemoryStore ${o.name}`,
      millions(o.getOpsPerSec),
      ratio(o.getOpsPerSec, base.getOpsPerSec).toFixed(2),
      millions(o.setOpsPerSec),
      ratio(o.setOpsPerSec, base.setOpsPerSec).toFixed(2),
    ]),
    note:
      `Baseline: \`lru-cache\` with the same byte bound, same keys and same order, measured in the same run. Best of ` +
      `${scale.opsRepetitions} passes of ${scale.opsRequests.toLocaleString("en-US")} operations each, implementations ` +
      "interleaved. Gets run on a cache warmed read-through (so they mix hits and misses at each policy's own hit ratio); " +
      "sets write every requested key (overwrites and inserts with eviction). A ratio of 0.5 means half as fast as lru-cache.",
  };
}

function find(traces: readonly TraceResult[], id: string, fraction: number): SizeResult {
  const trace = traces.find((t) => t.id === id);
  const size = trace?.sizes.find((s) => s.fraction === fraction);
  if (size === undefined) throw new Error(`no result for ${id} at ${fraction}`);
  return size;
}

function points(a: number, b: number): string {
  const d = (a - b) * 100;
  return `${d >= 0 ? "+" : "−"}${Math.abs(d).toFixed(2)} pts`;
}

function checkTargets(traces: readonly TraceResult[], scale: Scale): TargetCheck[] {
  const zipf = find(traces, TARGET_TRACE, TARGET_SIZE);
  const custom = zipf.policies.CUSTOM ?? 0;
  const lru = zipf.policies.LRU ?? 0;
  const bound = zipf.perfectFrequency ?? 0;
  const shiftAt = (fraction: number): { custom: number; lru: number } => {
    const s = find(traces, SHIFT_TRACE, fraction);
    return { custom: s.policies.CUSTOM ?? 0, lru: s.policies.LRU ?? 0 };
  };
  const shift = shiftAt(TARGET_SIZE);
  const otherSizes = scale.sizes.filter((f) => f !== TARGET_SIZE);
  const shiftOthers = otherSizes.map((f) => ({ fraction: f, ...shiftAt(f) }));
  const worstOther = shiftOthers.reduce((w, s) => (s.custom - s.lru < w.custom - w.lru ? s : w));
  const lruMismatch = traces.flatMap((t) =>
    t.sizes
      .filter((s) => s.policies.LRU !== s.policies[LRU_CACHE])
      .map((s) => `${t.label} at ${sizeText(s.fraction)}`),
  );
  const targets: TargetCheck[] = [
    {
      target: "CUSTOM ≥ LRU + 10 points on Zipf 0.9 at 1% cache size",
      measured: `CUSTOM ${pctText(custom)}, LRU ${pctText(lru)} (${points(custom, lru)}); OPT ${pctText(zipf.opt)}`,
      met: custom >= lru + 0.1,
    },
    {
      target: "CUSTOM within 2 points of the perfect-frequency bound on Zipf 0.9 at 1% cache size",
      measured: `CUSTOM ${pctText(custom)}, bound ${pctText(bound)} (${points(custom, bound)})`,
      met: custom >= bound - 0.02,
    },
    {
      target: "CUSTOM loses ≤ 2 points to LRU on the shifting working set, at 1% cache size",
      measured: `CUSTOM ${pctText(shift.custom)}, LRU ${pctText(shift.lru)} (${points(shift.custom, shift.lru)})`,
      met: shift.custom >= shift.lru - 0.02,
    },
    {
      target: `Stricter reading: the same on the shifting working set at the other sizes (${otherSizes.map(sizeText).join(", ")})`,
      measured: shiftOthers.map((s) => `${sizeText(s.fraction)}: ${points(s.custom, s.lru)}`).join(", "),
      met: shiftOthers.every((s) => s.custom >= s.lru - 0.02),
    },
    {
      target: "Strata's LRU matches the lru-cache reference on every trace and size",
      measured: lruMismatch.length === 0 ? "identical hit counts everywhere" : `differs on ${lruMismatch.join("; ")}`,
      met: lruMismatch.length === 0,
    },
  ];
  const strict = targets[3] as TargetCheck;
  if (!strict.met) {
    strict.note =
      `Worst at ${sizeText(worstOther.fraction)} (${points(worstOther.custom, worstOther.lru)}). There the boundary keys ` +
      "of the cache are requested about once per popularity phase, so the sketch needs more than a phase of history to " +
      "rank them, and the history it has describes the previous phase; LRU just keeps what was asked for last. What would " +
      "reach it: memory that adapts to the workload instead of a fixed sample period. Tried and left out: aging the sketch " +
      "early when the hit ratio drops while recurring keys keep losing admission got within 2 points at 10%, but also " +
      "fired on the scan and loop traces (up to −1.2 points there); a hill climber on the window gained at most 2 points " +
      "here for over 1 point lost on stationary Zipf; a fixed 80% window gets within 1 point of LRU here but costs 5 " +
      "points on stationary Zipf.";
  }
  return targets;
}

export const evictionCase: BenchCase = {
  name: "eviction",
  title: "Eviction: L1 policy hit ratios against OPT, and throughput against lru-cache",
  async run(ctx: BenchContext): Promise<CaseReport> {
    const scale = ctx.quick ? QUICK : FULL;
    const t0 = performance.now();
    const traces = traceSpecs(scale).map((spec) => measureTrace(spec, scale, ctx));
    const hitRatioSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const ops = measureThroughput(scale, ctx);
    const throughputSeconds = (performance.now() - t1) / 1000;
    const targets = checkTargets(traces, scale);
    return {
      summary:
        `Read-through replay of ${scale.requests.toLocaleString("en-US")} requests per trace over ${scale.keys.toLocaleString("en-US")} ` +
        `keys (seed ${SEED}): a miss stores the key, every entry is charged exactly ${ENTRY_BYTES.toLocaleString("en-US")} bytes, ` +
        `and each MemoryStore policy is bounded at ${scale.sizes.map((f) => sizeText(f)).join(", ")} of the key space in bytes. ` +
        "Beside each: Belady's OPT simulated exactly on the same trace, the perfect-frequency bound for Zipf traffic, and " +
        "`lru-cache` as the LRU reference with the same byte bound. The shifting trace re-draws which key holds which Zipf " +
        `rank every ${scale.phaseLength.toLocaleString("en-US")} requests; the loop cycles over twice the largest cache. ` +
        "Throughput: get and set passes over the same Zipf 0.9 requests for every policy and for `lru-cache`, best of " +
        `${scale.opsRepetitions}, interleaved.`,
      tables: [...scale.sizes.map((_, i) => hitRatioTable(traces, i)), throughputTable(ops.results, ops.entries, scale)],
      targets,
      figures: {
        scale: { ...scale, entryBytes: ENTRY_BYTES, seed: SEED, policySeed: POLICY_SEED },
        hitRatio: traces,
        throughput: { entries: ops.entries, results: ops.results },
        seconds: { hitRatio: round(hitRatioSeconds, 1), throughput: round(throughputSeconds, 1) },
        // Keeps the timed loops' results observable, so no pass can be optimised away.
        sink: ops.hitSink,
      },
    };
  },
};
