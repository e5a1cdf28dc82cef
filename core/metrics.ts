/**
 * @module Per-isolate counters for every read, flushed to Redis in one pipelined call at most
 * every few seconds, in the layout the metrics-rollup Lambda reads (docs/metrics.md).
 *
 * Layout, per hour (UTC) × layer × strategy, under the deployment's key prefix (default `strata:v1:`):
 *   hash  {prefix}metrics:{YYYYMMDDHH}:{LAYER_NAME}:{strategyId}
 *         fields hits, misses, stale, errors, evictions, bytes, lat_le_{bound} (cumulative-free
 *         bucket counts; `lat_le_inf` for the overflow)
 *   set   {prefix}metrics:index:{YYYYMMDDHH}   the hash keys written that hour
 * Both expire after 48 hours: the rollup runs hourly, so two days is ample slack.
 */
import type { CacheStatusMember } from "./engine/cache-status.ts";
import type { ReadObservation } from "./engine/engine.ts";
import type { TierId } from "./tier.ts";
import type { LayerName } from "./types.ts";

/** Latency bucket upper bounds in ms: fine below 10 ms (memory, Redis), coarse above. */
export const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500] as const;
export const METRICS_TTL_SECONDS = 48 * 3600;
export const METRIC_FIELDS = ["hits", "misses", "stale", "errors", "evictions", "bytes"] as const;
export type MetricField = (typeof METRIC_FIELDS)[number];

const TIER_LAYER: Record<TierId, LayerName> = {
  "strata-l1": "L1_APPLICATION",
  "strata-cdn": "L4_CDN",
  "strata-l2": "L2_REDIS",
};
const ORIGIN_LAYER: LayerName = "L3_DATABASE";

/** The subset of an @upstash/redis pipeline the flush uses. */
export interface MetricsPipeline {
  hincrby(key: string, field: string, increment: number): unknown;
  sadd(key: string, member: string, ...members: string[]): unknown;
  expire(key: string, seconds: number): unknown;
  exec(): Promise<unknown>;
}
export interface MetricsRedis {
  pipeline(): MetricsPipeline;
}

export function hourBucket(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 13).replace(/[-T]/g, "");
}

export const DEFAULT_METRICS_PREFIX = "strata:v1:";

export function metricsKey(prefix: string, hour: string, layer: LayerName, strategyId: string): string {
  return `${prefix}metrics:${hour}:${layer}:${strategyId}`;
}

export function metricsIndexKey(prefix: string, hour: string): string {
  return `${prefix}metrics:index:${hour}`;
}

export function latencyField(ms: number): string {
  for (const bound of LATENCY_BUCKETS_MS) if (ms <= bound) return `lat_le_${bound}`;
  return "lat_le_inf";
}

export interface MetricsRecorderOptions {
  flushIntervalMs?: number;
  /** Redis key prefix (the same one the L2 tier uses); default `strata:v1:`. */
  keyPrefix?: string;
  now?: () => number;
}

export class MetricsRecorder {
  /** hash key → field → increment, since the last flush. */
  #pending = new Map<string, Map<string, number>>();
  #lastFlush: number;
  #flushing: Promise<void> | undefined;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #prefix: string;

  constructor(opts: MetricsRecorderOptions = {}) {
    this.#intervalMs = opts.flushIntervalMs ?? 5_000;
    this.#prefix = opts.keyPrefix ?? DEFAULT_METRICS_PREFIX;
    this.#now = opts.now ?? Date.now;
    this.#lastFlush = this.#now();
  }

  /** The current hour bucket, recomputed only when the clock crosses into the next hour. */
  #hour = "";
  #hourEndsAt = 0;

  #currentHour(): string {
    const now = this.#now();
    if (now >= this.#hourEndsAt || now < this.#hourEndsAt - 3_600_000) {
      this.#hour = hourBucket(now);
      this.#hourEndsAt = Math.floor(now / 3_600_000) * 3_600_000 + 3_600_000;
    }
    return this.#hour;
  }

  #add(layer: LayerName, strategyId: string, field: string, n = 1): void {
    // Runs a few times per request, on every hit: no Date or ISO string per call.
    const key = metricsKey(this.#prefix, this.#currentHour(), layer, strategyId);
    let fields = this.#pending.get(key);
    if (!fields) this.#pending.set(key, (fields = new Map()));
    fields.set(field, (fields.get(field) ?? 0) + n);
  }

  /**
   * One read: every tier consulted records a hit (served, fresh or stale) or a miss, so for the
   * first tier asked (L1) hits + misses equals the number of reads. The tier that answered also
   * records the bytes and the request's latency; an origin load counts on L3_DATABASE.
   */
  record(o: ReadObservation): void {
    const strategyId = o.strategy.id;
    if (o.error) {
      this.#add(ORIGIN_LAYER, strategyId, "errors");
      this.#add(TIER_LAYER["strata-l1"], strategyId, "misses");
      return;
    }
    for (const m of o.status) this.#member(m, strategyId, o.source);
    const servedBy: LayerName | undefined = o.source === "origin" ? ORIGIN_LAYER : o.source === "none" ? undefined : TIER_LAYER[o.source];
    if (o.source === "origin") this.#add(ORIGIN_LAYER, strategyId, "hits");
    if (servedBy) {
      this.#add(servedBy, strategyId, "bytes", o.bytes);
      this.#add(servedBy, strategyId, latencyField(o.latencyMs));
    }
  }

  #member(m: CacheStatusMember, strategyId: string, source: ReadObservation["source"]): void {
    const layer = TIER_LAYER[m.tier];
    if (m.hit) return this.#add(layer, strategyId, "hits");
    if (m.fwd === "bypass") return this.#add(layer, strategyId, m.detail === "circuit-open" ? "misses" : "errors");
    if (m.fwd === "stale" && source === m.tier) {
      this.#add(layer, strategyId, "hits");
      return this.#add(layer, strategyId, "stale");
    }
    this.#add(layer, strategyId, "misses");
  }

  evicted(layer: LayerName, strategyId: string): void {
    this.#add(layer, strategyId, "evictions");
  }

  /** Pending increments, for tests and diagnostics. */
  snapshot(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [key, fields] of this.#pending) out[key] = Object.fromEntries(fields);
    return out;
  }

  /** Returns the flush to hand to `waitUntil` when one is due, else undefined. */
  maybeFlush(redis: MetricsRedis): Promise<void> | undefined {
    if (this.#flushing || this.#pending.size === 0 || this.#now() - this.#lastFlush < this.#intervalMs) return undefined;
    return this.flush(redis);
  }

  /** Writes everything pending in one pipeline. On failure the counts are merged back for the next try. */
  flush(redis: MetricsRedis): Promise<void> {
    if (this.#flushing) return this.#flushing;
    const batch = this.#pending;
    this.#pending = new Map();
    this.#lastFlush = this.#now();
    if (batch.size === 0) return Promise.resolve();
    const work = (async () => {
      const pipe = redis.pipeline();
      const indexes = new Map<string, string[]>();
      for (const [key, fields] of batch) {
        for (const [field, n] of fields) pipe.hincrby(key, field, n);
        pipe.expire(key, METRICS_TTL_SECONDS);
        const hour = /metrics:(\d{10}):/.exec(key)?.[1] ?? "";
        const list = indexes.get(hour) ?? [];
        list.push(key);
        indexes.set(hour, list);
      }
      for (const [hour, keys] of indexes) {
        const [first, ...rest] = keys;
        if (first === undefined) continue;
        pipe.sadd(metricsIndexKey(this.#prefix, hour), first, ...rest);
        pipe.expire(metricsIndexKey(this.#prefix, hour), METRICS_TTL_SECONDS);
      }
      await pipe.exec();
    })()
      .catch((error: unknown) => {
        for (const [key, fields] of batch) {
          let into = this.#pending.get(key);
          if (!into) this.#pending.set(key, (into = new Map()));
          for (const [field, n] of fields) into.set(field, (into.get(field) ?? 0) + n);
        }
        console.warn(JSON.stringify({ level: "warn", msg: "metrics flush failed; kept for the next flush", error: String(error) }));
      })
      .finally(() => {
        this.#flushing = undefined;
      });
    this.#flushing = work;
    return work;
  }
}
