/**
 * @module peer: Strata's core (CacheEngine with MemoryTier + RedisTier) against bentocache (memory + Redis), both
 * in this Node process over the same Redis, driven by one seeded trace: 90% read-through reads, 10% writes, keys
 * drawn Zipf(s = 0.9) from a fixed key space, a closed loop of a fixed number of in-flight operations.
 *
 * Strata runs three times, its engine unchanged and only the L2 client swapped: over an ioredis adapter (the same
 * transport as bentocache, so the engines compare), and over @upstash/redis through the stack's in-process bridge
 * and through a bridge in a child process (the deployed transport, with and without the bridge's serving charged
 * to this process).
 *
 * Both L1s hold the same number of entries (each budget is computed from what that library charges per entry) and
 * evict LRU; both store with the same TTL, long enough that nothing expires during the run. Every system is filled
 * (every key read once, so L2 holds the whole key space) and warmed, then the systems run their measured rounds in
 * turn, serpentine (A B C D, D C B A, …), each round of each system on the same trace segment; figures are medians
 * over rounds.
 */
import { Redis } from "ioredis";
import { startChildBridge, type ChildBridge } from "../lib/peer-bridge.ts";
import {
  bentoSystem,
  strataEntryBytes,
  strataIoredisSystem,
  strataRestSystem,
  storedBytes,
  type PeerConfig,
  type PeerSystem,
  type RestEndpoint,
} from "../lib/peer-systems.ts";
import { buildTrace, closedLoop, makePayload, PAYLOAD_BYTES, type PeerOp, type PeerTrace } from "../lib/peer-workload.ts";
import { dropKeys, type Stack } from "../lib/stack.ts";
import { median, percentile, round } from "../lib/stats.ts";
import type { BenchCase, BenchContext, CaseReport, Table } from "../lib/types.ts";

interface Plan {
  keys: number;
  /** L1 capacity as a fraction of the key space. */
  l1Fraction: number;
  concurrency: number;
  warmupOps: number;
  rounds: number;
  opsPerRound: number;
}

const FULL: Plan = { keys: 10_000, l1Fraction: 0.2, concurrency: 32, warmupOps: 20_000, rounds: 5, opsPerRound: 30_000 };
// Odd round counts, so the median is a measured round rather than the lower of two.
const QUICK: Plan = { keys: 2_000, l1Fraction: 0.2, concurrency: 32, warmupOps: 2_000, rounds: 3, opsPerRound: 3_000 };
const ZIPF_S = 0.9;
const WRITE_FRACTION = 0.1;
const SEED = 0x9ee4;
/** Ten minutes: longer than the run, so TTL expiry plays no part. */
const TTL_MS = 600_000;
/** Generous on purpose: a slow moment on this shared machine should show in p99, not as a tier bypass. */
const TIMEOUT_MS = 5_000;

interface RoundFigures {
  system: string;
  round: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  l1HitRatio: number;
  /** Reads answered by L2. */
  l2HitRatio: number;
  loads: number;
  /** This process's CPU (user + system) per op: steadier than wall time on a shared machine. */
  cpuUsPerOp: number;
  commandsPerOp: number | undefined;
  roundTripsPerOp: number | undefined;
  errors: number;
}

interface SystemSummary {
  id: string;
  label: string;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  l1HitRatio: number;
  l2HitRatio: number;
  loadsPerRound: number;
  cpuUsPerOp: number;
  commandsPerOp: number | undefined;
  roundTripsPerOp: number | undefined;
  errors: number;
  l1Entries: number | undefined;
  /**
   * Median over rounds of this system's figure ÷ bentocache's in the same round. Adjacent runs share the machine's
   * mood, so these ratios are steadier than a ratio of medians taken from different rounds.
   */
  vsBento: { opsPerSec: number; p99: number; cpuPerOp: number };
}

export const peerCase: BenchCase = {
  name: "peer",
  title: "Peer: Strata's core vs bentocache (memory + Redis), 90/10 read/write, Zipf keys",
  async run(ctx: BenchContext): Promise<CaseReport> {
    const plan = ctx.quick ? QUICK : FULL;
    const stack = await ctx.stack();
    const trace = buildTrace({
      keys: plan.keys,
      s: ZIPF_S,
      writeFraction: WRITE_FRACTION,
      seed: SEED,
      warmupOps: plan.warmupOps,
      rounds: plan.rounds,
      opsPerRound: plan.opsPerRound,
    });
    const namespace = `${stack.keyPrefix}peer:`;
    const sizing = await l1Sizing(plan, trace);
    ctx.log(
      `   L1: ${sizing.entries} entries each (Strata ${sizing.strataEntryBytes} B/entry → ${sizing.strataBytes} B, ` +
        `bentocache ${sizing.bentoEntryBytes} B/entry → ${sizing.bentoBytes} B)`,
    );
    const systems: PeerSystem[] = [];
    let childBridge: ChildBridge | undefined;
    try {
      const base = { redisUrl: stack.redisUrl, ttlMs: TTL_MS, l1Entries: sizing.entries, timeoutMs: TIMEOUT_MS };
      const strata = (name: string): PeerConfig => ({ ...base, keyPrefix: `${namespace}${name}:`, l1Bytes: sizing.strataBytes });
      childBridge = await startChildBridge(stack.redisUrl, stack.upstashToken);
      systems.push(await bentoSystem({ ...base, keyPrefix: `${namespace}bento:`, l1Bytes: sizing.bentoBytes }));
      systems.push(await strataIoredisSystem(strata("strata-io")));
      systems.push(strataRestSystem(strata("strata-rest"), inProcessEndpoint(stack)));
      systems.push(strataRestSystem(strata("strata-rest-child"), childEndpoint(stack, childBridge)));

      for (const sys of systems) await warm(ctx, sys, trace, plan.concurrency);
      const stored = await storedValueBytes(stack.redisUrl, namespace, (trace.fill[0] as PeerOp).key);
      if (stored.bento !== sizing.bentoEntryBytes) {
        ctx.log(`   note: bentocache stores ${stored.bento ?? "?"} B per item, sized for ${sizing.bentoEntryBytes} B`);
      }

      const rounds: RoundFigures[] = [];
      for (let r = 0; r < plan.rounds; r++) {
        const order = r % 2 === 0 ? systems : [...systems].reverse();
        for (const sys of order) {
          const fig = await measureRound(sys, r, trace.rounds[r] as PeerOp[], plan.concurrency);
          rounds.push(fig);
          ctx.log(roundLine(fig));
        }
      }
      const summaries = systems.map((sys) => summarize(sys, rounds));
      return report(plan, sizing, stored, summaries, rounds);
    } finally {
      for (const sys of systems) await sys.close().catch((e: unknown) => ctx.log(`   close ${sys.id}: ${String(e)}`));
      await childBridge?.close().catch((e: unknown) => ctx.log(`   child bridge: ${String(e)}`));
      await dropKeys(stack.redisUrl, namespace).catch((e: unknown) => ctx.log(`   cleanup: ${String(e)}`));
    }
  },
};

function inProcessEndpoint(stack: Stack): RestEndpoint {
  return {
    id: "strata-rest",
    label: "Strata, Upstash REST via the in-process bridge",
    url: stack.upstash.url,
    token: stack.upstashToken,
    counter: stack.upstash,
  };
}

function childEndpoint(stack: Stack, bridge: ChildBridge): RestEndpoint {
  return {
    id: "strata-rest-child",
    label: "Strata, Upstash REST via a bridge in a child process",
    url: bridge.url,
    token: stack.upstashToken,
    counter: undefined,
  };
}

function roundLine(f: RoundFigures): string {
  const trips = f.roundTripsPerOp === undefined ? "" : `  ${f.roundTripsPerOp.toFixed(3)} rt/op`;
  return (
    `   round ${f.round + 1} ${f.system.padEnd(17)} ${String(Math.round(f.opsPerSec)).padStart(6)} ops/s  ` +
    `p50 ${f.p50Ms.toFixed(3)} ms  p99 ${f.p99Ms.toFixed(3)} ms  cpu ${f.cpuUsPerOp.toFixed(1)} µs/op  ` +
    `L1 ${(f.l1HitRatio * 100).toFixed(1)}%${trips}${f.errors > 0 ? `  ${f.errors} errors` : ""}`
  );
}

interface Sizing {
  entries: number;
  strataEntryBytes: number;
  strataBytes: number;
  bentoEntryBytes: number;
  bentoBytes: number;
}

/**
 * Equal capacity in entries, each library's budget in its own bytes: Strata charges the encoded envelope plus key
 * and a fixed overhead, bentocache's lru-cache the serialized item string. Equal bytes would give bentocache about
 * a fifth more entries and so a hit ratio edge that says nothing about either engine.
 */
async function l1Sizing(plan: Plan, trace: PeerTrace): Promise<Sizing> {
  const entries = Math.round(plan.keys * plan.l1Fraction);
  const key = (trace.fill[0] as PeerOp).key;
  const strataEntry = await strataEntryBytes(key, TTL_MS);
  const now = Date.now();
  // bentocache's item as it serializes it (checked against the stored item after the fill).
  const bentoEntry = Buffer.byteLength(
    JSON.stringify({ value: makePayload(key, 0), logicalExpiration: now + TTL_MS, tags: [], createdAt: now }),
    "utf8",
  );
  return { entries, strataEntryBytes: strataEntry, strataBytes: entries * strataEntry, bentoEntryBytes: bentoEntry, bentoBytes: entries * bentoEntry };
}

interface StoredBytes {
  bento: number | undefined;
  strata: number | undefined;
}

/** One key's value as each library stored it in Redis (bentocache's doubles as the check on its L1 sizing). */
async function storedValueBytes(redisUrl: string, namespace: string, key: string): Promise<StoredBytes> {
  const conn = new Redis(redisUrl, { protocol: 2, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await conn.connect();
    return {
      bento: await storedBytes(conn, `${namespace}bento:${key}`),
      // RedisTier's layout: values under <prefix>v:<key>.
      strata: await storedBytes(conn, `${namespace}strata-io:v:${key}`),
    };
  } finally {
    conn.disconnect();
  }
}

function exec(sys: PeerSystem): (op: PeerOp) => Promise<unknown> {
  return (op) => (op.write === undefined ? sys.read(op.key) : sys.write(op.key, op.write));
}

/** Fill (every key once, so L2 misses are rare in the rounds), then the Zipf warm-up that settles L1 and the JIT. */
async function warm(ctx: BenchContext, sys: PeerSystem, trace: PeerTrace, concurrency: number): Promise<void> {
  const fill = await closedLoop(trace.fill, concurrency, exec(sys), () => sys.settle());
  const warmup = await closedLoop(trace.warmup, concurrency, exec(sys), () => sys.settle());
  const errors = fill.errors + warmup.errors;
  if (errors > 0) throw new Error(`${sys.id}: ${errors} errors while warming up, first: ${fill.firstError ?? warmup.firstError}`);
  ctx.log(`   warmed ${sys.id}: fill ${(fill.elapsedMs / 1000).toFixed(1)} s, warm-up ${(warmup.elapsedMs / 1000).toFixed(1)} s`);
}

async function measureRound(sys: PeerSystem, round: number, ops: PeerOp[], concurrency: number): Promise<RoundFigures> {
  sys.resetCounters();
  const cpu = process.cpuUsage();
  const result = await closedLoop(ops, concurrency, exec(sys), () => sys.settle());
  const cpuUsed = process.cpuUsage(cpu);
  const counts = sys.counts();
  const traffic = sys.traffic();
  const latencies = Array.from(result.latenciesMs);
  return {
    system: sys.id,
    round,
    opsPerSec: (ops.length / result.elapsedMs) * 1000,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    l1HitRatio: counts.reads === 0 ? Number.NaN : counts.l1 / counts.reads,
    l2HitRatio: counts.reads === 0 ? Number.NaN : counts.l2 / counts.reads,
    loads: counts.loads,
    cpuUsPerOp: (cpuUsed.user + cpuUsed.system) / ops.length,
    commandsPerOp: traffic && traffic.commands / ops.length,
    roundTripsPerOp: traffic && traffic.roundTrips / ops.length,
    errors: result.errors,
  };
}

function summarize(sys: PeerSystem, rounds: RoundFigures[]): SystemSummary {
  const own = rounds.filter((f) => f.system === sys.id);
  const med = (pick: (f: RoundFigures) => number): number => median(own.map(pick));
  const medOptional = (pick: (f: RoundFigures) => number | undefined): number | undefined => {
    const values = own.map(pick).filter((v): v is number => v !== undefined);
    return values.length === 0 ? undefined : median(values);
  };
  return {
    id: sys.id,
    label: sys.label,
    opsPerSec: med((f) => f.opsPerSec),
    p50Ms: med((f) => f.p50Ms),
    p99Ms: med((f) => f.p99Ms),
    l1HitRatio: med((f) => f.l1HitRatio),
    l2HitRatio: med((f) => f.l2HitRatio),
    loadsPerRound: med((f) => f.loads),
    cpuUsPerOp: med((f) => f.cpuUsPerOp),
    commandsPerOp: medOptional((f) => f.commandsPerOp),
    roundTripsPerOp: medOptional((f) => f.roundTripsPerOp),
    errors: own.reduce((n, f) => n + f.errors, 0),
    l1Entries: sys.l1Entries(),
    vsBento: {
      opsPerSec: pairedRatio(own, rounds, (f) => f.opsPerSec),
      p99: pairedRatio(own, rounds, (f) => f.p99Ms),
      cpuPerOp: pairedRatio(own, rounds, (f) => f.cpuUsPerOp),
    },
  };
}

function pairedRatio(own: RoundFigures[], all: RoundFigures[], pick: (f: RoundFigures) => number): number {
  const ratios = own.flatMap((f) => {
    const base = all.find((b) => b.system === "bentocache" && b.round === f.round);
    return base ? [pick(f) / pick(base)] : [];
  });
  return round(median(ratios), 2);
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function find(summaries: SystemSummary[], id: string): SystemSummary {
  const s = summaries.find((x) => x.id === id);
  if (!s) throw new Error(`no figures for ${id}`);
  return s;
}

function optional(n: number | undefined, digits: number): string | number {
  return n === undefined ? "not counted" : round(n, digits);
}

function report(plan: Plan, sizing: Sizing, stored: StoredBytes, summaries: SystemSummary[], rounds: RoundFigures[]): CaseReport {
  const main: Table = {
    title: "Throughput and latency (median of rounds)",
    columns: [
      "system", "ops/s", "p50 ms", "p99 ms", "ops/s ÷ bentocache", "p99 ÷ bentocache", "CPU µs/op", "CPU ÷ bentocache",
      "L1 hit", "L2 hit", "Redis commands/op", "client round trips/op",
    ],
    rows: summaries.map((s) => [
      s.label,
      Math.round(s.opsPerSec),
      round(s.p50Ms, 3),
      round(s.p99Ms, 3),
      s.vsBento.opsPerSec,
      s.vsBento.p99,
      round(s.cpuUsPerOp, 1),
      s.vsBento.cpuPerOp,
      pct(s.l1HitRatio),
      pct(s.l2HitRatio),
      optional(s.commandsPerOp, 3),
      optional(s.roundTripsPerOp, 3),
    ]),
    note:
      `Ratios are each row ÷ bentocache within a round (one round's runs follow each other within about half a minute), ` +
      `then the median over rounds: above 1 is better for ops/s, below 1 is better for p99 and CPU. ` +
      `Latency is per operation with ${plan.concurrency} in flight on one event loop, so it includes waiting behind the ` +
      `others (closed loop: mean latency ≈ ${plan.concurrency} ÷ ops/s); p50 is an L1 hit. CPU is this process's ` +
      `user + system time per op (the in-process bridge's included, Redis's and the child bridge's not). Hit ratios are ` +
      `over reads (90% of ops); the rest went to the loader. Round trips: HTTP requests the bridge received for the REST ` +
      `row (@upstash/redis auto-pipelines, so one request may carry several commands), one per command over ioredis.`,
  };
  const perRound: Table = {
    title: "Every round (ops/s / p99 ms / CPU µs per op)",
    columns: ["round", ...summaries.map((s) => s.id)],
    rows: Array.from({ length: plan.rounds }, (_, r) => [
      r + 1,
      ...summaries.map((s) => {
        const f = rounds.find((x) => x.system === s.id && x.round === r);
        return f ? `${Math.round(f.opsPerSec)} / ${f.p99Ms.toFixed(2)} / ${f.cpuUsPerOp.toFixed(0)}` : "-";
      }),
    ]),
    note: `Odd rounds ran the systems left to right, even rounds right to left, each on the same ${plan.opsPerRound.toLocaleString("en-US")}-op trace segment.`,
  };
  const strataEntries = summaries.filter((s) => s.l1Entries !== undefined).map((s) => s.l1Entries);
  const config: Table = {
    title: "Configuration",
    columns: ["", "bentocache", "Strata"],
    rows: [
      ["L1", "memoryDriver (lru-cache), items stored serialized", "MemoryTier, LRU, encoded bytes + decoded envelope beside them"],
      ["L1 capacity (entries)", sizing.entries, sizing.entries],
      ["L1 budget (bytes)", sizing.bentoBytes, sizing.strataBytes],
      ["L1 charge per entry (bytes)", stored.bento ?? sizing.bentoEntryBytes, sizing.strataEntryBytes],
      ["L2 value per entry (bytes)", stored.bento ?? "?", stored.strata ?? "?"],
      ["L1 entries at the end", "not exposed", `${strataEntries.join(", ")} (${summaries.filter((x) => x.l1Entries !== undefined).map((x) => x.id).join(", ")})`],
      ["read, L1 miss", "GET; on a miss: load, SET PX, then answer", "lookup-or-lease script; on a miss: load, answer, then store-and-release script in waitUntil"],
      ["write", "L1 set + SET PX, awaited", "L1 set + SET PX, awaited"],
      ["TTL", `${TTL_MS / 60_000} min`, `${TTL_MS / 60_000} min`],
    ],
  };
  return {
    summary: summaryText(plan, summaries),
    tables: [main, perRound, config],
    targets: [],
    figures: {
      plan: { ...plan, zipfS: ZIPF_S, writeFraction: WRITE_FRACTION, seed: SEED, ttlMs: TTL_MS, payloadBytes: PAYLOAD_BYTES, loaderDelayMs: 0 },
      l1: { ...sizing, bentoEntryBytesMeasured: stored.bento },
      l2ValueBytes: stored,
      systems: summaries,
      ratiosToBentocache: Object.fromEntries(summaries.filter((s) => s.id !== "bentocache").map((s) => [s.id, s.vsBento])),
      rounds,
    },
  };
}

function summaryText(plan: Plan, summaries: SystemSummary[]): string {
  const io = find(summaries, "strata-ioredis");
  const rest = find(summaries, "strata-rest");
  const child = find(summaries, "strata-rest-child");
  const vs = (s: SystemSummary): string =>
    `${s.vsBento.opsPerSec}× bentocache's ops/s, ${s.vsBento.p99}× its p99 and ${s.vsBento.cpuPerOp}× its CPU per op`;
  return [
    `bentocache (npm) with its memory + Redis tiers against Strata's core (CacheEngine with MemoryTier + RedisTier), both in`,
    `this Node process against the same Redis: ${plan.keys.toLocaleString("en-US")} keys drawn Zipf(s = ${ZIPF_S}) from one seeded trace,`,
    `${100 - WRITE_FRACTION * 100}% reads through the read-through API (engine.read with a loader / getOrSet with a factory) and`,
    `${WRITE_FRACTION * 100}% writes (engine.put / set), ${plan.concurrency} operations in flight (closed loop), ${plan.rounds} rounds of`,
    `${plan.opsPerRound.toLocaleString("en-US")} operations per system after a fill (every key once) and a`,
    `${plan.warmupOps.toLocaleString("en-US")}-op warm-up. The loader is an in-memory function returning a fresh`,
    `${PAYLOAD_BYTES}-byte object, with no artificial delay, so the figures are cache overhead, not origin time. Both L1s`,
    `hold ${Math.round(plan.l1Fraction * 100)}% of the keys and evict LRU; both TTLs are ${TTL_MS / 60_000} minutes.`,
    `The transports differ, and that is the main caveat: bentocache talks RESP over TCP (ioredis) to Redis, while`,
    `Strata's L2 as deployed talks HTTP to Upstash's REST API, here through a local bridge. The stack's bridge runs in`,
    `this same process, so its HTTP serving is charged to Strata too; a second bridge in a child process takes that off`,
    `(it still shares the two cores). The "ioredis adapter" row runs Strata's unchanged engine and RedisTier over a`,
    `five-method ioredis adapter, so the transport equals bentocache's: that row compares the engines, the REST rows the`,
    `deployed path. Over ioredis Strata did ${vs(io)}; over REST ${vs(child)} with the bridge out of process and ${vs(rest)} with`,
    `it in process (ratios are medians of per-round ratios).${clientCost(io, rest, child)}`,
    `Semantics differ as well: on an L1 miss Strata runs a lookup-or-lease Lua script (one round trip,`,
    `like bentocache's GET) and answers a load before its L2 write lands (the write goes to waitUntil, still inside the`,
    `timed window); bentocache awaits its L2 SET before answering and guards loads with an in-process lock only. Strata`,
    `serves an L1 hit as the decoded object it keeps beside the bytes (shared between readers); bentocache JSON-parses`,
    `its serialized L1 item on every hit (a private copy each time).`,
  ].join(" ");
}

/**
 * What the REST client itself costs: with the bridge in another process, this process runs only the engine and the
 * client, and the ioredis row gives the engine's share.
 */
function clientCost(io: SystemSummary, rest: SystemSummary, child: SystemSummary): string {
  const extra = child.cpuUsPerOp - io.cpuUsPerOp;
  const perRequest = rest.roundTripsPerOp ? ` (about ${round(extra / rest.roundTripsPerOp, 0)} µs per HTTP request at ${round(rest.roundTripsPerOp, 2)} requests per op)` : "";
  return (
    ` With the bridge out of process this process still spent ${round(child.cpuUsPerOp, 0)} µs of CPU per op, against` +
    ` ${round(io.cpuUsPerOp, 0)} µs over ioredis: the difference${perRequest} is the REST client's own cost (@upstash/redis` +
    ` over Node's fetch), which the Lambdas pay too; the edge worker's fetch is workerd's and is not measured here.`
  );
}

