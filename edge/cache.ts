/**
 * @module The cache engine of this isolate, wired from bindings: isolate memory sized and
 * ordered by the L1_APPLICATION layer row, the colo's Cache API, Upstash Redis behind a circuit
 * breaker, strategies from Postgres (reloaded on a Redis version bump), and the counters and
 * key-registry deltas flushed in the background.
 */
import { CircuitBreaker } from "../core/circuit-breaker.ts";
import { Keyring } from "../core/crypto/keyring.ts";
import { joined } from "../core/joined.ts";
import { CacheEngine, type ReadObservation, type RequestContext } from "../core/engine/engine.ts";
import { EpochStore, scopeOf } from "../core/invalidation/epochs.ts";
import { EpochView } from "../core/invalidation/view.ts";
import { KeyRegistryBuffer, type RegistrySink } from "../core/key-registry.ts";
import type { EvictionPolicyName } from "../core/memory/policies/index.ts";
import { MetricsRecorder, type MetricsRedis } from "../core/metrics.ts";
import { ConfigCache, type StrategyRegistry } from "../core/strategy/registry.ts";
import { RedisVersionSource } from "../core/strategy/redis-version.ts";
import { MemoryTier } from "../core/tiers/memory.ts";
import { RedisTier } from "../core/tiers/redis.ts";
import { DrizzleConfigSource } from "../db/config-source.ts";
import { keyRegistrySink } from "../db/key-registry.ts";
import { dependencyTimeoutMs, edgeDb, edgeRedis } from "./deps.ts";
import type { Bindings } from "./env.ts";
import { CacheApiTier } from "./tiers/cache-api.ts";

/** Used when no active L1_APPLICATION layer exists: small, so a misconfiguration cannot exhaust the isolate. */
const FALLBACK_L1 = { maxSizeBytes: 16 * 1024 * 1024, evictionPolicy: "LRU" as EvictionPolicyName };

interface IsolateState {
  fingerprint: string;
  config: ConfigCache;
  breaker: CircuitBreaker;
  metrics: MetricsRecorder;
  registryBuffer: KeyRegistryBuffer;
  keyring: Promise<Keyring | undefined>;
  epochView: EpochView;
  engine?: { policy: EvictionPolicyName; maxSizeBytes: number; engine: CacheEngine };
  /** Where flushes go, built once: nothing is allocated for them on a request that flushes nothing. */
  flush: { redis: MetricsRedis; registry: RegistrySink };
  /** What requests get, rebuilt only when the engine or the registry changes. */
  view?: EdgeCache;
}

let state: IsolateState | undefined;

function fingerprint(env: Bindings): string {
  return JSON.stringify([
    env.DATABASE_URL,
    env.NEON_BRIDGE_URL,
    env.UPSTASH_REDIS_REST_URL,
    env.UPSTASH_REDIS_REST_TOKEN,
    env.STRATA_KEY_PREFIX,
    env.STRATA_CACHE_NAMESPACE,
    env.STRATA_ENCRYPTION_KEYS,
    env.STRATA_ENCRYPTION_KEY_ID,
    env.DEPENDENCY_TIMEOUT_MS,
    env.STRATA_EPOCH_POLL_MS,
  ]);
}

let stateEnv: Bindings | undefined;

function isolate(env: Bindings): IsolateState {
  // Workers hand the same env object to every request of an isolate: skip the fingerprint then.
  if (state && stateEnv === env) return state;
  stateEnv = env;
  const fp = fingerprint(env);
  if (state?.fingerprint === fp) return state;
  const timeoutMs = dependencyTimeoutMs(env);
  const breaker = new CircuitBreaker({ dependency: "redis", failureThreshold: 5, openMs: 5_000 });
  const epochs = new EpochStore({ client: edgeRedis(env), keyPrefix: env.STRATA_KEY_PREFIX ?? "strata:v1:", timeoutMs, breaker });
  state = {
    fingerprint: fp,
    config: new ConfigCache({
      source: new DrizzleConfigSource(edgeDb(env)),
      versionSource: new RedisVersionSource(edgeRedis(env)),
      timeoutMs: timeoutMs * 2,
    }),
    // Five straight failures open it; one probe every 5 s while Redis is away.
    breaker,
    metrics: new MetricsRecorder({ keyPrefix: env.STRATA_KEY_PREFIX ?? "strata:v1:" }),
    registryBuffer: new KeyRegistryBuffer(),
    keyring: Keyring.fromBindings(env.STRATA_ENCRYPTION_KEYS, env.STRATA_ENCRYPTION_KEY_ID),
    flush: { redis: edgeRedis(env), registry: keyRegistrySink(edgeDb(env)) },
    epochView: new EpochView({
      store: epochs,
      pollMs: epochPollMs(env),
      onError: (error) => console.warn(JSON.stringify({ level: "warn", msg: "invalidation view not refreshed", error: String(error) })),
    }),
  };
  return state;
}

export interface EdgeCache {
  engine: CacheEngine;
  registry: StrategyRegistry;
  /** Judges what the engine reads; invalidations this isolate makes go through its `bump`. */
  epochView: EpochView;
  /** Hands due counter and registry flushes to waitUntil; call once per request, after the read. */
  scheduleFlushes(ctx: RequestContext): void;
}

export async function edgeCache(env: Bindings, ctx: RequestContext): Promise<EdgeCache> {
  const s = isolate(env);
  // Older than the poll interval: catch up on invalidations before serving anything (one Redis
  // round trip, shared by concurrent requests; skipped while the breaker says Redis is down).
  const catchUp = s.breaker.state === "open" ? undefined : s.epochView.refresh();
  const registry = await s.config.get((work) => ctx.waitUntil(work));
  if (catchUp) await catchUp;
  const l1 = registry.l1Layer() ?? FALLBACK_L1;
  if (s.engine?.policy !== l1.evictionPolicy || s.engine.maxSizeBytes !== l1.maxSizeBytes) {
    // A changed L1 layer row (policy or size) takes effect with a fresh isolate memory.
    const engine = await buildEngine(env, s, l1.maxSizeBytes, l1.evictionPolicy);
    s.engine = { policy: l1.evictionPolicy, maxSizeBytes: l1.maxSizeBytes, engine };
  }
  const engine = s.engine.engine;
  if (s.view?.engine !== engine || s.view.registry !== registry) {
    const { metrics, registryBuffer, flush } = s;
    s.view = {
      engine,
      registry,
      epochView: s.epochView,
      scheduleFlushes(ctx) {
        const metricsFlush = metrics.maybeFlush(flush.redis);
        if (metricsFlush) ctx.waitUntil(metricsFlush);
        const registryFlush = registryBuffer.maybeFlush(flush.registry);
        if (registryFlush) ctx.waitUntil(registryFlush);
      },
    };
  }
  return s.view;
}

async function buildEngine(env: Bindings, s: IsolateState, maxSizeBytes: number, policy: EvictionPolicyName): Promise<CacheEngine> {
  const timeoutMs = dependencyTimeoutMs(env);
  let engine: CacheEngine | undefined;
  const l1 = new MemoryTier({
    maxSizeBytes,
    policy,
    onEvict: (_key, _entry, reason) => {
      if (reason === "capacity") s.metrics.evicted("L1_APPLICATION", engine?.strategyOfEvicted(_entry) ?? "unknown");
    },
  });
  engine = new CacheEngine({
    l1,
    cdn: new CacheApiTier({ namespace: env.STRATA_CACHE_NAMESPACE ?? "strata", timeoutMs }),
    l2: new RedisTier({ client: edgeRedis(env), keyPrefix: env.STRATA_KEY_PREFIX ?? "strata:v1:", timeoutMs }),
    l2Breaker: s.breaker,
    keyring: await joined(s.keyring),
    invalidations: s.epochView,
    onRead: (o: ReadObservation) => {
      s.metrics.record(o);
      s.registryBuffer.record(o);
    },
  });
  return engine;
}

/**
 * Bumps `key`'s scope (hard) and records it in this isolate's view at once. Resolves the bump's
 * sequence number, or undefined when Redis could not take it (the caller warns; other isolates
 * then keep their copy until its TTL).
 */
export async function bumpKey(cache: EdgeCache, key: string): Promise<number | undefined> {
  try {
    return (await cache.epochView.bump([scopeOf.key(key)], "HARD")).seq;
  } catch (error) {
    console.warn(JSON.stringify({ level: "warn", msg: "key invalidation bump failed", key, error: String(error) }));
    return undefined;
  }
}

/** How stale this isolate's view of invalidations may be before a request waits for it (default 100 ms). */
export function epochPollMs(env: Bindings): number {
  const n = Number(env.STRATA_EPOCH_POLL_MS);
  return Number.isFinite(n) && n >= 0 ? n : 100;
}

/** Test and admin hook: writes pending counters and registry deltas now. */
export async function flushIsolate(env: Bindings): Promise<void> {
  const s = isolate(env);
  await Promise.all([s.metrics.flush(s.flush.redis), s.registryBuffer.flush(s.flush.registry)]);
}

/** Test hook: the current isolate state (engine, breaker, counters), if built. */
export function isolateState(): IsolateState | undefined {
  return state;
}
