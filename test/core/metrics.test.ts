/** The per-isolate counters and key-registry deltas: pure logic with an injected clock. */
import { describe, expect, it } from "vitest";
import type { CacheStatusMember } from "../../core/engine/cache-status.ts";
import type { ReadObservation } from "../../core/engine/engine.ts";
import type { Envelope } from "../../core/envelope.ts";
import { KeyRegistryBuffer, type RegistryDelta } from "../../core/key-registry.ts";
import { MetricsRecorder, type MetricsPipeline } from "../../core/metrics.ts";
import type { ResolvedStrategy } from "../../core/types.ts";

const strategy = { id: "s1", resourceType: "WORKOUT", isDefault: false } as ResolvedStrategy;
const envelope = { storedAt: 0, ttlMs: 60_000, staleWhileRevalidateMs: 0, staleIfErrorMs: 0 } as Envelope;

function observation(status: CacheStatusMember[], source: ReadObservation["source"], over: Partial<ReadObservation> = {}): ReadObservation {
  return { key: "workout:00000000-0000-4000-8000-000000000001", strategy, source, status, stale: false, latencyMs: 3, bytes: 100, originLoaded: source === "origin", envelope, ...over };
}

/** Records what a flush sends; `fail` makes exec reject like an unreachable Redis. */
class FakeRedis {
  calls: string[] = [];
  execs = 0;
  fail = false;
  pipeline(): MetricsPipeline {
    return {
      hincrby: (k: string, f: string, n: number) => this.calls.push(`hincrby ${k} ${f} ${n}`),
      sadd: (k: string, ...m: string[]) => this.calls.push(`sadd ${k} ${m.join(" ")}`),
      expire: (k: string, s: number) => this.calls.push(`expire ${k} ${s}`),
      exec: async () => {
        this.execs++;
        if (this.fail) throw new Error("redis down");
        return [];
      },
    };
  }
}

describe("MetricsRecorder", () => {
  const hit: CacheStatusMember[] = [{ tier: "strata-l1", hit: true }];
  const miss: CacheStatusMember[] = [{ tier: "strata-l2", fwd: "miss" }, { tier: "strata-cdn", fwd: "miss" }, { tier: "strata-l1", fwd: "miss" }];

  it("counts L1 hits + misses = reads, and origin loads on L3_DATABASE", () => {
    let t = Date.parse("2026-11-21T10:59:59Z");
    const m = new MetricsRecorder({ now: () => t, keyPrefix: "p:" });
    m.record(observation(hit, "strata-l1"));
    m.record(observation(miss, "origin"));
    m.record(observation([{ tier: "strata-l1", fwd: "stale" }], "strata-l1", { stale: true }));
    const snap = m.snapshot();
    expect(snap["p:metrics:2026112110:L1_APPLICATION:s1"]).toMatchObject({ hits: 2, misses: 1, stale: 1 });
    expect(snap["p:metrics:2026112110:L3_DATABASE:s1"]).toMatchObject({ hits: 1, bytes: 100, lat_le_5: 1 });
    t += 2_000; // the next hour gets its own hash
    m.record(observation(hit, "strata-l1"));
    expect(m.snapshot()["p:metrics:2026112111:L1_APPLICATION:s1"]).toMatchObject({ hits: 1 });
  });

  it("flushes at most once per interval, in one pipeline, and keeps the counts when the flush fails", async () => {
    let t = 1_000_000;
    const m = new MetricsRecorder({ now: () => t, flushIntervalMs: 5_000 });
    const redis = new FakeRedis();
    m.record(observation(hit, "strata-l1"));
    expect(m.maybeFlush(redis)).toBeUndefined(); // not due yet
    t += 5_000;
    redis.fail = true;
    await m.maybeFlush(redis);
    expect(redis.execs).toBe(1);
    expect(Object.keys(m.snapshot())).toHaveLength(1); // merged back
    redis.fail = false;
    m.record(observation(hit, "strata-l1"));
    t += 5_000;
    redis.calls = [];
    await m.maybeFlush(redis);
    expect(redis.execs).toBe(2);
    expect(redis.calls.filter((c) => c.includes(" hits "))).toEqual([expect.stringMatching(/hits 2$/)]);
    expect(redis.calls.some((c) => c.startsWith("sadd "))).toBe(true);
    expect(m.snapshot()).toEqual({});
  });
});

describe("KeyRegistryBuffer", () => {
  it("folds reads into one delta per key and flushes in one batch when full", async () => {
    const batches: RegistryDelta[][] = [];
    const sink = { upsert: async (rows: readonly RegistryDelta[]) => void batches.push([...rows]) };
    const b = new KeyRegistryBuffer({ maxKeys: 2, flushIntervalMs: 60_000, now: () => 5_000 });
    b.record(observation(miss(), "origin"));
    b.record(observation([{ tier: "strata-l1", hit: true }], "strata-l1"));
    expect(b.maybeFlush(sink)).toBeUndefined(); // one key: neither full nor due
    b.record(observation([{ tier: "strata-l1", hit: true }], "strata-l1", { key: "workout:other" }));
    await b.maybeFlush(sink);
    expect(batches).toHaveLength(1);
    const first = batches[0]?.find((d) => d.cacheKey.endsWith("0001"));
    expect(first).toMatchObject({ hits: 1, misses: 1, resourceId: "00000000-0000-4000-8000-000000000001", dataSizeBytes: 100, expiresAt: 60_000 });
    expect(batches[0]?.find((d) => d.cacheKey === "workout:other")?.resourceId).toBeNull();
  });

  it("skips the default strategy (it has no row to reference) and failed reads", () => {
    const b = new KeyRegistryBuffer();
    b.record(observation([], "strata-l1", { strategy: { ...strategy, isDefault: true } }));
    b.record(observation([], "none", { error: "origin down" }));
    expect(b.size).toBe(0);
  });

  function miss(): CacheStatusMember[] {
    return [{ tier: "strata-l1", fwd: "miss" }];
  }
});
