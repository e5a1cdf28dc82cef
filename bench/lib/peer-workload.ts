/**
 * @module The `peer` case's workload: one seeded Zipf trace of reads and writes shared by every system, the
 * fixed-size payload both loaders return, and a closed-loop driver that records one latency per operation.
 */
import { performance } from "node:perf_hooks";
import { mulberry32, zipfTrace } from "../../core/memory/trace.ts";

export interface PeerOp {
  key: string;
  /** Writes carry a sequence number, so every system stores the same value for the same op. */
  write: number | undefined;
}

export interface TraceOptions {
  keys: number;
  s: number;
  writeFraction: number;
  seed: number;
  /** Operations before the first measured round (after the fill pass). */
  warmupOps: number;
  rounds: number;
  opsPerRound: number;
}

export interface PeerTrace {
  /** Every key once, in name order: the fill pass, so L2 holds the whole key space before anything is measured. */
  fill: PeerOp[];
  warmup: PeerOp[];
  /** One segment per round; round r of every system runs segment r. */
  rounds: PeerOp[][];
}

/** Same width for every key name (zipfTrace's own naming), so each entry costs the same in both L1s. */
export function buildTrace(o: TraceOptions): PeerTrace {
  const total = o.warmupOps + o.rounds * o.opsPerRound;
  const keys = zipfTrace({ keys: o.keys, requests: total, s: o.s, seed: o.seed, prefix: "k" });
  // A separate stream for the read/write coin, so changing the write mix does not move the key sequence.
  const coin = mulberry32(o.seed ^ 0x9e3779b9);
  const ops = keys.map((key, i): PeerOp => ({ key, write: coin() < o.writeFraction ? i : undefined }));
  const width = String(o.keys - 1).length;
  const fill = Array.from({ length: o.keys }, (_, i): PeerOp => ({ key: `k${String(i).padStart(width, "0")}`, write: undefined }));
  const rounds = Array.from({ length: o.rounds }, (_, r) => ops.slice(o.warmupOps + r * o.opsPerRound, o.warmupOps + (r + 1) * o.opsPerRound));
  return { fill, warmup: ops.slice(0, o.warmupOps), rounds };
}

export const PAYLOAD_BYTES = 500;

export interface Payload {
  id: string;
  kind: string;
  /** Fixed width, so a write does not change the entry's size. */
  version: string;
  title: string;
  tags: string[];
  body: string;
}

/**
 * A fresh object per call (a loader hands back a new value each time), whose JSON is exactly PAYLOAD_BYTES for
 * keys of one width: the padding is sized against the serialized skeleton.
 */
export function makePayload(key: string, version: number): Payload {
  const skeleton: Payload = {
    id: key,
    kind: "workout",
    version: String(version).padStart(10, "0"),
    title: `Benchmark resource ${key}`,
    tags: ["bench", "peer", "zipf"],
    body: "",
  };
  const pad = Math.max(0, PAYLOAD_BYTES - JSON.stringify(skeleton).length);
  skeleton.body = "lorem ipsum dolor sit amet ".repeat(Math.ceil(pad / 27)).slice(0, pad);
  return skeleton;
}

export interface LoopResult {
  elapsedMs: number;
  /** One per operation, in trace order (not completion order). */
  latenciesMs: Float64Array;
  errors: number;
  firstError: string | undefined;
}

/**
 * Closed loop: `concurrency` workers each take the next op as soon as their previous one settles, so the offered
 * load adapts to the system and nothing queues outside it. `settle` runs inside the timed window: background
 * writes a system deferred still count against its throughput.
 */
export async function closedLoop(
  ops: readonly PeerOp[],
  concurrency: number,
  exec: (op: PeerOp) => Promise<unknown>,
  settle: () => Promise<void>,
): Promise<LoopResult> {
  const latenciesMs = new Float64Array(ops.length);
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < ops.length; i = next++) {
      const t0 = performance.now();
      try {
        await exec(ops[i] as PeerOp);
      } catch (error) {
        errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
      latenciesMs[i] = performance.now() - t0;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, ops.length) }, worker));
  await settle();
  return { elapsedMs: performance.now() - started, latenciesMs, errors, firstError };
}
