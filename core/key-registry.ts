/**
 * @module CACHE_KEY_REGISTRY bookkeeping without a SQL write per request: reads are folded into
 * per-key deltas in the isolate and upserted in one statement per batch (db/key-registry.ts).
 */
import type { ReadObservation } from "./engine/engine.ts";
import { servableUntil } from "./engine/freshness.ts";
import type { ResourceType } from "./types.ts";

export interface RegistryDelta {
  cacheKey: string;
  strategyId: string;
  resourceType: ResourceType;
  resourceId: string | null;
  /** Latest known encoded size; null when this batch never saw the value. */
  dataSizeBytes: number | null;
  hits: number;
  misses: number;
  lastAccessed: number;
  /** Latest known expiry (end of the last servable window); null when unknown. */
  expiresAt: number | null;
}

export interface RegistrySink {
  upsert(rows: readonly RegistryDelta[]): Promise<void>;
}

export interface KeyRegistryBufferOptions {
  flushIntervalMs?: number;
  /** A batch this large is flushed at once, bounding memory and statement size. */
  maxKeys?: number;
  now?: () => number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class KeyRegistryBuffer {
  #pending = new Map<string, RegistryDelta>();
  #lastFlush: number;
  #flushing: Promise<void> | undefined;
  readonly #intervalMs: number;
  readonly #maxKeys: number;
  readonly #now: () => number;

  constructor(opts: KeyRegistryBufferOptions = {}) {
    this.#intervalMs = opts.flushIntervalMs ?? 10_000;
    this.#maxKeys = opts.maxKeys ?? 500;
    this.#now = opts.now ?? Date.now;
    this.#lastFlush = this.#now();
  }

  get size(): number {
    return this.#pending.size;
  }

  record(o: ReadObservation): void {
    // The built-in default strategy has no CACHE_STRATEGY row to reference.
    if (o.strategy.isDefault || o.error) return;
    const hit = o.source !== "origin" && o.source !== "none";
    let d = this.#pending.get(o.key);
    if (!d) {
      d = {
        cacheKey: o.key,
        strategyId: o.strategy.id,
        resourceType: o.strategy.resourceType,
        resourceId: resourceIdOf(o.key),
        dataSizeBytes: null,
        hits: 0,
        misses: 0,
        lastAccessed: 0,
        expiresAt: null,
      };
      this.#pending.set(o.key, d);
    }
    if (hit) d.hits++;
    else d.misses++;
    d.lastAccessed = this.#now();
    if (o.envelope) {
      d.expiresAt = servableUntil(o.envelope);
      if (o.bytes > 0) d.dataSizeBytes = o.bytes;
    }
  }

  maybeFlush(sink: RegistrySink): Promise<void> | undefined {
    if (this.#flushing || this.#pending.size === 0) return undefined;
    if (this.#pending.size < this.#maxKeys && this.#now() - this.#lastFlush < this.#intervalMs) return undefined;
    return this.flush(sink);
  }

  flush(sink: RegistrySink): Promise<void> {
    if (this.#flushing) return this.#flushing;
    const batch = [...this.#pending.values()].filter((d) => d.expiresAt !== null);
    // Keys never seen with a value (pure misses of cache-aside keys) have no expiry to record.
    this.#pending = new Map();
    this.#lastFlush = this.#now();
    if (batch.length === 0) return Promise.resolve();
    const work = sink
      .upsert(batch)
      .catch((error: unknown) => {
        console.warn(JSON.stringify({ level: "warn", msg: "key registry flush failed; batch dropped", keys: batch.length, error: String(error) }));
      })
      .finally(() => {
        this.#flushing = undefined;
      });
    this.#flushing = work;
    return work;
  }
}

/** Resource keys end in the resource's uuid (`workout:<uuid>`); other keys have none. */
function resourceIdOf(key: string): string | null {
  const last = key.slice(key.lastIndexOf(":") + 1);
  return UUID.test(last) ? last.toLowerCase() : null;
}
