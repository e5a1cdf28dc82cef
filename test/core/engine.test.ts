/**
 * The cache engine's read path with an injected clock: isolate memory is the real MemoryTier,
 * L2 is the real RedisTier over the Upstash bridge and real Redis. The origin is a counting
 * loader function (the engine's contract with the origin is a function; the Postgres-backed one
 * is exercised in the workerd suites).
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CircuitBreaker } from "../../core/circuit-breaker.ts";
import { parseCacheStatus, formatCacheStatus } from "../../core/engine/cache-status.ts";
import { CacheEngine, type LoadedValue, type ReadResult, type RequestContext } from "../../core/engine/engine.ts";
import { MemoryTier } from "../../core/tiers/memory.ts";
import { RedisTier } from "../../core/tiers/redis.ts";
import { DependencyError } from "../../core/timeout.ts";
import type { ResolvedStrategy } from "../../core/types.ts";

const SECOND = 1000;
const prefix = `test:engine:${randomBytes(5).toString("hex")}:`;
let upstash: Redis;
let blackhole: Server;
const held = new Set<Socket>();

beforeAll(async () => {
  upstash = new Redis({ url: inject("upstashUrl"), token: inject("upstashToken"), enableTelemetry: false, responseEncoding: false });
  blackhole = createServer((s) => {
    held.add(s);
    s.on("error", () => undefined);
  });
  await new Promise<void>((r) => blackhole.listen(0, "127.0.0.1", r));
});

afterAll(async () => {
  for (const s of held) s.destroy();
  await new Promise<void>((r) => blackhole.close(() => r()));
  let cursor = "0";
  do {
    const [next, keys] = await upstash.scan(cursor, { match: `${prefix}*`, count: 500 });
    cursor = String(next);
    if (keys.length > 0) await upstash.del(...keys);
  } while (cursor !== "0");
});

function strategy(over: Partial<ResolvedStrategy> = {}): ResolvedStrategy {
  return {
    id: "00000000-0000-4000-8000-000000000001",
    name: "test",
    resourceType: "WORKOUT",
    keyPattern: "workout:{id}",
    layerId: "layer",
    behavior: "READ_THROUGH",
    invalidation: "TTL",
    ttlMs: 10 * SECOND,
    staleWhileRevalidateMs: 30 * SECOND,
    staleIfErrorMs: 60 * SECOND,
    negativeTtlMs: 5 * SECOND,
    refreshAheadFraction: 0.8,
    compression: false,
    compressionThresholdBytes: 1024,
    encryption: false,
    isDefault: false,
    ...over,
  };
}

class Clock {
  t = Date.parse("2026-11-21T12:00:00Z");
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/** Collects waitUntil work so a test can wait for background refreshes and writes. */
class Ctx implements RequestContext {
  readonly pending: Promise<unknown>[] = [];
  waitUntil(work: Promise<unknown>): void {
    this.pending.push(work);
  }
  async settle(): Promise<void> {
    while (this.pending.length > 0) await Promise.allSettled(this.pending.splice(0));
  }
}

class Origin {
  loads = 0;
  version = 1;
  fail = false;
  exists = true;
  delayMs = 0;
  load = async (): Promise<LoadedValue | null> => {
    this.loads++;
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.fail) throw new Error("origin down");
    if (!this.exists) return null;
    return { value: { v: this.version }, version: String(this.version), tags: ["t"] };
  };
}

let keyCounter = 0;
const freshKey = (): string => `workout:${keyCounter++}-${randomBytes(4).toString("hex")}`;

function engineWith(clock: Clock, opts: { l2?: RedisTier | null; breaker?: CircuitBreaker } = {}): CacheEngine {
  const l2 = opts.l2 === null ? undefined : (opts.l2 ?? new RedisTier({ client: upstash, keyPrefix: prefix, timeoutMs: 2000, now: clock.now }));
  return new CacheEngine({
    l1: new MemoryTier({ maxSizeBytes: 1 << 20, policy: "LRU", now: clock.now }),
    l2,
    l2Breaker: opts.breaker,
    now: clock.now,
    leaseWaitMs: 2000,
  });
}

const member = (r: ReadResult, tier: string) => parseCacheStatus(formatCacheStatus(r.status)).find((m) => m.tier === tier)?.params;

describe("CacheEngine read path", () => {
  it("loads once, then serves from memory until the TTL, then serves stale once while one refresh runs", async () => {
    const clock = new Clock();
    const engine = engineWith(clock);
    const origin = new Origin();
    const key = freshKey();
    const req = { key, strategy: strategy(), load: origin.load };
    const ctx = new Ctx();

    const first = await engine.read(req, ctx);
    expect(first.source).toBe("origin");
    expect(member(first, "strata-l2")).toMatchObject({ fwd: "miss", stored: true });
    await ctx.settle();
    clock.advance(9 * SECOND);
    const hit = await engine.read(req, ctx);
    expect(hit.source).toBe("strata-l1");
    expect(member(hit, "strata-l1")).toMatchObject({ hit: true, ttl: "1" });

    // Past the TTL, inside stale-while-revalidate: five readers get the stale value at once.
    origin.version = 2;
    clock.advance(2 * SECOND);
    const stale = await Promise.all([1, 2, 3, 4, 5].map(() => engine.read(req, ctx)));
    for (const r of stale) {
      expect(r.stale).toBe(true);
      expect(member(r, "strata-l1")).toMatchObject({ fwd: "stale" });
      expect((r.envelope?.value as { v: number }).v).toBe(1);
    }
    await ctx.settle();
    expect(origin.loads).toBe(2); // exactly one background refresh
    const fresh = await engine.read(req, ctx);
    expect(fresh.stale).toBe(false);
    expect((fresh.envelope?.value as { v: number }).v).toBe(2);
    expect(member(fresh, "strata-l1")).toMatchObject({ hit: true });
  });

  it("refreshes ahead of expiry for REFRESH_AHEAD strategies, once", async () => {
    const clock = new Clock();
    const engine = engineWith(clock);
    const origin = new Origin();
    const req = { key: freshKey(), strategy: strategy({ behavior: "REFRESH_AHEAD", refreshAheadFraction: 0.5 }), load: origin.load };
    const ctx = new Ctx();
    await engine.read(req, ctx);
    await ctx.settle();
    clock.advance(4 * SECOND);
    await engine.read(req, ctx);
    await ctx.settle();
    expect(origin.loads).toBe(1); // before the refresh point
    clock.advance(2 * SECOND);
    origin.version = 7;
    const [a, b] = await Promise.all([engine.read(req, ctx), engine.read(req, ctx)]);
    expect(a.stale).toBe(false);
    expect(member(a, "strata-l1")).toMatchObject({ hit: true });
    expect(b.stale).toBe(false);
    await ctx.settle();
    expect(origin.loads).toBe(2);
    expect(((await engine.read(req, ctx)).envelope?.value as { v: number }).v).toBe(7);
  });

  it("serves stale within the stale-if-error grace when the origin fails, and 503s after it", async () => {
    const clock = new Clock();
    const engine = engineWith(clock, { l2: null });
    const origin = new Origin();
    const req = { key: freshKey(), strategy: strategy({ staleWhileRevalidateMs: 0 }), load: origin.load };
    const ctx = new Ctx();
    await engine.read(req, ctx);
    origin.fail = true;
    clock.advance(30 * SECOND); // past ttl (10 s), within grace (60 s)
    const r = await engine.read(req, ctx);
    expect(r.stale).toBe(true);
    expect(r.source).toBe("strata-l1");
    expect(member(r, "strata-l1")).toMatchObject({ fwd: "stale", detail: "origin-error" });
    clock.advance(60 * SECOND); // past the grace
    await expect(engine.read(req, ctx)).rejects.toBeInstanceOf(DependencyError);
  });

  it("remembers a missing key for the negative TTL", async () => {
    const clock = new Clock();
    const engine = engineWith(clock);
    const origin = new Origin();
    origin.exists = false;
    const req = { key: freshKey(), strategy: strategy(), load: origin.load };
    const ctx = new Ctx();
    expect((await engine.read(req, ctx)).envelope?.negative).toBe(true);
    expect((await engine.read(req, ctx)).envelope?.negative).toBe(true);
    expect(origin.loads).toBe(1);
    await ctx.settle();
    clock.advance(6 * SECOND);
    origin.exists = true;
    const after = await engine.read(req, ctx);
    expect(after.envelope?.negative).toBe(false);
    expect(origin.loads).toBe(2);
  });

  it("expires entries for good once every window has passed", async () => {
    const clock = new Clock();
    const engine = engineWith(clock, { l2: null });
    const origin = new Origin();
    const req = { key: freshKey(), strategy: strategy(), load: origin.load };
    const ctx = new Ctx();
    await engine.read(req, ctx);
    clock.advance(71 * SECOND); // ttl 10 + max(swr 30, grace 60)
    const r = await engine.read(req, ctx);
    expect(r.source).toBe("origin");
    expect(member(r, "strata-l1")).toMatchObject({ fwd: "miss" });
    expect(origin.loads).toBe(2);
  });
});

describe("stampede protection", () => {
  it("200 concurrent reads of one cold key in one isolate cost one origin load", async () => {
    const clock = new Clock();
    const engine = engineWith(clock);
    const origin = new Origin();
    origin.delayMs = 50;
    const req = { key: freshKey(), strategy: strategy(), load: origin.load };
    const ctx = new Ctx();
    const results = await Promise.all(Array.from({ length: 200 }, () => engine.read(req, ctx)));
    expect(origin.loads).toBe(1);
    expect(results.filter((r) => member(r, "strata-l1")?.collapsed === true)).toHaveLength(199);
    expect(new Set(results.map((r) => (r.envelope?.value as { v: number }).v))).toEqual(new Set([1]));
  });

  it("two engines (two isolates) sharing Redis cost one origin load: the lease loser waits for L2", async () => {
    const clock = new Clock();
    const a = engineWith(clock);
    const b = engineWith(clock);
    const origin = new Origin();
    origin.delayMs = 150;
    const req = { key: freshKey(), strategy: strategy(), load: origin.load };
    const ctxA = new Ctx();
    const ctxB = new Ctx();
    // The winner's L2 write runs in waitUntil: let it run as soon as it is scheduled.
    const flushA = setInterval(() => void ctxA.settle(), 5);
    try {
      const [ra, rb] = await Promise.all([a.read(req, ctxA), b.read(req, ctxB)]);
      expect(origin.loads).toBe(1);
      const loser = ra.source === "origin" ? rb : ra;
      expect(loser.source).toBe("strata-l2");
      expect(member(loser, "strata-l2")).toMatchObject({ hit: true, collapsed: true });
    } finally {
      clearInterval(flushA);
      await ctxA.settle();
      await ctxB.settle();
    }
  });
});

describe("Redis failures", () => {
  it("bypasses a hung Redis within the timeout, then opens the breaker and stops calling it", async () => {
    const clock = new Clock();
    const port = (blackhole.address() as { port: number }).port;
    const hung = new Redis({ url: `http://127.0.0.1:${port}`, token: "x", enableTelemetry: false, retry: false });
    const breaker = new CircuitBreaker({ dependency: "redis", failureThreshold: 2, openMs: 60 * SECOND, now: clock.now });
    const engine = engineWith(clock, { l2: new RedisTier({ client: hung, keyPrefix: prefix, timeoutMs: 200 }), breaker });
    const origin = new Origin();
    const ctx = new Ctx();
    const timings: number[] = [];
    for (let i = 0; i < 4; i++) {
      const started = performance.now();
      const r = await engine.read({ key: freshKey(), strategy: strategy(), load: origin.load }, ctx);
      timings.push(performance.now() - started);
      expect(r.source).toBe("origin");
      expect(member(r, "strata-l2")).toMatchObject({ fwd: "bypass", detail: i < 2 ? "error" : "circuit-open" });
    }
    expect(Math.max(...timings)).toBeLessThan(1_000); // each bounded by the 200 ms Redis timeout
    expect(timings[3]).toBeLessThan(100); // open breaker: no remote call at all
    expect(breaker.state).toBe("open");
  });
});
