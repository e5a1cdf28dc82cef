/**
 * Strategy configuration from real Postgres (through the Neon bridge, as the worker reads it) and
 * the reload protocol over real Redis (through the Upstash bridge).
 */
import { randomBytes } from "node:crypto";
import { Redis } from "@upstash/redis";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { RedisVersionSource, bumpConfigVersion } from "../../core/strategy/redis-version.ts";
import { ConfigCache, StrategyRegistry, type ConfigLog } from "../../core/strategy/registry.ts";
import { compilePattern } from "../../core/strategy/pattern.ts";
import { RESOURCE_TYPES } from "../../core/types.ts";
import { httpDb, type HttpDb } from "../../db/client.ts";
import { DrizzleConfigSource } from "../../db/config-source.ts";
import { cacheStrategies } from "../../db/schema/cache.ts";
import { resources } from "../../db/schema/resources.ts";
import { seedUuid } from "../../db/seed-data.ts";
import { seedDatabase } from "../../db/seed.ts";
import { type ScratchDatabase, createMigratedDatabase } from "./helpers.ts";

let scratch: ScratchDatabase;
let db: HttpDb;

beforeAll(async () => {
  scratch = await createMigratedDatabase();
  await seedDatabase(scratch.url, { resources: 100 });
  db = httpDb({ databaseUrl: scratch.url, neonBridgeUrl: inject("neonBridgeUrl") });
});

afterAll(async () => {
  await scratch?.drop();
});

function recordingLog(): ConfigLog & { warns: string[]; infos: string[] } {
  const warns: string[] = [];
  const infos: string[] = [];
  return { warns, infos, warn: (m) => warns.push(m), info: (m) => infos.push(m) };
}

async function loadRegistry(log: ConfigLog = recordingLog()): Promise<StrategyRegistry> {
  return new StrategyRegistry(await new DrizzleConfigSource(db).load(), { version: null, log });
}

/** A key for `pattern` with every placeholder filled from `values`, else a made-up value. */
function keyFor(pattern: string, values: Record<string, string>): string {
  const compiled = compilePattern(pattern);
  return compiled.format(Object.fromEntries(compiled.params.map((p) => [p, values[p] ?? `v-${p}`])));
}

describe("DrizzleConfigSource", () => {
  it("loads the five layers and every seeded strategy, and the registry resolves each of them", async () => {
    const snapshot = await new DrizzleConfigSource(db).load();
    expect(snapshot.layers).toHaveLength(5);
    expect(snapshot.strategies).toHaveLength(RESOURCE_TYPES.length);
    expect(typeof snapshot.layers[0]?.maxSizeBytes).toBe("number");

    const log = recordingLog();
    const registry = new StrategyRegistry(snapshot, { version: null, log });
    expect(registry.rejected).toEqual([]);
    expect(log.warns).toEqual([]);
    for (const type of RESOURCE_TYPES) {
      const strategy = registry.forResourceType(type);
      expect(strategy?.resourceType, type).toBe(type);
      if (!strategy) continue;
      // Every seeded id is a resource of that type; the key built from it comes back to the strategy.
      const [resource] = await db
        .select({ id: resources.id })
        .from(resources)
        .where(eq(resources.resourceType, type))
        .limit(1);
      expect(resource, type).toBeDefined();
      const key = keyFor(strategy.keyPattern, { id: resource?.id ?? "", locale: "de" });
      const hit = registry.forKey(key);
      expect(hit.strategy.id, key).toBe(strategy.id);
      expect(hit.strategy.isDefault).toBe(false);
    }
  });

  it("resolves the demo keys to their strategies and everything else to the default", async () => {
    const registry = await loadRegistry();
    const [workout] = await db.select({ id: resources.id }).from(resources).where(eq(resources.resourceType, "WORKOUT")).limit(1);
    const workoutKey = `workout:${workout?.id ?? ""}`;
    expect(registry.forKey(workoutKey)).toMatchObject({ strategy: { name: "workout-detail", ttlMs: 3_600_000 }, params: { id: workout?.id } });
    expect(registry.forResourceType("TRANSLATION")).toMatchObject({
      name: "translation-bundle",
      keyPattern: "translation:{locale}:{id}",
      layerId: seedUuid("layer:L3_DATABASE"),
      staleIfErrorMs: 86_400_000,
      compression: true,
    });
    const generic = registry.forKey("my-app:feature-flags");
    expect(generic.strategy.isDefault).toBe(true);
    expect(generic.strategy.layerId).toBe(seedUuid("layer:L2_REDIS"));
    expect(generic.strategy.ttlMs).toBe(3_600_000);
    expect(registry.l1Layer()).toMatchObject({ evictionPolicy: "LRU", maxSizeBytes: 64 * 1024 ** 2 });
  });

  it("skips a strategy with invalid configuration and an inactive one, keeping the others", async () => {
    const bad = seedUuid("strategy:test-invalid");
    const off = seedUuid("strategy:test-inactive");
    const common = {
      resourceType: "WORKOUT" as const,
      cacheLayerId: seedUuid("layer:L2_REDIS"),
      ttlSeconds: 60,
      cacheBehavior: "CACHE_ASIDE" as const,
      invalidationStrategy: "TTL" as const,
      createdBy: seedUuid("user:admin"),
    };
    await db.insert(cacheStrategies).values([
      { ...common, id: bad, strategyName: "broken-workout-summary", cacheKeyPattern: "workout:{id}:summary", strategyConfiguration: { refreshAheadFraction: 2 } },
      { ...common, id: off, strategyName: "retired-workout-list", cacheKeyPattern: "workout-list:{page}", isActive: false },
    ]);
    try {
      const log = recordingLog();
      const registry = await loadRegistry(log);
      expect(registry.rejected).toEqual([
        expect.objectContaining({ name: "broken-workout-summary", field: "strategy_configuration.refreshAheadFraction" }),
      ]);
      expect(log.warns.join("\n")).toMatch(/skipped strategy "broken-workout-summary".*refreshAheadFraction.*got 2/);
      expect(registry.strategies).toHaveLength(RESOURCE_TYPES.length);
      expect(registry.strategy(off)).toBeUndefined();
      expect(registry.forKey("workout:1:summary").strategy.isDefault).toBe(true);
      expect(registry.forKey("workout-list:1").strategy.isDefault).toBe(true);
      expect(registry.forResourceType("WORKOUT")?.name).toBe("workout-detail");
    } finally {
      await db.delete(cacheStrategies).where(sql`${cacheStrategies.id} in (${bad}, ${off})`);
    }
  });
});

describe("ConfigCache over Postgres and Redis", () => {
  it("reloads after a version bump in Redis, and only then", async () => {
    const redis = new Redis({ url: inject("upstashUrl"), token: inject("upstashToken"), retry: false, enableTelemetry: false });
    // A key of its own, so parallel suites bumping the real key cannot interfere.
    const versionKey = `strata:test:config:version:${randomBytes(6).toString("hex")}`;
    const workoutId = seedUuid("strategy:workout-detail");
    const clock = { t: 1_000_000 };
    const log = recordingLog();
    const cache = new ConfigCache({
      source: new DrizzleConfigSource(db),
      versionSource: new RedisVersionSource(redis, versionKey),
      checkIntervalMs: 5_000,
      now: () => clock.t,
      log,
    });
    const setTtl = (seconds: number) => db.update(cacheStrategies).set({ ttlSeconds: seconds }).where(eq(cacheStrategies.id, workoutId));
    try {
      const first = await cache.get();
      expect(first.version).toBeNull();
      expect(first.forKey("workout:1").strategy.ttlMs).toBe(3_600_000);

      // A change nobody announced is not seen: requests never query Postgres.
      await setTtl(1_234);
      clock.t += 5_000;
      expect(await cache.get()).toBe(first);
      await cache.background;
      expect(await cache.get()).toBe(first);

      expect(await bumpConfigVersion(redis, versionKey)).toBe("1");
      clock.t += 4_999;
      expect(await cache.get()).toBe(first);
      expect(cache.background).toBeUndefined();

      clock.t += 1;
      const handed: Array<Promise<unknown>> = [];
      expect(await cache.get((p) => handed.push(p))).toBe(first);
      expect(handed).toHaveLength(1);
      await handed[0];
      const second = await cache.get();
      expect(second.version).toBe("1");
      expect(second.forKey("workout:1").strategy.ttlMs).toBe(1_234_000);
      expect(log.infos).toContainEqual(expect.stringMatching(/reloaded \(version none -> 1\)/));
      expect(log.warns).toEqual([]);
    } finally {
      await setTtl(3_600);
      await redis.del(versionKey);
    }
  });
});
