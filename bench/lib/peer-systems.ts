/**
 * @module The systems the `peer` case compares, behind one small interface: bentocache (memory + Redis over
 * ioredis), and Strata's CacheEngine (MemoryTier + RedisTier) with its L2 client either the Upstash REST client
 * through the local bridge, as deployed, or a thin ioredis adapter so the transport matches bentocache's.
 */
import { Redis as UpstashRedis } from "@upstash/redis";
import { BentoCache, bentostore } from "bentocache";
import { memoryDriver } from "bentocache/drivers/memory";
import { redisDriver } from "bentocache/drivers/redis";
import { Redis } from "ioredis";
import { CacheEngine, type LoadedValue, type ReadObservation, type RequestContext } from "../../core/engine/engine.ts";
import { MemoryTier } from "../../core/tiers/memory.ts";
import { RedisTier, type RedisLike } from "../../core/tiers/redis.ts";
import type { ResolvedStrategy } from "../../core/types.ts";
import { makePayload, type Payload } from "./peer-workload.ts";

/** Reads by where they were answered, since the last reset. */
export interface LayerCounts {
  reads: number;
  l1: number;
  l2: number;
  /** Loader calls: L2 misses, or reads that raced a write. */
  loads: number;
}

export interface RedisTraffic {
  /** Redis commands issued (scripts count as one). */
  commands: number;
  /** Client round trips: one per command over RESP without pipelining, one per HTTP request over REST. */
  roundTrips: number;
}

export interface PeerSystem {
  id: string;
  label: string;
  read(key: string): Promise<unknown>;
  write(key: string, seq: number): Promise<unknown>;
  /** Waits for work the system deferred past the caller's answer (Strata's waitUntil). */
  settle(): Promise<void>;
  counts(): LayerCounts;
  /** Undefined where nothing counts it (the child-process bridge). */
  traffic(): RedisTraffic | undefined;
  resetCounters(): void;
  /** Entries L1 holds now, when the system lets us see it. */
  l1Entries(): number | undefined;
  close(): Promise<void>;
}

export interface PeerConfig {
  redisUrl: string;
  /** Namespace of this system's Redis keys (ends with ":"). */
  keyPrefix: string;
  ttlMs: number;
  l1Bytes: number;
  /** bentocache's lru-cache also bounds entries (default 1,000, which would bind first): set it explicitly. */
  l1Entries: number;
  timeoutMs: number;
}

/** Counts every command an ioredis connection sends; bentocache accepts it because it is still an ioredis `Redis`. */
export class CountingRedis extends Redis {
  commands = 0;
  override sendCommand(...args: Parameters<Redis["sendCommand"]>): ReturnType<Redis["sendCommand"]> {
    this.commands++;
    return super.sendCommand(...args);
  }
}

export async function countingConnection(redisUrl: string): Promise<CountingRedis> {
  // RESP2 as the bridge speaks it, so the two transports differ only in framing and HTTP, not in protocol version.
  const conn = new CountingRedis(redisUrl, { protocol: 2, lazyConnect: true, maxRetriesPerRequest: 1 });
  await conn.connect();
  conn.commands = 0;
  return conn;
}

function emptyCounts(): LayerCounts {
  return { reads: 0, l1: 0, l2: 0, loads: 0 };
}

// --- bentocache ------------------------------------------------------------------------------

export async function bentoSystem(cfg: PeerConfig): Promise<PeerSystem> {
  const connection = await countingConnection(cfg.redisUrl);
  const bento = new BentoCache({
    default: "peer",
    // bentocache joins prefix and key with ":".
    prefix: cfg.keyPrefix.replace(/:$/, ""),
    ttl: cfg.ttlMs,
    stores: {
      peer: bentostore()
        .useL1Layer(memoryDriver({ maxSize: cfg.l1Bytes, maxItems: cfg.l1Entries }))
        .useL2Layer(redisDriver({ connection })),
    },
  });
  let counts = emptyCounts();
  bento.on("cache:hit", (hit) => {
    if (hit.layer === "l1") counts.l1++;
    else counts.l2++;
  });
  return {
    id: "bentocache",
    label: "bentocache (memory + Redis via ioredis)",
    read(key) {
      counts.reads++;
      return bento.getOrSet({
        key,
        ttl: cfg.ttlMs,
        factory: async (): Promise<Payload> => {
          counts.loads++;
          return makePayload(key, 0);
        },
      });
    },
    write: (key, seq) => bento.set({ key, value: makePayload(key, seq), ttl: cfg.ttlMs }),
    settle: async () => undefined, // bentocache awaits its L2 write inside set/getOrSet
    counts: () => ({ ...counts }),
    traffic: () => ({ commands: connection.commands, roundTrips: connection.commands }),
    resetCounters() {
      counts = emptyCounts();
      connection.commands = 0;
    },
    l1Entries: () => undefined,
    close: () => bento.disconnect(), // also disconnects the ioredis connection it was given
  };
}

/** Size of a stored Redis value; for bentocache also what its L1 charges, as it keeps the same serialized string. */
export async function storedBytes(conn: Redis, redisKey: string): Promise<number | undefined> {
  const raw = await conn.get(redisKey);
  return raw === null ? undefined : Buffer.byteLength(raw, "utf8");
}

// --- Strata ----------------------------------------------------------------------------------

/** A read-through strategy with nothing but a long TTL, so expiry, refresh and stale serving stay out of the run. */
export function peerStrategy(ttlMs: number): ResolvedStrategy {
  return {
    id: "00000000-0000-4000-8000-0000000b0bee",
    name: "bench-peer",
    resourceType: "WORKOUT",
    keyPattern: "k{id}",
    layerId: "bench-peer-layer",
    behavior: "READ_THROUGH",
    invalidation: "TTL",
    ttlMs,
    staleWhileRevalidateMs: 0,
    staleIfErrorMs: 0,
    negativeTtlMs: 0,
    refreshAheadFraction: 0.8,
    compression: false,
    compressionThresholdBytes: 1024,
    encryption: false,
    isDefault: false,
  };
}

/** waitUntil as a worker runtime offers it: the caller gets its answer, the promise keeps the work going. */
class Background implements RequestContext {
  readonly #pending = new Set<Promise<unknown>>();
  waitUntil(work: Promise<unknown>): void {
    this.#pending.add(work);
    const done = (): void => void this.#pending.delete(work);
    work.then(done, done);
  }
  async settle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}

function loaded(key: string, seq: number): LoadedValue {
  const value = makePayload(key, seq);
  // The padded version keeps every envelope the same size, as the payload is.
  return { value, version: value.version, tags: [] };
}

interface StrataTransport {
  id: string;
  label: string;
  client: RedisLike;
  traffic(): RedisTraffic | undefined;
  resetTraffic(): void;
  close(): Promise<void>;
}

function strataSystem(cfg: PeerConfig, transport: StrataTransport): PeerSystem {
  let counts = emptyCounts();
  const strategy = peerStrategy(cfg.ttlMs);
  const l1 = new MemoryTier({ maxSizeBytes: cfg.l1Bytes, policy: "LRU" });
  const engine = new CacheEngine({
    l1,
    l2: new RedisTier({ client: transport.client, keyPrefix: cfg.keyPrefix, timeoutMs: cfg.timeoutMs }),
    onRead: (o: ReadObservation) => {
      if (o.source === "strata-l1") counts.l1++;
      else if (o.source === "strata-l2") counts.l2++;
    },
  });
  const background = new Background();
  return {
    id: transport.id,
    label: transport.label,
    read(key) {
      counts.reads++;
      return engine.read(
        {
          key,
          strategy,
          load: async () => {
            counts.loads++;
            return loaded(key, 0);
          },
        },
        background,
      );
    },
    write: (key, seq) => engine.put(key, strategy, loaded(key, seq)),
    settle: () => background.settle(),
    counts: () => ({ ...counts }),
    traffic: () => transport.traffic(),
    resetCounters() {
      counts = emptyCounts();
      transport.resetTraffic();
    },
    l1Entries: () => l1.store.stats().entries,
    close: () => transport.close(),
  };
}

export interface BridgeCounter {
  stats(): { roundTrips: number; commands: number };
  resetStats(): void;
}

export interface RestEndpoint {
  id: string;
  label: string;
  url: string;
  token: string;
  /** The bridge's own counts, when it keeps them where we can read them. */
  counter: BridgeCounter | undefined;
}

/** Strata as deployed: @upstash/redis over HTTP, configured as functions/deps.ts does, through a local bridge. */
export function strataRestSystem(cfg: PeerConfig, endpoint: RestEndpoint): PeerSystem {
  const client = new UpstashRedis({
    url: endpoint.url,
    token: endpoint.token,
    signal: () => AbortSignal.timeout(cfg.timeoutMs),
    retry: false,
    enableTelemetry: false,
    responseEncoding: false,
  });
  const counter = endpoint.counter;
  return strataSystem(cfg, {
    id: endpoint.id,
    label: endpoint.label,
    client,
    traffic: () => {
      if (!counter) return undefined;
      const s = counter.stats();
      return { commands: s.commands, roundTrips: s.roundTrips };
    },
    resetTraffic: () => counter?.resetStats(),
    close: async () => undefined, // HTTP keep-alive sockets belong to the global dispatcher
  });
}

/**
 * The five commands RedisTier uses, over ioredis. Results pass through untouched: RedisTier already treats every
 * reply as unknown and checks it, and ioredis answers RESP2 bulk strings as strings and integers as numbers.
 */
class IoredisClient implements RedisLike {
  readonly #redis: Redis;
  constructor(redis: Redis) {
    this.#redis = redis;
  }
  get(key: string): Promise<unknown> {
    return this.#redis.get(key);
  }
  set(key: string, value: string, opts?: { px: number } | { px: number; nx: true }): Promise<unknown> {
    if (!opts) return this.#redis.set(key, value);
    if ("nx" in opts) return this.#redis.set(key, value, "PX", opts.px, "NX");
    return this.#redis.set(key, value, "PX", opts.px);
  }
  del(...keys: string[]): Promise<number> {
    return this.#redis.del(...keys);
  }
  eval(script: string, keys: string[], args: string[]): Promise<unknown> {
    return this.#redis.eval(script, keys.length, ...keys, ...args);
  }
  evalsha(sha1: string, keys: string[], args: string[]): Promise<unknown> {
    return this.#redis.evalsha(sha1, keys.length, ...keys, ...args);
  }
}

/** Strata's engine unchanged, its L2 over the same transport as bentocache's (RESP over TCP, one connection). */
export async function strataIoredisSystem(cfg: PeerConfig): Promise<PeerSystem> {
  const connection = await countingConnection(cfg.redisUrl);
  return strataSystem(cfg, {
    id: "strata-ioredis",
    label: "Strata (memory + Redis via ioredis adapter)",
    client: new IoredisClient(connection),
    traffic: () => ({ commands: connection.commands, roundTrips: connection.commands }),
    resetTraffic: () => {
      connection.commands = 0;
    },
    close: async () => {
      await connection.quit();
    },
  });
}

/** Bytes Strata's L1 charges per entry of this shape (encoded envelope + key + fixed overhead), measured, not guessed. */
export async function strataEntryBytes(key: string, ttlMs: number): Promise<number> {
  const l1 = new MemoryTier({ maxSizeBytes: 1 << 20, policy: "LRU" });
  const engine = new CacheEngine({ l1 });
  await engine.put(key, peerStrategy(ttlMs), loaded(key, 0));
  return l1.store.stats().bytes;
}
