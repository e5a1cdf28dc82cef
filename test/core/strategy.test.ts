/**
 * Strategy resolution without I/O: pattern compilation and precedence, row resolution and its
 * validation, registry lookups, and ConfigCache's load / check / reload rules against fakes.
 */
import { describe, expect, it } from "vitest";
import { InvalidKeyError, MAX_KEY_LENGTH, PatternError, PatternIndex, compilePattern } from "../../core/strategy/pattern.ts";
import { CONFIG_VERSION_KEY, RedisVersionSource, bumpConfigVersion } from "../../core/strategy/redis-version.ts";
import {
  ConfigCache,
  StrategyRegistry,
  type ConfigLog,
  type ConfigSnapshot,
  type ConfigSource,
  type ConfigVersionSource,
  type LayerRow,
  type StrategyRow,
} from "../../core/strategy/registry.ts";
import { ConfigRowError, defaultLayer, defaultStrategy, resolveLayer, resolveStrategy } from "../../core/strategy/resolve.ts";
import { RESOURCE_TYPES, type LayerName } from "../../core/types.ts";
import { seedLayers, seedStrategies, seedUuid } from "../../db/seed-data.ts";

// --- fixtures ------------------------------------------------------------------------------------

/** The demo layers and strategies (db/seed-data.ts) as a config source would hand them over. */
function seedSnapshot(): ConfigSnapshot {
  const admin = seedUuid("user:admin");
  const layers: LayerRow[] = seedLayers(admin).map((l) => ({
    id: l.id ?? "",
    layerName: l.layerName,
    cacheLevel: l.cacheLevel,
    maxSizeBytes: l.maxSizeBytes,
    defaultTtlSeconds: l.defaultTtlSeconds,
    evictionPolicy: l.evictionPolicy,
    isDistributed: l.isDistributed ?? false,
    compressionEnabled: l.compressionEnabled ?? false,
    encryptionEnabled: l.encryptionEnabled ?? false,
    isActive: l.isActive ?? true,
  }));
  const ids = new Map<LayerName, string>(layers.map((l) => [l.layerName, l.id]));
  const strategies: StrategyRow[] = seedStrategies(admin, ids).map((s) => ({
    id: s.id ?? "",
    strategyName: s.strategyName,
    resourceType: s.resourceType,
    cacheKeyPattern: s.cacheKeyPattern,
    cacheLayerId: s.cacheLayerId,
    ttlSeconds: s.ttlSeconds,
    cacheBehavior: s.cacheBehavior,
    invalidationStrategy: s.invalidationStrategy,
    enableCompression: s.enableCompression ?? false,
    enableEncryption: s.enableEncryption ?? false,
    strategyConfiguration: s.strategyConfiguration ?? null,
    isActive: s.isActive ?? true,
  }));
  return { layers, strategies };
}

const SEED = seedSnapshot();
const layerRow = (name: LayerName): LayerRow => {
  const row = SEED.layers.find((l) => l.layerName === name);
  if (!row) throw new Error(`no layer ${name}`);
  return row;
};
const strategyRow = (name: string, patch: Partial<StrategyRow> = {}): StrategyRow => {
  const row = SEED.strategies.find((s) => s.strategyName === name);
  if (!row) throw new Error(`no strategy ${name}`);
  return { ...row, ...patch };
};
const L1 = resolveLayer(layerRow("L1_APPLICATION"));
const L2 = resolveLayer(layerRow("L2_REDIS"));
const L3 = resolveLayer(layerRow("L3_DATABASE"));

function recordingLog(): ConfigLog & { warns: string[]; infos: string[] } {
  const warns: string[] = [];
  const infos: string[] = [];
  return { warns, infos, warn: (m) => warns.push(m), info: (m) => infos.push(m) };
}

const UUID = "0b6a3c5e-1f2d-4e8a-9b7c-6d5e4f3a2b1c";

// --- patterns ------------------------------------------------------------------------------------

describe("compilePattern", () => {
  it("captures placeholders and matches literals exactly", () => {
    const p = compilePattern("translation:{locale}:{id}");
    expect(p.params).toEqual(["locale", "id"]);
    expect(p.literalLength).toBe("translation::".length);
    expect(p.segmentCount).toBe(3);
    expect(p.anchor).toEqual({ segment: 0, text: "translation" });
    expect(compilePattern("{tenant}:orders:{id}").anchor).toEqual({ segment: 1, text: "orders" });
    expect(compilePattern("v{n}:{id}").anchor).toBeUndefined();
    expect(p.match("translation:pt-BR:42")).toEqual({ locale: "pt-BR", id: "42" });
    expect(p.match("Translation:de:42")).toBeUndefined();
    expect(p.match("translations:de:42")).toBeUndefined();
  });

  it("matches one or more characters other than ':' per placeholder", () => {
    const p = compilePattern("workout:{id}");
    expect(p.match(`workout:${UUID}`)).toEqual({ id: UUID });
    expect(p.match("workout:")).toBeUndefined();
    expect(p.match("workout:a:b")).toBeUndefined();
    expect(p.match("workout")).toBeUndefined();
    expect(p.match("workout:x y/z?")).toEqual({ id: "x y/z?" });
  });

  it("handles literal text around placeholders inside one segment", () => {
    const p = compilePattern("media:{id}-{variant}.json");
    expect(p.match("media:7-thumb.json")).toEqual({ id: "7", variant: "thumb" });
    // Each placeholder but the last ends at the first occurrence of the literal after it.
    expect(p.match("media:7-thumb-2x.json")).toEqual({ id: "7", variant: "thumb-2x" });
    // The trailing literal is anchored at the end, so it may also occur inside a value.
    expect(p.match("media:7-a.json.json")).toEqual({ id: "7", variant: "a.json" });
    expect(p.match("media:7-.json")).toBeUndefined();
    expect(p.match("media:-x.json")).toBeUndefined();
    expect(p.match("media:7x.json")).toBeUndefined();
    expect(compilePattern("v{n}").match("v")).toBeUndefined();
    expect(compilePattern("v{n}").match("v2")).toEqual({ n: "2" });
    expect(compilePattern("{a}x{b}").match("xxx")).toEqual({ a: "x", b: "x" });
  });

  it("finds a match whenever one exists, without backtracking", () => {
    const p = compilePattern("{a}-{b}-{c}-end");
    expect(p.match("x--y-z-end")).toEqual({ a: "x", b: "-y", c: "z" });
    // A key built to make a backtracking matcher explode: 500 dashes and no `end`.
    const started = performance.now();
    for (let i = 0; i < 1_000; i++) expect(p.match("-".repeat(MAX_KEY_LENGTH))).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("keeps placeholder names off the prototype chain", () => {
    const params = compilePattern("x:{__proto__}:{constructor}").match("x:a:b");
    expect(params?.["__proto__"]).toBe("a");
    expect(params?.["constructor"]).toBe("b");
    expect(Object.keys(params ?? {})).toEqual(["__proto__", "constructor"]);
  });

  it.each([
    ["", /is empty/],
    ["workout:{id", /unclosed "\{" at position 8/],
    ["workout:id}", /unmatched "\}" at position 10/],
    ["workout:{a{b}}", /"\{" at position 10 inside a placeholder/],
    ["workout:{}", /empty placeholder "\{\}" at position 8/],
    ["workout:{1d}", /placeholder name "1d"/],
    ["workout:{a-b}", /placeholder name "a-b"/],
    ["x:{id}:{id}", /duplicate placeholder \{id\}/],
    ["x:{a}{b}", /placeholders \{a\} and \{b\} are adjacent/],
  ])("rejects %j", (pattern, message) => {
    expect(() => compilePattern(pattern)).toThrow(PatternError);
    expect(() => compilePattern(pattern)).toThrow(message);
  });

  it("formats keys that read back to the same values", () => {
    const p = compilePattern("translation:{locale}:{id}");
    expect(p.format({ locale: "de", id: "7" })).toBe("translation:de:7");
    expect(() => p.format({ locale: "de" })).toThrow(/no value for \{id\}/);
    expect(() => p.format({ locale: "", id: "7" })).toThrow(/no value for \{locale\}/);
    expect(() => p.format({ locale: "d:e", id: "7" })).toThrow(/contains ":"/);
    expect(() => compilePattern("m:{a}-{b}").format({ a: "x-y", b: "z" })).toThrow(/do not read back/);
  });
});

describe("PatternIndex", () => {
  const build = (patterns: readonly string[]): PatternIndex<string> => {
    const index = new PatternIndex<string>();
    for (const p of patterns) index.add(p, p);
    return index;
  };

  it("prefers more literal characters, then fewer placeholders, then pattern text; insertion order does not matter", () => {
    const patterns = ["{type}:{id}", "workout:{id}", "workout:featured", "{a}:c-{q}", "ab:{x}", "{a}x:{b}", "{a}:x{b}"];
    for (const order of [patterns, [...patterns].reverse()]) {
      const index = build(order);
      expect(index.match("workout:featured")?.value).toBe("workout:featured");
      expect(index.match("workout:42")?.value).toBe("workout:{id}");
      expect(index.match("program:42")?.value).toBe("{type}:{id}");
      expect(index.match("program:42")?.params).toEqual({ type: "program", id: "42" });
      // Both have 3 literal characters; one placeholder beats two.
      expect(index.match("ab:c-d")?.value).toBe("ab:{x}");
      // 2 literal characters and 2 placeholders each: the pattern text decides (":" < "x").
      expect(index.match("qx:xr")?.value).toBe("{a}:x{b}");
      expect(index.match("nothing")).toBeUndefined();
      expect(index.match("a:b:c")).toBeUndefined();
    }
  });

  it("compares hits from buckets anchored at different segments", () => {
    const patterns = ["orders:{x}:{y}", "{t}:orders:{id}", "{t}:orders:1", "{a}:{b}:{c}"];
    for (const order of [patterns, [...patterns].reverse()]) {
      const index = build(order);
      expect(index.match("orders:orders:1")?.value).toBe("{t}:orders:1");
      expect(index.match("acme:orders:2")?.value).toBe("{t}:orders:{id}");
      // 8 literal characters and 2 placeholders each: the pattern text decides ("o" < "{").
      expect(index.match("orders:orders:2")?.value).toBe("orders:{x}:{y}");
      expect(index.match("orders:b:c")?.value).toBe("orders:{x}:{y}");
      expect(index.match("x:y:z")?.value).toBe("{a}:{b}:{c}");
    }
  });

  it("keeps the first added of two identical patterns", () => {
    const index = new PatternIndex<string>();
    index.add("workout:{id}", "first");
    index.add("workout:{id}", "second");
    expect(index.match("workout:1")?.value).toBe("first");
    expect(index.size).toBe(2);
  });

  it("adds nothing when a pattern is malformed", () => {
    const index = new PatternIndex<string>();
    expect(() => index.add("bad:{", "x")).toThrow(PatternError);
    expect(index.size).toBe(0);
  });

  it("stays fast with 200 patterns", () => {
    const patterns: string[] = [];
    for (let i = 0; i < 50; i++) {
      patterns.push(`res${i}:{id}`, `res${i}:{id}:{variant}`, `res${i}:v{version}:{id}`, `{tenant}:res${i}:{id}`);
    }
    const index = build(patterns);
    expect(index.size).toBe(200);
    const keys = Array.from({ length: 1_000 }, (_, i) => {
      const n = i % 50;
      return [`res${n}:${UUID}`, `res${n}:${UUID}:thumb`, `res${n}:v3:${UUID}`, `acme:res${n}:${UUID}`, `miss${n}:${UUID}`][i % 5] ?? "";
    });
    expect(index.match(`res7:v3:${UUID}`)?.value).toBe("res7:v{version}:{id}");
    expect(index.match(`res7:v3:x:y`)).toBeUndefined();
    expect(index.match(`acme:res7:${UUID}`)?.value).toBe("{tenant}:res7:{id}");
    const compiled = patterns.map(compilePattern);
    const scan = (key: string): boolean => compiled.some((p) => p.match(key) !== undefined);
    const time = (lookup: (key: string) => unknown): number => {
      const started = performance.now();
      let hits = 0;
      for (let r = 0; r < 50; r++) for (const key of keys) if (lookup(key)) hits++;
      expect(hits).toBe(50 * 800);
      return performance.now() - started;
    };
    time((k) => index.match(k)); // warm-up
    const indexed = time((k) => index.match(k));
    const scanned = time(scan);
    const perLookupUs = (indexed * 1000) / (50 * keys.length);
    console.info(`pattern index: ${perLookupUs.toFixed(2)} µs per lookup, ${(scanned / indexed).toFixed(1)}x faster than a scan`);
    // A scan tries up to 200 matchers per key (and stops at the first hit, unlike a precedence
    // search); the index tries a handful. Relative, so a loaded machine does not fail it.
    expect(indexed * 5).toBeLessThan(scanned);
    expect(perLookupUs).toBeLessThan(20);
  });
});

// --- resolution ----------------------------------------------------------------------------------

describe("resolveStrategy", () => {
  it("turns a seeded row into milliseconds, with defaults for keys it does not set", () => {
    const s = resolveStrategy(strategyRow("workout-detail"), L2);
    expect(s).toEqual({
      id: seedUuid("strategy:workout-detail"),
      name: "workout-detail",
      resourceType: "WORKOUT",
      keyPattern: "workout:{id}",
      layerId: L2.id,
      behavior: "READ_THROUGH",
      invalidation: "DEPENDENCY_BASED",
      ttlMs: 3_600_000,
      staleWhileRevalidateMs: 60_000,
      staleIfErrorMs: 600_000,
      negativeTtlMs: 30_000,
      refreshAheadFraction: 0.8,
      compression: true,
      compressionThresholdBytes: 1024,
      encryption: false, // the seed keeps encryption off at the L2 layer
      isDefault: false,
    });
  });

  it("fills every default when strategy_configuration is NULL; negative TTL is min(60 s, ttl)", () => {
    const long = resolveStrategy(strategyRow("exercise-library", { strategyConfiguration: null }), L1);
    expect(long).toMatchObject({
      ttlMs: 300_000,
      staleWhileRevalidateMs: 0,
      staleIfErrorMs: 0,
      negativeTtlMs: 60_000,
      refreshAheadFraction: 0.8,
      compressionThresholdBytes: 1024,
    });
    const short = resolveStrategy(strategyRow("exercise-library", { strategyConfiguration: {}, ttlSeconds: 20 }), L1);
    expect(short.negativeTtlMs).toBe(20_000);
    const explicit = resolveStrategy(strategyRow("exercise-library", { strategyConfiguration: { negativeTtlSeconds: 0 } }), L1);
    expect(explicit.negativeTtlMs).toBe(0);
  });

  it("compresses or encrypts when either the strategy or its layer says so", () => {
    const row = strategyRow("exercise-library");
    expect(resolveStrategy(row, L1)).toMatchObject({ compression: false, encryption: false });
    expect(resolveStrategy({ ...row, enableCompression: true }, L1)).toMatchObject({ compression: true, encryption: false });
    expect(resolveStrategy({ ...row, enableEncryption: true }, L1)).toMatchObject({ compression: false, encryption: true });
    const l3Row = strategyRow("translation-bundle", { enableCompression: false });
    expect(resolveStrategy(l3Row, L3)).toMatchObject({ compression: true, encryption: false });
  });

  it("keeps unknown configuration keys without reading them", () => {
    const s = resolveStrategy(strategyRow("analytics-rollup"), L2);
    expect(s.ttlMs).toBe(120_000);
    const registry = new StrategyRegistry(SEED, { log: recordingLog() });
    expect(registry.extraConfiguration(s.id)).toEqual({ writeBehindFlushSeconds: 10, writeBehindMaxBatch: 500 });
    expect(registry.extraConfiguration(strategyRow("workout-detail").id)).toEqual({});
  });

  it.each([
    [{ refreshAheadFraction: 1 }, "strategy_configuration.refreshAheadFraction", /<1 \(got 1\)/],
    [{ refreshAheadFraction: 0 }, "strategy_configuration.refreshAheadFraction", />0 \(got 0\)/],
    [{ staleWhileRevalidateSeconds: -1 }, "strategy_configuration.staleWhileRevalidateSeconds", /got -1/],
    [{ staleIfErrorSeconds: "600" }, "strategy_configuration.staleIfErrorSeconds", /expected number.*got "600"/],
    [{ negativeTtlSeconds: 1e12 }, "strategy_configuration.negativeTtlSeconds", /Too big/],
    [{ compressionThresholdBytes: 1.5 }, "strategy_configuration.compressionThresholdBytes", /int/],
    [[1, 2], "strategy_configuration", /expected object/],
  ])("rejects configuration %j naming the strategy and %s", (config, field, message) => {
    const row = strategyRow("workout-detail", { strategyConfiguration: config as unknown as Record<string, unknown> });
    let caught: unknown;
    try {
      resolveStrategy(row, L2);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigRowError);
    const error = caught as ConfigRowError;
    expect(error.field).toBe(field);
    expect(error.rowName).toBe("workout-detail");
    expect(error.message).toContain(`strategy "workout-detail"`);
    expect(error.message).toContain(field);
    expect(error.message).toMatch(message);
  });

  it("rejects impossible columns", () => {
    expect(() => resolveStrategy(strategyRow("workout-detail", { ttlSeconds: 0 }), L2)).toThrow(/ttl_seconds must be an integer/);
    expect(() => resolveStrategy(strategyRow("workout-detail"), L1)).toThrow(/cache_layer_id/);
    const unknownBehavior = strategyRow("workout-detail", { cacheBehavior: "WRITE_AROUND" as unknown as StrategyRow["cacheBehavior"] });
    expect(() => resolveStrategy(unknownBehavior, L2)).toThrow(/cache_behavior is not a known behavior \("WRITE_AROUND"\)/);
    expect(() => resolveLayer({ ...layerRow("L2_REDIS"), evictionPolicy: "MRU" as unknown as LayerRow["evictionPolicy"] })).toThrow(
      /layer "L2_REDIS".*eviction_policy/,
    );
  });
});

describe("defaultStrategy", () => {
  it("is CACHE_ASIDE with the layer's TTL, nothing stale, no negative caching", () => {
    expect(defaultStrategy(L2)).toEqual({
      id: "default",
      name: "default",
      resourceType: "SEARCH_RESULTS",
      keyPattern: "*",
      layerId: L2.id,
      behavior: "CACHE_ASIDE",
      invalidation: "TTL",
      ttlMs: 3_600_000,
      staleWhileRevalidateMs: 0,
      staleIfErrorMs: 0,
      negativeTtlMs: 0,
      refreshAheadFraction: 0.8,
      compression: true,
      compressionThresholdBytes: 1024,
      encryption: false,
      isDefault: true,
    });
  });

  it("binds to L2_REDIS when active, else to the lowest active level", () => {
    const all = SEED.layers.map(resolveLayer);
    expect(defaultLayer(all)?.name).toBe("L2_REDIS");
    const noL2 = all.map((l) => (l.name === "L2_REDIS" ? { ...l, isActive: false } : l));
    expect(defaultLayer(noL2)?.name).toBe("L1_APPLICATION");
    expect(defaultLayer(noL2.filter((l) => l.name !== "L1_APPLICATION"))?.name).toBe("L3_DATABASE");
    expect(defaultLayer(all.map((l) => ({ ...l, isActive: false })))).toBeUndefined();
  });
});

// --- registry ------------------------------------------------------------------------------------

describe("StrategyRegistry", () => {
  it("resolves every seeded strategy by key and by resource type", () => {
    const log = recordingLog();
    const registry = new StrategyRegistry(SEED, { version: "7", log });
    expect(registry.version).toBe("7");
    expect(registry.rejected).toEqual([]);
    expect(log.warns).toEqual([]);
    expect(registry.strategies.map((s) => s.name)).toEqual([...registry.strategies.map((s) => s.name)].sort());
    for (const type of RESOURCE_TYPES) expect(registry.forResourceType(type)?.resourceType).toBe(type);

    const cases: Array<[string, string, Record<string, string>]> = [
      [`workout:${UUID}`, "workout-detail", { id: UUID }],
      ["program:p1", "program-overview", { id: "p1" }],
      ["exercise:e1", "exercise-library", { id: "e1" }],
      ["user-profile:u1", "user-profile", { user_id: "u1" }],
      ["media:m1:thumb", "media-asset", { id: "m1", variant: "thumb" }],
      ["translation:de:t1", "translation-bundle", { locale: "de", id: "t1" }],
      ["analytics:hit-rate:2026-11", "analytics-rollup", { metric: "hit-rate", period: "2026-11" }],
      ["search-results:abc123", "search-results", { query_hash: "abc123" }],
    ];
    for (const [key, name, params] of cases) {
      const hit = registry.forKey(key);
      expect(hit.strategy.name, key).toBe(name);
      expect(hit.params).toEqual(params);
      expect(hit.pattern?.source).toBe(hit.strategy.keyPattern);
    }
  });

  it("falls back to the default strategy for keys no pattern matches", () => {
    const registry = new StrategyRegistry(SEED, { log: recordingLog() });
    for (const key of ["my-app:settings", "workout:1:extra", "workout", "x"]) {
      const hit = registry.forKey(key);
      expect(hit.strategy).toBe(registry.defaultStrategy);
      expect(hit.params).toEqual({});
      expect(hit.pattern).toBeUndefined();
    }
    expect(registry.defaultStrategy.layerId).toBe(L2.id);
    expect(registry.strategy("default")).toBe(registry.defaultStrategy);
  });

  it("refuses empty keys and keys over 500 characters (counted as characters, not UTF-16 units)", () => {
    const registry = new StrategyRegistry(SEED, { log: recordingLog() });
    expect(() => registry.forKey("")).toThrow(InvalidKeyError);
    expect(() => registry.forKey(`search-results:${"a".repeat(MAX_KEY_LENGTH)}`)).toThrow(/longer than 500/);
    expect(registry.forKey(`search-results:${"a".repeat(MAX_KEY_LENGTH - 15)}`).strategy.name).toBe("search-results");
    expect(registry.forKey(`x:${"😀".repeat(MAX_KEY_LENGTH - 2)}`).strategy.isDefault).toBe(true);
  });

  it("skips an invalid strategy, logs it by name and field, and keeps the rest", () => {
    const log = recordingLog();
    const snapshot: ConfigSnapshot = {
      layers: SEED.layers,
      strategies: SEED.strategies.map((s) =>
        s.strategyName === "workout-detail" ? { ...s, strategyConfiguration: { refreshAheadFraction: 1.5 } } : s,
      ),
    };
    const registry = new StrategyRegistry(snapshot, { log });
    expect(registry.strategies).toHaveLength(SEED.strategies.length - 1);
    expect(registry.rejected).toEqual([
      expect.objectContaining({ kind: "strategy", name: "workout-detail", field: "strategy_configuration.refreshAheadFraction" }),
    ]);
    expect(log.warns).toHaveLength(1);
    expect(log.warns[0]).toMatch(/skipped strategy "workout-detail" .*refreshAheadFraction/);
    expect(registry.forKey("workout:1").strategy.isDefault).toBe(true);
    expect(registry.forResourceType("WORKOUT")).toBeUndefined();
    expect(registry.forKey("program:1").strategy.name).toBe("program-overview");
  });

  it("skips malformed patterns, unknown layers and inactive strategies", () => {
    const log = recordingLog();
    const snapshot: ConfigSnapshot = {
      layers: SEED.layers,
      strategies: SEED.strategies.map((s) => {
        if (s.strategyName === "workout-detail") return { ...s, cacheKeyPattern: "workout:{id" };
        if (s.strategyName === "program-overview") return { ...s, cacheLayerId: UUID };
        if (s.strategyName === "exercise-library") return { ...s, isActive: false };
        return s;
      }),
    };
    const registry = new StrategyRegistry(snapshot, { log });
    expect(registry.rejected.map((r) => [r.name, r.field])).toEqual([
      ["program-overview", "cache_layer_id"],
      ["workout-detail", undefined],
    ]);
    expect(registry.rejected[1]?.message).toMatch(/unclosed "\{"/);
    expect(registry.strategies.map((s) => s.name)).not.toContain("exercise-library");
    expect(registry.forKey("exercise:1").strategy.isDefault).toBe(true);
  });

  it("picks the first strategy by name when several serve one resource type, and warns", () => {
    const log = recordingLog();
    const extra = strategyRow("workout-detail", { id: UUID, strategyName: "a-workout-summary", cacheKeyPattern: "workout:{id}:summary" });
    const registry = new StrategyRegistry({ layers: SEED.layers, strategies: [...SEED.strategies, extra] }, { log });
    expect(registry.forResourceType("WORKOUT")?.name).toBe("a-workout-summary");
    expect(log.warns[0]).toMatch(/2 active strategies for WORKOUT \(a-workout-summary, workout-detail\)/);
    expect(registry.forKey("workout:1").strategy.name).toBe("workout-detail");
    expect(registry.forKey("workout:1:summary").strategy.name).toBe("a-workout-summary");
  });

  it("gives one of two strategies with the same pattern, the first by name", () => {
    const twin = strategyRow("workout-detail", { id: UUID, strategyName: "zz-workout", ttlSeconds: 5 });
    const registry = new StrategyRegistry({ layers: SEED.layers, strategies: [twin, ...SEED.strategies] }, { log: recordingLog() });
    expect(registry.forKey("workout:1").strategy.name).toBe("workout-detail");
  });

  it("exposes layers and the isolate-memory layer", () => {
    const registry = new StrategyRegistry(SEED, { log: recordingLog() });
    expect(registry.layers.map((l) => l.name)).toEqual(["L1_APPLICATION", "L2_REDIS", "L3_DATABASE", "L4_CDN", "L5_EXTERNAL"]);
    expect(registry.layer(L2.id)).toEqual(L2);
    expect(registry.layer(UUID)).toBeUndefined();
    expect(registry.l1Layer()).toMatchObject({ name: "L1_APPLICATION", evictionPolicy: "LRU", maxSizeBytes: 64 * 1024 ** 2 });
    const l1Off = new StrategyRegistry(
      { layers: SEED.layers.map((l) => (l.layerName === "L1_APPLICATION" ? { ...l, isActive: false } : l)), strategies: SEED.strategies },
      { log: recordingLog() },
    );
    expect(l1Off.l1Layer()).toBeUndefined();
    // A strategy on an inactive layer stays: the engine skips the tier, not the strategy.
    expect(l1Off.forKey("exercise:1").strategy.name).toBe("exercise-library");
  });

  it("refuses a snapshot without an active layer", () => {
    expect(() => new StrategyRegistry({ layers: [], strategies: SEED.strategies }, { log: recordingLog() })).toThrow(/no active cache layer/);
  });
});

// --- ConfigCache ---------------------------------------------------------------------------------

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}
function deferred(): Deferred {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

class FakeSource implements ConfigSource {
  loads = 0;
  fail: Error | undefined;
  gate: Deferred | undefined;
  snapshot: ConfigSnapshot = SEED;
  async load(): Promise<ConfigSnapshot> {
    this.loads++;
    if (this.gate) await this.gate.promise;
    if (this.fail) throw this.fail;
    return structuredClone(this.snapshot);
  }
}

class FakeVersion implements ConfigVersionSource {
  calls = 0;
  value: string | null = "1";
  fail: Error | undefined;
  hang = false;
  async current(): Promise<string | null> {
    this.calls++;
    if (this.hang) return new Promise<never>(() => undefined);
    if (this.fail) throw this.fail;
    return this.value;
  }
}

function setup(options: { checkIntervalMs?: number; retryAfterMs?: number; timeoutMs?: number } = {}) {
  const clock = { t: 1_000_000 };
  const source = new FakeSource();
  const version = new FakeVersion();
  const log = recordingLog();
  const cache = new ConfigCache({ source, versionSource: version, now: () => clock.t, log, ...options });
  return { clock, source, version, log, cache };
}

describe("ConfigCache", () => {
  it("loads once for concurrent first callers", async () => {
    const { source, version, cache } = setup();
    source.gate = deferred();
    const callers = Array.from({ length: 10 }, () => cache.get());
    expect(cache.peek()).toBeUndefined();
    source.gate.resolve();
    const registries = await Promise.all(callers);
    expect(source.loads).toBe(1);
    expect(version.calls).toBe(1);
    expect(new Set(registries).size).toBe(1);
    expect(registries[0]?.version).toBe("1");
    expect(cache.peek()).toBe(registries[0]);
  });

  it("checks the version at most once per interval and never queries the source per request", async () => {
    const { clock, source, version, cache } = setup();
    const first = await cache.get();
    for (let i = 0; i < 1_000; i++) {
      clock.t += 4;
      expect(await cache.get()).toBe(first);
    }
    expect(version.calls).toBe(1);
    clock.t += 1_000; // 5000 ms since the load
    const handed: Array<Promise<unknown>> = [];
    expect(await cache.get((p) => handed.push(p))).toBe(first);
    expect(handed).toHaveLength(1);
    // A second caller while the check is in flight starts nothing new.
    expect(await cache.get((p) => handed.push(p))).toBe(first);
    expect(handed).toHaveLength(1);
    await handed[0];
    expect(cache.background).toBeUndefined();
    expect(version.calls).toBe(2);
    expect(source.loads).toBe(1);
    expect(await cache.get()).toBe(first);
  });

  it("reloads in the background when the version changes, serving the old registry meanwhile", async () => {
    const { clock, source, version, cache, log } = setup();
    const first = await cache.get();
    version.value = "2";
    source.snapshot = {
      layers: SEED.layers,
      strategies: SEED.strategies.map((s) => (s.strategyName === "workout-detail" ? { ...s, ttlSeconds: 42 } : s)),
    };
    clock.t += 5_000;
    source.gate = deferred();
    expect(await cache.get()).toBe(first);
    const pending = cache.background;
    expect(pending).toBeDefined();
    expect(await cache.get()).toBe(first);
    source.gate.resolve();
    await pending;
    const second = await cache.get();
    expect(second).not.toBe(first);
    expect(second.version).toBe("2");
    expect(second.forKey("workout:1").strategy.ttlMs).toBe(42_000);
    expect(source.loads).toBe(2);
    expect(log.infos).toContainEqual(expect.stringMatching(/reloaded \(version 1 -> 2\)/));
  });

  it("treats a version appearing (null -> 1) as a change", async () => {
    const { clock, version, cache } = setup();
    version.value = null;
    const first = await cache.get();
    expect(first.version).toBeNull();
    version.value = "1";
    clock.t += 5_000;
    await cache.get();
    await cache.background;
    expect((await cache.get()).version).toBe("1");
  });

  it("keeps serving the last good registry when the version source or the load fails, logs once, retries later", async () => {
    const { clock, source, version, cache, log } = setup();
    const first = await cache.get();

    version.fail = new Error("redis down");
    for (let i = 0; i < 3; i++) {
      clock.t += 5_000;
      expect(await cache.get()).toBe(first);
      await cache.background;
    }
    expect(version.calls).toBe(4);
    expect(log.warns).toHaveLength(1);
    expect(log.warns[0]).toMatch(/refresh failed \(Error: redis down\); keeping version 1, retrying later/);

    version.fail = undefined;
    version.value = "2";
    source.fail = new Error("postgres down");
    clock.t += 5_000;
    expect(await cache.get()).toBe(first);
    await cache.background;
    expect(source.loads).toBe(2);
    expect(log.warns).toHaveLength(1);

    // Not retried before the interval has passed again.
    clock.t += 4_999;
    await cache.get();
    expect(cache.background).toBeUndefined();
    expect(source.loads).toBe(2);

    source.fail = undefined;
    clock.t += 1;
    await cache.get();
    await cache.background;
    expect((await cache.get()).version).toBe("2");
    expect(log.infos).toContain("strategy config: refresh works again");
  });

  it("keeps the old registry when the new configuration has no active layer", async () => {
    const { clock, source, version, cache, log } = setup();
    const first = await cache.get();
    source.snapshot = { layers: [], strategies: [] };
    version.value = "2";
    clock.t += 5_000;
    await cache.get();
    await cache.background;
    expect(await cache.get()).toBe(first);
    expect(log.warns[0]).toMatch(/no active cache layer/);
  });

  it("rejects callers while the first load fails, without a load per caller, then retries", async () => {
    const { clock, source, cache } = setup({ retryAfterMs: 1_000 });
    source.fail = new Error("postgres down");
    await expect(cache.get()).rejects.toThrow("postgres down");
    await expect(cache.get()).rejects.toThrow("postgres down");
    clock.t += 999;
    await expect(cache.get()).rejects.toThrow("postgres down");
    expect(source.loads).toBe(1);
    source.fail = undefined;
    clock.t += 1;
    expect((await cache.get()).version).toBe("1");
    expect(source.loads).toBe(2);
  });

  it("loads without a version when Redis fails at first, and reloads once it answers", async () => {
    const { clock, source, version, cache, log } = setup();
    version.fail = new Error("redis down");
    const first = await cache.get();
    expect(first.version).toBeNull();
    expect(log.warns[0]).toMatch(/version unknown at first load/);
    version.fail = undefined;
    clock.t += 5_000;
    await cache.get();
    await cache.background;
    expect(source.loads).toBe(2);
    expect((await cache.get()).version).toBe("1");
  });

  it("bounds a version source that never answers", async () => {
    const { clock, version, cache, log } = setup({ timeoutMs: 20 });
    const first = await cache.get();
    version.hang = true;
    clock.t += 5_000;
    expect(await cache.get()).toBe(first);
    await cache.background;
    expect(log.warns[0]).toMatch(/redis did not answer within 20 ms/);
    // The check is over, so the next interval can start another.
    version.hang = false;
    clock.t += 5_000;
    await cache.get();
    expect(cache.background).toBeDefined();
    await cache.background;
  });

  it("reload() reloads now even when the version is unchanged", async () => {
    const { source, cache } = setup();
    const first = await cache.get();
    const second = await cache.reload();
    expect(second).not.toBe(first);
    expect(source.loads).toBe(2);
    expect(await cache.get()).toBe(second);
  });
});

describe("Redis config version", () => {
  it("reads the counter whether the client returns it as a string or a number, and bumps with INCR", async () => {
    const store = new Map<string, number>();
    const redis = {
      get: async (key: string): Promise<string | null> => (store.has(key) ? (store.get(key) as unknown as string) : null),
      incr: async (key: string): Promise<number> => {
        const next = (store.get(key) ?? 0) + 1;
        store.set(key, next);
        return next;
      },
    };
    const source = new RedisVersionSource(redis);
    expect(await source.current()).toBeNull();
    expect(await bumpConfigVersion(redis)).toBe("1");
    expect(store.get(CONFIG_VERSION_KEY)).toBe(1);
    expect(await source.current()).toBe("1");
    expect(await new RedisVersionSource({ get: async () => "17" }).current()).toBe("17");
  });
});
