/**
 * The epoch store and a reader's view of it, against real Redis through the Upstash bridge and the
 * official client: bumps are atomic and idempotent by id, a view loads, follows the journal,
 * reloads after a gap, and judges entries hard, soft (inside the SWR window) or valid.
 */
import { Redis } from "@upstash/redis";
import { afterAll, beforeEach, describe, expect, inject, it, vi } from "vitest";
import type { Envelope } from "../../core/envelope.ts";
import { EpochStore, scopeOf } from "../../core/invalidation/epochs.ts";
import { EpochView, STAMP_FIELD } from "../../core/invalidation/view.ts";
import type { ResolvedStrategy } from "../../core/types.ts";

const redis = new Redis({ url: inject("upstashUrl"), token: inject("upstashToken"), enableTelemetry: false });
let prefix = "";
let store: EpochStore;

beforeEach(() => {
  prefix = `strata:test:epochs:${crypto.randomUUID()}:`;
  store = new EpochStore({ client: redis, keyPrefix: prefix });
});

afterAll(async () => {
  const keys = await redis.keys("strata:test:epochs:*");
  if (keys.length > 0) await redis.del(...keys);
});

const strategy = (over: Partial<ResolvedStrategy> = {}): ResolvedStrategy => ({
  id: "strat-1",
  name: "s",
  resourceType: "WORKOUT",
  keyPattern: "workout:{id}",
  layerId: "layer-1",
  behavior: "READ_THROUGH",
  invalidation: "EVENT_DRIVEN",
  ttlMs: 60_000,
  staleWhileRevalidateMs: 10_000,
  staleIfErrorMs: 0,
  negativeTtlMs: 1000,
  refreshAheadFraction: 0.8,
  compression: false,
  compressionThresholdBytes: 1024,
  encryption: false,
  isDefault: false,
  ...over,
});

const envelope = (stamp: number, tags: string[] = ["t1"]): Envelope => ({
  value: 1,
  negative: false,
  version: "1",
  strategyId: "strat-1",
  storedAt: Date.now(),
  ttlMs: 60_000,
  staleWhileRevalidateMs: 10_000,
  staleIfErrorMs: 0,
  tags,
  epochs: { [STAMP_FIELD]: stamp },
});

describe("EpochStore", () => {
  it("numbers bumps without gaps and records each scope's last and last hard bump", async () => {
    const a = await store.bump([scopeOf.tag("t1"), scopeOf.key("k1")], "HARD");
    const b = await store.bump([scopeOf.tag("t1")], "SOFT");
    expect([a.seq, b.seq]).toEqual([1, 2]);
    const snap = await store.load();
    expect(snap.seq).toBe(2);
    expect(snap.scopes.get("t:t1")).toMatchObject({ seq: 2, hard: 1 });
    expect(snap.scopes.get("k:k1")).toMatchObject({ seq: 1, hard: 1 });
    expect(snap.journalId).not.toBe("");
  });

  it("applies a bump with an idempotency id once", async () => {
    const first = await store.bump([scopeOf.tag("x")], "HARD", "inv-1:scopes");
    const again = await store.bump([scopeOf.tag("x")], "HARD", "inv-1:scopes");
    expect(first).toEqual({ applied: true, seq: 1 });
    expect(again).toEqual({ applied: false, seq: 1 });
    expect((await store.follow("")).entries).toHaveLength(1);
  });

  it("refuses what is not a scope, and more than a bump may carry", async () => {
    await expect(store.bump(["nope"], "HARD")).rejects.toThrow(RangeError);
    await expect(store.bump([], "HARD")).rejects.toThrow(RangeError);
    await expect(store.bump(Array.from({ length: 501 }, (_, i) => scopeOf.key(`k${i}`)), "HARD")).rejects.toThrow(RangeError);
  });

  it("follows the journal after a given id, with the scopes of each bump", async () => {
    await store.bump([scopeOf.tag("a")], "HARD");
    const mid = (await store.load()).journalId;
    await store.bump([scopeOf.strategy("s1"), scopeOf.layer("l1")], "SOFT");
    const { seq, entries } = await store.follow(mid);
    expect(seq).toBe(2);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ seq: 2, mode: "SOFT", scopes: ["s:s1", "l:l1"] });
  });
});

describe("EpochView", () => {
  it("judges an entry by every scope it belongs to: key, strategy, layer, tag", async () => {
    const view = new EpochView({ store, pollMs: 0 });
    await view.sync();
    const stamped = envelope(view.seq);
    const s = strategy();
    expect(view.check("k1", stamped, s)).toBe("valid");
    for (const scope of [scopeOf.key("k1"), scopeOf.strategy("strat-1"), scopeOf.layer("layer-1"), scopeOf.tag("t1")]) {
      const fresh = envelope(view.seq);
      await store.bump([scope], "HARD");
      await view.sync();
      expect(view.check("k1", fresh, s), scope).toBe("hard");
      // Stamped after the bump: valid again.
      expect(view.check("k1", envelope(view.seq), s), scope).toBe("valid");
    }
    // Unrelated scopes leave it alone.
    const fresh = envelope(view.seq);
    await store.bump([scopeOf.key("other"), scopeOf.tag("t2")], "HARD");
    await view.sync();
    expect(view.check("k1", fresh, s)).toBe("valid");
  });

  it("soft is stale only inside the SWR window counted from the bump, then hard", async () => {
    let now = Date.now();
    const timed = new EpochStore({ client: redis, keyPrefix: prefix, now: () => now });
    const view = new EpochView({ store: timed, pollMs: 0, now: () => now });
    await view.sync();
    const e = envelope(view.seq);
    await timed.bump([scopeOf.tag("t1")], "SOFT");
    await view.sync();
    expect(view.check("k", e, strategy({ staleWhileRevalidateMs: 10_000 }))).toBe("soft");
    expect(view.check("k", e, strategy({ staleWhileRevalidateMs: 0 }))).toBe("hard");
    now += 10_001;
    expect(view.check("k", e, strategy({ staleWhileRevalidateMs: 10_000 }))).toBe("hard");
    // A hard bump after a soft one wins.
    now = Date.now();
    const e2 = envelope(view.seq);
    await timed.bump([scopeOf.tag("t1")], "HARD");
    await timed.bump([scopeOf.tag("t1")], "SOFT");
    await view.sync();
    expect(view.check("k", e2, strategy())).toBe("hard");
  });

  it("waits for a catch-up only when older than pollMs, and shares it between callers", async () => {
    let now = 1_000_000;
    const view = new EpochView({ store, pollMs: 100, now: () => now });
    const loads = vi.spyOn(store, "load");
    const follows = vi.spyOn(store, "follow");
    const first = view.refresh();
    expect(first).toBeInstanceOf(Promise);
    // The second caller joins the same catch-up, through a promise of its own (core/joined.ts).
    const second = view.refresh();
    expect(second).toBeInstanceOf(Promise);
    await Promise.all([first, second]);
    expect(loads.mock.calls.length + follows.mock.calls.length).toBe(1);
    loads.mockRestore();
    follows.mockRestore();
    expect(view.refresh()).toBeUndefined();
    now += 100;
    expect(view.refresh()).toBeInstanceOf(Promise);
  });

  it("reloads the hash when the journal was trimmed past it", async () => {
    const view = new EpochView({ store, pollMs: 0 });
    await view.sync();
    await store.bump([scopeOf.tag("gone")], "HARD");
    // Lose the journal: the view must notice the counter moved and read the hash instead.
    await redis.del(store.journalKey);
    await store.bump([scopeOf.tag("kept")], "SOFT");
    await view.sync();
    expect(view.seq).toBe(2);
    expect(view.check("k", envelope(0, ["gone"]), strategy())).toBe("hard");
  });

  it("note(): a bump this process made counts at once, before the journal delivers it", async () => {
    const view = new EpochView({ store, pollMs: 60_000 });
    await view.sync();
    const old = envelope(view.seq, []);
    const { seq } = await store.bump([scopeOf.key("mine")], "HARD");
    expect(view.check("mine", old, strategy())).toBe("valid");
    view.note([scopeOf.key("mine")], "HARD", seq);
    expect(view.check("mine", old, strategy())).toBe("hard");
    expect(view.check("mine", envelope(seq, []), strategy())).toBe("valid");
  });

  it("keeps its last view when Redis fails, and reports the error", async () => {
    const errors: unknown[] = [];
    const broken = new EpochStore({ client: { eval: () => Promise.reject(new Error("down")), evalsha: () => Promise.reject(new Error("down")) }, keyPrefix: prefix });
    const view = new EpochView({ store: broken, pollMs: 0, onError: (e) => errors.push(e) });
    await view.sync();
    expect(errors).toHaveLength(1);
    expect(view.loaded).toBe(false);
    expect(view.check("k", envelope(0), strategy())).toBe("valid");
  });
});
