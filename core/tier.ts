/**
 * @module The one interface through which the engine knows a cache tier. Adapters: isolate
 * memory (core/tiers/memory.ts), the Workers Cache API (edge/tiers/cache-api.ts), Upstash Redis
 * (core/tiers/redis.ts). The origin is not a tier: it is a `Loader` (core/origin.ts).
 *
 * Tiers store opaque bytes (an encoded envelope, core/envelope.ts) with an absolute expiry, so a
 * tier never interprets what it holds: compression and encryption happen before a tier sees the
 * value, and Redis or the Cache API never hold plaintext of an encrypted strategy.
 */

/** RFC 9211 cache identifiers, in the order a response passes them (origin-most first). */
export type TierId = "strata-l2" | "strata-cdn" | "strata-l1";

export interface TierEntry {
  /** The encoded envelope. */
  bytes: Uint8Array;
  /** Epoch ms after which the tier may drop the entry (end of the last window it may be served in). */
  expiresAt: number;
}

export interface Tier {
  readonly id: TierId;
  /** Undefined when absent or past `expiresAt`. Throws on failure (the engine decides: bypass or not). */
  get(key: string): Promise<TierEntry | undefined>;
  set(key: string, entry: TierEntry): Promise<void>;
  delete(key: string): Promise<void>;
}
