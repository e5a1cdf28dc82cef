/**
 * @module A Strata isolate in Node: the same core engine, strategies (from Postgres), epoch view and
 * tiers as the worker, over the bench stack. The cases use it to place entries in exactly one tier
 * (the Cache API alone, or Redis alone) and as a second "isolate" that must also see invalidations.
 */
import { Redis } from "@upstash/redis";
import { Keyring } from "../../core/crypto/keyring.ts";
import { CacheEngine, type RequestContext } from "../../core/engine/engine.ts";
import { EpochStore } from "../../core/invalidation/epochs.ts";
import { EpochView } from "../../core/invalidation/view.ts";
import { ConfigCache, type StrategyRegistry } from "../../core/strategy/registry.ts";
import { RedisVersionSource } from "../../core/strategy/redis-version.ts";
import { MemoryTier } from "../../core/tiers/memory.ts";
import { RedisTier } from "../../core/tiers/redis.ts";
import type { ResourceType } from "../../core/types.ts";
import { httpDb, type HttpDb } from "../../db/client.ts";
import { DrizzleConfigSource } from "../../db/config-source.ts";
import { loadResource } from "../../db/origin.ts";
import { CacheApiTier } from "../../edge/tiers/cache-api.ts";
import type { Stack } from "./stack.ts";

export interface NodeIsolate {
  engine: CacheEngine;
  registry: StrategyRegistry;
  view: EpochView;
  db: HttpDb;
  redis: Redis;
  /** Collects background work so a case can wait for it. */
  ctx: RequestContext & { settle(): Promise<void> };
  /** Reads `type:id` through this isolate's tiers, loading from the origin on a miss. */
  read(type: ResourceType, slug: string, id: string): Promise<{ version: string | undefined; source: string }>;
  /** Stores the origin's current value of each id in this isolate's tiers (at most `concurrency` at once). */
  place(type: ResourceType, slug: string, ids: readonly string[], concurrency?: number): Promise<void>;
}

export interface NodeIsolateOptions {
  /** The worker's Cache API, when entries should land there. */
  cdn?: { cache: Cache; namespace: string };
  /** Store in Redis (default true). */
  l2?: boolean;
  /** Isolate memory size (default 64 MiB). */
  l1Bytes?: number;
}

export async function nodeIsolate(stack: Stack, opts: NodeIsolateOptions = {}): Promise<NodeIsolate> {
  const redis = new Redis({ url: stack.node.upstashUrl, token: stack.upstashToken, enableTelemetry: false, retry: false, responseEncoding: false });
  const db = httpDb({ databaseUrl: stack.databaseUrl, neonBridgeUrl: stack.node.neonUrl });
  const config = new ConfigCache({ source: new DrizzleConfigSource(db), versionSource: new RedisVersionSource(redis) });
  const pending = new Set<Promise<unknown>>();
  const ctx = {
    waitUntil(work: Promise<unknown>) {
      const p = work.catch(() => undefined).finally(() => pending.delete(p));
      pending.add(p);
    },
    async settle() {
      while (pending.size > 0) await Promise.all(pending);
    },
  };
  const registry = await config.get((w) => ctx.waitUntil(w));
  const view = new EpochView({ store: new EpochStore({ client: redis, keyPrefix: stack.keyPrefix, timeoutMs: 5000 }) });
  await view.refresh();
  const engine = new CacheEngine({
    l1: new MemoryTier({ maxSizeBytes: opts.l1Bytes ?? 64 * 1024 * 1024, policy: "LRU" }),
    ...(opts.cdn ? { cdn: new CacheApiTier({ cache: opts.cdn.cache, namespace: opts.cdn.namespace, timeoutMs: 5000 }) } : {}),
    ...(opts.l2 === false ? {} : { l2: new RedisTier({ client: redis, keyPrefix: stack.keyPrefix, timeoutMs: 5000 }) }),
    invalidations: view,
    keyring: await Keyring.fromBindings(stack.encryption.keys, stack.encryption.keyId),
  });
  const strategyOf = (type: ResourceType) => registry.forResourceType(type) ?? registry.defaultStrategy;
  return {
    engine,
    registry,
    view,
    db,
    redis,
    ctx,
    async read(type, slug, id) {
      // What the worker does before every read: catch up when the view is older than the poll interval.
      await view.refresh();
      const result = await engine.read({ key: `${slug}:${id}`, strategy: strategyOf(type), load: () => loadResource(db, type, id) }, ctx);
      return { version: result.envelope?.version, source: result.source };
    },
    async place(type, slug, ids, concurrency = 16) {
      // Catch up now, whatever the poll interval says: a stamp older than a bump this process has
      // not seen yet would make every placed entry invalid on arrival.
      await view.sync();
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < ids.length) {
          const id = ids[next++] as string;
          const loaded = await loadResource(db, type, id);
          if (!loaded) throw new Error(`${slug} ${id} is not in the database`);
          await engine.put(`${slug}:${id}`, strategyOf(type), loaded);
          // This isolate's own memory is not the point; keep it from growing with every placed key.
          await engine.l1.delete(`${slug}:${id}`);
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
    },
  };
}
