import { describe, expect, it } from "vitest";
import { entryCost } from "../../core/memory/store.ts";
import type { TierEntry } from "../../core/tier.ts";
import { MemoryTier } from "../../core/tiers/memory.ts";
import { defineTierSuite } from "../tier-suite.ts";

function manualClock(start = 1_700_000_000_000): { now(): number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

defineTierSuite("MemoryTier (LRU, injected clock)", async () => {
  const clock = manualClock();
  const tier = new MemoryTier({ maxSizeBytes: 64 * 1024 * 1024, policy: "LRU", now: clock.now });
  return { tier, clock, cleanup: async () => tier.clear() };
});

// The real-time path of the suite, over a policy with its own admission logic.
defineTierSuite(
  "MemoryTier (CUSTOM / W-TinyLFU, real clock)",
  async () => {
    const tier = new MemoryTier({ maxSizeBytes: 64 * 1024 * 1024, policy: "CUSTOM" });
    return { tier, cleanup: async () => tier.clear() };
  },
  { realExpiryMs: 150 },
);

describe("MemoryTier specifics", () => {
  const entry = (size: number, expiresAt = Number.MAX_SAFE_INTEGER): TierEntry => ({ bytes: new Uint8Array(size), expiresAt });

  it("has the L1 cache identifier", () => {
    expect(new MemoryTier({ maxSizeBytes: 1024, policy: "LRU" }).id).toBe("strata-l1");
  });

  it("charges each entry its byte length plus key and overhead", () => {
    const tier = new MemoryTier({ maxSizeBytes: 1 << 20, policy: "LRU" });
    tier.setSync("k", entry(1000));
    expect(tier.store.bytes).toBe(entryCost("k", 1000));
  });

  it("evicts by its policy when the byte budget is exceeded", () => {
    const per = entryCost("a", 100);
    const tier = new MemoryTier({ maxSizeBytes: per * 2, policy: "LRU" });
    tier.setSync("a", entry(100));
    tier.setSync("b", entry(100));
    tier.getSync("a");
    tier.setSync("c", entry(100));
    expect(tier.getSync("a")).toBeDefined();
    expect(tier.getSync("b")).toBeUndefined();
    expect(tier.getSync("c")).toBeDefined();
    expect(tier.store.stats().evictions).toBe(1);
  });

  it("refuses a value larger than the whole budget and drops the older one", () => {
    const tier = new MemoryTier({ maxSizeBytes: 1000, policy: "LRU" });
    expect(tier.setSync("k", entry(10))).toBe(true);
    expect(tier.setSync("k", entry(5000))).toBe(false);
    expect(tier.getSync("k")).toBeUndefined();
  });

  it("sync and async faces agree, and a hit allocates no new entry", async () => {
    const tier = new MemoryTier({ maxSizeBytes: 1 << 20, policy: "LFU" });
    await tier.set("k", entry(3));
    const sync = tier.getSync("k");
    expect(sync).toBeDefined();
    expect(await tier.get("k")).toBe(sync);
    expect(tier.deleteSync("k")).toBe(true);
    expect(tier.deleteSync("k")).toBe(false);
  });

  it("stores its own copy of the entry object, so mutating the caller's object changes nothing", async () => {
    const clock = manualClock();
    const tier = new MemoryTier({ maxSizeBytes: 1 << 20, policy: "LRU", now: clock.now });
    const written = { bytes: Uint8Array.of(1), expiresAt: clock.now() + 1000 };
    await tier.set("k", written);
    written.expiresAt = clock.now() + 5;
    written.bytes = Uint8Array.of(2);
    expect(await tier.get("k")).toEqual({ bytes: Uint8Array.of(1), expiresAt: clock.now() + 1000 });
  });

  it("turns a synchronous failure into a rejection, as an async tier would", async () => {
    const tier = new MemoryTier({ maxSizeBytes: 1 << 20, policy: "LRU" });
    await expect(tier.set("k", { bytes: new Uint8Array(1), expiresAt: Number.NaN })).rejects.toThrow(RangeError);
  });

  it("clear() empties it and keeps the stats", async () => {
    const tier = new MemoryTier({ maxSizeBytes: 1 << 20, policy: "LRU" });
    await tier.set("a", entry(1));
    await tier.get("a");
    tier.clear();
    expect(tier.store.size).toBe(0);
    expect(await tier.get("a")).toBeUndefined();
    expect(tier.store.stats()).toMatchObject({ hits: 1, misses: 1, entries: 0, bytes: 0 });
  });
});
