/** @module Deterministic request-trace generators (seeded) for cache-policy tests and benchmarks. */

/** mulberry32: tiny, fast, seedable PRNG returning uniform [0, 1). Not for anything security-related. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Samples ranks 0..n-1 with P(rank k) ∝ 1/(k+1)^s by binary search over a precomputed CDF: O(n) setup,
 * O(log n) per sample, exact for any s (unlike rejection-sampling approximations).
 */
export function zipfSampler(n: number, s: number, random: () => number): () => number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`zipf needs n >= 1, got ${n}`);
  const cdf = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) {
    total += 1 / Math.pow(k + 1, s);
    cdf[k] = total;
  }
  return () => {
    const target = random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cdf[mid] as number) < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

export interface ZipfTraceOptions {
  /** Distinct keys in the popular population. */
  keys: number;
  requests: number;
  /** Skew; ~0.9–1.0 resembles web/CDN traffic. */
  s: number;
  seed: number;
  /** Key prefix; default "k". */
  prefix?: string;
}

/**
 * Key names are fixed width so every key has the same length (and so the same per-entry overhead in the store).
 * Ranks are scattered over names by a seeded shuffle, so the hottest key is not always "k00000".
 */
function keyNamer(keys: number, prefix: string, random: () => number): (rank: number) => string {
  const width = String(Math.max(0, keys - 1)).length;
  const names = Array.from({ length: keys }, (_, i) => `${prefix}${String(i).padStart(width, "0")}`);
  for (let i = names.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = names[i] as string;
    names[i] = names[j] as string;
    names[j] = swap;
  }
  return (rank) => names[rank] as string;
}

export function zipfTrace(options: ZipfTraceOptions): string[] {
  const random = mulberry32(options.seed);
  const name = keyNamer(options.keys, options.prefix ?? "k", random);
  const sample = zipfSampler(options.keys, options.s, random);
  return Array.from({ length: options.requests }, () => name(sample()));
}

export interface ScanMixedTraceOptions extends ZipfTraceOptions {
  /** Popular (Zipf) requests between two scans. */
  scanEvery: number;
  /** Keys per scan; every scanned key is unique across the whole trace (a one-hit wonder). */
  scanLength: number;
}

/**
 * A Zipf workload interrupted by scans of never-repeated keys — crawlers, cache-busting query strings, bulk
 * exports. Recency-only policies flush the popular set on every scan; frequency-aware admission should not.
 * `requests` counts both kinds.
 */
export function scanMixedTrace(options: ScanMixedTraceOptions): string[] {
  const random = mulberry32(options.seed);
  const prefix = options.prefix ?? "k";
  const name = keyNamer(options.keys, prefix, random);
  const sample = zipfSampler(options.keys, options.s, random);
  const trace: string[] = [];
  let scanned = 0;
  while (trace.length < options.requests) {
    for (let i = 0; i < options.scanEvery && trace.length < options.requests; i++) trace.push(name(sample()));
    for (let i = 0; i < options.scanLength && trace.length < options.requests; i++) trace.push(`${prefix}scan${scanned++}`);
  }
  return trace;
}

export interface ShiftingTraceOptions extends ZipfTraceOptions {
  /** The popular set changes this many times over the trace (phases = shifts + 1). */
  shifts: number;
  /** Fraction of the key space each shift moves the ranking by (0..1]; default 1 = an entirely new key set. */
  turnover?: number;
}

/**
 * Zipf over a working set that moves: each phase slides the ranking by `turnover * keys`, so the previous phase's
 * hottest keys leave the workload and cooler ones take over the top ranks. Tests whether a policy forgets stale
 * popularity (LFU without aging does not).
 */
export function shiftingTrace(options: ShiftingTraceOptions): string[] {
  const random = mulberry32(options.seed);
  const prefix = options.prefix ?? "k";
  const sample = zipfSampler(options.keys, options.s, random);
  const phases = options.shifts + 1;
  const offsetPerPhase = Math.max(1, Math.round(options.keys * (options.turnover ?? 1)));
  const width = String(options.keys * phases).length;
  const perPhase = Math.ceil(options.requests / phases);
  const trace: string[] = [];
  for (let phase = 0; phase < phases; phase++) {
    const offset = phase * offsetPerPhase;
    for (let i = 0; i < perPhase && trace.length < options.requests; i++) {
      trace.push(`${prefix}${String(offset + sample()).padStart(width, "0")}`);
    }
  }
  return trace;
}

export interface LoopTraceOptions {
  /** Distinct keys in the loop; a cache smaller than this gets no hits under LRU or FIFO. */
  length: number;
  requests: number;
  /** Key prefix; default "loop". */
  prefix?: string;
}

/**
 * A cyclic scan k0, k1, …, k(L-1), k0, … — batch jobs re-reading a table, a cron walking every tenant. Every key
 * recurs exactly L requests later, so recency is the worst possible guide: LRU and FIFO always evict the key needed
 * next. Deterministic; there is nothing to seed.
 */
export function loopTrace(options: LoopTraceOptions): string[] {
  if (!Number.isInteger(options.length) || options.length < 1) throw new RangeError(`loop needs length >= 1, got ${options.length}`);
  const names = fixedWidthNames(options.length, options.prefix ?? "loop");
  return Array.from({ length: options.requests }, (_, i) => names[i % options.length] as string);
}

export interface RedrawnZipfTraceOptions extends ZipfTraceOptions {
  /** Requests per phase; each phase draws a fresh, independent assignment of Zipf ranks to the same keys. */
  phaseLength: number;
}

/**
 * Zipf over a fixed key set whose popularity is re-drawn every `phaseLength` requests: a fresh seeded random
 * permutation decides which key holds which rank. Unlike `shiftingTrace`, yesterday's hot keys are not retired but
 * scattered over the whole ranking, mostly into the cold tail — a news front page, a daily sale. Frequency counts
 * that never decay keep serving the old ranking; recency adapts within a few thousand requests.
 */
export function redrawnZipfTrace(options: RedrawnZipfTraceOptions): string[] {
  if (!Number.isInteger(options.phaseLength) || options.phaseLength < 1) {
    throw new RangeError(`phaseLength must be an integer >= 1, got ${options.phaseLength}`);
  }
  const random = mulberry32(options.seed);
  const names = fixedWidthNames(options.keys, options.prefix ?? "k");
  const sample = zipfSampler(options.keys, options.s, random);
  const byRank = new Uint32Array(options.keys);
  const trace: string[] = new Array<string>(options.requests);
  for (let i = 0; i < options.requests; i++) {
    if (i % options.phaseLength === 0) shuffleRanks(byRank, random);
    trace[i] = names[byRank[sample()] as number] as string;
  }
  return trace;
}

function fixedWidthNames(count: number, prefix: string): string[] {
  const width = String(Math.max(0, count - 1)).length;
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(width, "0")}`);
}

/** Fisher–Yates from the identity, so each phase's ranking is independent of the previous one. */
function shuffleRanks(byRank: Uint32Array, random: () => number): void {
  for (let i = 0; i < byRank.length; i++) byRank[i] = i;
  for (let i = byRank.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = byRank[i] as number;
    byRank[i] = byRank[j] as number;
    byRank[j] = swap;
  }
}
