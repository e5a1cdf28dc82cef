/**
 * @module Postgres as the ConfigSource of core/strategy/registry.ts: every cache layer and every
 * active strategy, read in one neon-http batch (one HTTP round trip, one transaction) and mapped
 * to core's plain row types.
 */
import { eq } from "drizzle-orm";
import type { ConfigSnapshot, ConfigSource } from "../core/strategy/registry.ts";
import type { HttpDb } from "./client.ts";
import { cacheLayers, cacheStrategies } from "./schema/cache.ts";

export class DrizzleConfigSource implements ConfigSource {
  readonly #db: HttpDb;

  constructor(db: HttpDb) {
    this.#db = db;
  }

  async load(): Promise<ConfigSnapshot> {
    const db = this.#db;
    // Inactive layers are loaded too: strategies may still point at them, and the registry
    // reports them as inactive rather than as missing.
    const [layers, strategies] = await db.batch([
      db
        .select({
          id: cacheLayers.id,
          layerName: cacheLayers.layerName,
          cacheLevel: cacheLayers.cacheLevel,
          maxSizeBytes: cacheLayers.maxSizeBytes,
          defaultTtlSeconds: cacheLayers.defaultTtlSeconds,
          evictionPolicy: cacheLayers.evictionPolicy,
          isDistributed: cacheLayers.isDistributed,
          compressionEnabled: cacheLayers.compressionEnabled,
          encryptionEnabled: cacheLayers.encryptionEnabled,
          isActive: cacheLayers.isActive,
        })
        .from(cacheLayers),
      db
        .select({
          id: cacheStrategies.id,
          strategyName: cacheStrategies.strategyName,
          resourceType: cacheStrategies.resourceType,
          cacheKeyPattern: cacheStrategies.cacheKeyPattern,
          cacheLayerId: cacheStrategies.cacheLayerId,
          ttlSeconds: cacheStrategies.ttlSeconds,
          cacheBehavior: cacheStrategies.cacheBehavior,
          invalidationStrategy: cacheStrategies.invalidationStrategy,
          enableCompression: cacheStrategies.enableCompression,
          enableEncryption: cacheStrategies.enableEncryption,
          strategyConfiguration: cacheStrategies.strategyConfiguration,
          isActive: cacheStrategies.isActive,
        })
        .from(cacheStrategies)
        .where(eq(cacheStrategies.isActive, true)),
    ]);
    return { layers, strategies };
  }
}
