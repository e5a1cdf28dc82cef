import { describe, expect, it } from "vitest";
import { beladyHits, internTrace, nextUses, perfectFrequencyBound } from "../../bench/lib/belady.ts";
import { EVICTION_POLICIES } from "../../core/memory/policies/index.ts";
import { entryCost, MemoryStore, type EvictionPolicyName } from "../../core/memory/store.ts";
import { loopTrace, mulberry32, redrawnZipfTrace, zipfTrace } from "../../core/memory/trace.ts";

const ENTRY = 1_000;

/** Read-through replay with every entry costing exactly ENTRY bytes; returns hits. */
function replay(policy: EvictionPolicyName, trace: readonly string[], slots: number): number {
  const store = new MemoryStore<number>({ maxSizeBytes: slots * ENTRY, policy, random: mulberry32(3) });
  let hits = 0;
  for (const key of trace) {
    if (store.get(key) !== undefined) hits++;
    else store.set(key, 1, ENTRY - entryCost(key, 0), Infinity);
  }
  return hits;
}

const opt = (trace: readonly string[], capacity: number): number => beladyHits(internTrace(trace), capacity);

/** Keys ordered by how often they occur in `part`, most frequent first. */
function hottest(part: readonly string[], n: number): string[] {
  const counts = new Map<string, number>();
  for (const key of part) counts.set(key, (counts.get(key) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([key]) => key);
}

/** Most hits any offline policy (bypass allowed) can get: tries every choice at every miss, memoised on the cache set. */
function bruteForceHits(ids: Int32Array, capacity: number): number {
  const memo = new Map<string, number>();
  const best = (i: number, cached: number): number => {
    if (i === ids.length) return 0;
    const memoKey = `${i}:${cached}`;
    const known = memo.get(memoKey);
    if (known !== undefined) return known;
    const bit = 1 << (ids[i] as number);
    let result: number;
    if (cached & bit) {
      result = 1 + best(i + 1, cached);
    } else {
      result = best(i + 1, cached); // bypass
      if (popcount(cached) < capacity) result = Math.max(result, best(i + 1, cached | bit));
      else {
        for (let other = cached; other !== 0; other &= other - 1) {
          const victim = other & -other;
          result = Math.max(result, best(i + 1, (cached & ~victim) | bit));
        }
      }
    }
    memo.set(memoKey, result);
    return result;
  };
  return best(0, 0);
}

function popcount(mask: number): number {
  let count = 0;
  for (let m = mask; m !== 0; m &= m - 1) count++;
  return count;
}

describe("Belady OPT", () => {
  it("finds next uses in one backward pass", () => {
    const interned = internTrace(["a", "b", "a", "c", "b", "a"]);
    expect([...interned.ids]).toEqual([0, 1, 0, 2, 1, 0]);
    expect(interned.distinct).toBe(3);
    expect([...nextUses(interned)]).toEqual([2, 4, 5, 6, 6, 6]);
  });

  it("matches a hand-computed trace", () => {
    // Capacity 2, requests 0..9 = a b c a b d a b c b:
    //  0 a miss {a}; 1 b miss {a b}; 2 c miss: a (next at 3) and b (4) are both needed before c (8), so bypass c;
    //  3 a hit; 4 b hit; 5 d miss, never used again: bypass; 6 a hit; 7 b hit; 8 c miss, never used again: bypass;
    //  9 b hit. Hits: 5.
    const trace = ["a", "b", "c", "a", "b", "d", "a", "b", "c", "b"];
    expect(opt(trace, 2)).toBe(5);
    // Capacity 1: keep a (hits at 3 and 6, bypassing b c b d in between), then b from 7 (hit at 9). Hits: 3.
    expect(opt(trace, 1)).toBe(3);
    // Capacity 4 holds every key: everything after the first sighting hits (10 requests, 4 distinct).
    expect(opt(trace, 4)).toBe(6);
    expect(opt(trace, 0)).toBe(0);
  });

  it("evicts the key needed furthest in the future, not the least recent", () => {
    // Capacity 3 over a b c d, then a b c: on d's miss OPT evicts nobody useful (bypass d), keeping a, b and c.
    expect(opt(["a", "b", "c", "d", "a", "b", "c"], 3)).toBe(3);
    // LRU on the same trace evicts a for d, then misses everything.
    expect(replay("LRU", ["a", "b", "c", "d", "a", "b", "c"], 3)).toBe(0);
  });

  it("is an upper bound for every policy and for the perfect-frequency figure on random traces", () => {
    for (const [seed, s, slots] of [
      [1, 0.8, 20],
      [2, 1.0, 50],
      [3, 1.2, 200],
    ] as const) {
      const trace = zipfTrace({ keys: 2_000, requests: 20_000, s, seed });
      const best = opt(trace, slots);
      for (const policy of EVICTION_POLICIES) expect(replay(policy, trace, slots), `${policy} s=${s}`).toBeLessThanOrEqual(best);
      // OPT beats even the expected hits of a cache that knew the distribution (up to sampling noise).
      expect(best / trace.length).toBeGreaterThan(perfectFrequencyBound(2_000, s, slots));
    }
    // Uniform random ids, where OPT's edge over online policies is largest.
    const random = mulberry32(9);
    const uniform = Array.from({ length: 5_000 }, () => `u${Math.floor(random() * 300)}`);
    const best = opt(uniform, 30);
    for (const policy of EVICTION_POLICIES) expect(replay(policy, uniform, 30), policy).toBeLessThanOrEqual(best);
    expect(best).toBeGreaterThan(replay("LRU", uniform, 30));
  });

  it("equals an exhaustive search over every admission and eviction choice on small traces", () => {
    const random = mulberry32(17);
    for (let round = 0; round < 200; round++) {
      const keys = 2 + Math.floor(random() * 4);
      const capacity = 1 + Math.floor(random() * 3);
      const trace = Array.from({ length: 4 + Math.floor(random() * 11) }, () => `k${Math.floor(random() * keys)}`);
      expect(opt(trace, capacity), trace.join(" ")).toBe(bruteForceHits(internTrace(trace).ids, capacity));
    }
  });

  it("rejects a next-use table from another trace", () => {
    const interned = internTrace(["a", "b"]);
    expect(() => beladyHits(interned, 1, new Int32Array(3))).toThrow(RangeError);
    expect(() => beladyHits(interned, -1)).toThrow(RangeError);
  });
});

describe("perfect-frequency bound", () => {
  it("is the probability mass of the top-C Zipf ranks", () => {
    expect(perfectFrequencyBound(4, 1, 1)).toBeCloseTo(1 / (1 + 1 / 2 + 1 / 3 + 1 / 4), 12);
    expect(perfectFrequencyBound(4, 1, 2)).toBeCloseTo((1 + 1 / 2) / (1 + 1 / 2 + 1 / 3 + 1 / 4), 12);
    expect(perfectFrequencyBound(4, 0, 3)).toBeCloseTo(0.75, 12);
    expect(perfectFrequencyBound(4, 1, 4)).toBeCloseTo(1, 12);
    expect(perfectFrequencyBound(4, 1, 10)).toBeCloseTo(1, 12);
    expect(perfectFrequencyBound(4, 1, 0)).toBe(0);
  });

  it("reproduces the issue's figure: ~47% for Zipf 0.9, 100k keys, 1% cache", () => {
    expect(perfectFrequencyBound(100_000, 0.9, 1_000)).toBeCloseTo(0.474, 2);
  });

  it("agrees with the observed share of the top keys on a long trace", () => {
    const trace = zipfTrace({ keys: 1_000, requests: 200_000, s: 1, seed: 4 });
    const top = new Set(hottest(trace, 50));
    const share = trace.filter((key) => top.has(key)).length / trace.length;
    expect(share).toBeCloseTo(perfectFrequencyBound(1_000, 1, 50), 1);
  });
});

describe("loop trace", () => {
  it("cycles over L distinct fixed-width keys in order", () => {
    const trace = loopTrace({ length: 12, requests: 30 });
    expect(trace).toHaveLength(30);
    expect(new Set(trace).size).toBe(12);
    expect(trace.slice(0, 3)).toEqual(["loop00", "loop01", "loop02"]);
    for (let i = 12; i < 30; i++) expect(trace[i]).toBe(trace[i - 12]);
    expect(new Set(trace.map((key) => key.length)).size).toBe(1);
    expect(loopTrace({ length: 3, requests: 4, prefix: "x" })).toEqual(["x0", "x1", "x2", "x0"]);
    expect(() => loopTrace({ length: 0, requests: 1 })).toThrow(RangeError);
  });

  it("gives LRU and FIFO no hits when longer than the cache, while OPT keeps about C/L", () => {
    const trace = loopTrace({ length: 100, requests: 10_000 });
    expect(replay("LRU", trace, 99)).toBe(0);
    expect(replay("FIFO", trace, 60)).toBe(0);
    const best = opt(trace, 50) / trace.length;
    expect(best).toBeGreaterThan(0.45);
    expect(best).toBeLessThan(0.5);
  });
});

describe("redrawn shifting trace", () => {
  const options = { keys: 1_000, requests: 40_000, s: 1, seed: 21, phaseLength: 10_000 };

  it("is deterministic per seed and draws from one fixed key set", () => {
    const trace = redrawnZipfTrace(options);
    expect(trace).toHaveLength(40_000);
    expect(redrawnZipfTrace(options)).toEqual(trace);
    expect(redrawnZipfTrace({ ...options, seed: 22 })).not.toEqual(trace);
    const keys = new Set(trace);
    expect(keys.size).toBeLessThanOrEqual(1_000);
    for (const key of keys) expect(key).toMatch(/^k\d{3}$/);
  });

  it("re-draws the hottest keys every phase, and keeps them within a phase", () => {
    const trace = redrawnZipfTrace(options);
    const phases = [0, 1, 2, 3].map((p) => trace.slice(p * 10_000, (p + 1) * 10_000));
    const tops = phases.map((phase) => new Set(hottest(phase, 10)));
    for (let p = 1; p < phases.length; p++) {
      const overlap = [...(tops[p] as Set<string>)].filter((key) => (tops[p - 1] as Set<string>).has(key)).length;
      expect(overlap, `phase ${p}`).toBeLessThanOrEqual(2); // 10 of 1,000 keys: a chance overlap is rare
    }
    // The two halves of one phase agree on most of their hottest keys.
    const firstHalf = new Set(hottest((phases[0] as string[]).slice(0, 5_000), 10));
    const secondHalf = hottest((phases[0] as string[]).slice(5_000), 10);
    expect(secondHalf.filter((key) => firstHalf.has(key)).length).toBeGreaterThanOrEqual(6);
  });

  it("is where frequency without aging loses to LRU", () => {
    const trace = redrawnZipfTrace({ ...options, requests: 100_000 });
    expect(replay("LFU", trace, 50)).toBeLessThan(replay("LRU", trace, 50));
  });

  it("validates phaseLength", () => {
    expect(() => redrawnZipfTrace({ ...options, phaseLength: 0 })).toThrow(RangeError);
  });
});
