/**
 * @module Isolate memory as a Strata tier ("strata-l1"): a byte-bounded MemoryStore holding entries as they were
 * written. The hot path of every hit, so it stays synchronous underneath: `getSync` lets the engine skip the
 * microtask the async `Tier.get` costs, and nothing is copied on the way in or out — callers hand over ownership
 * of the bytes they store and must not mutate the bytes they get.
 */
import { MemoryStore, type MemoryStoreOptions } from "../memory/store.ts";
import type { Tier, TierEntry } from "../tier.ts";

/**
 * The store holds the whole entry rather than only its bytes: `get` must hand back `expiresAt`, and keeping the
 * object means a hit allocates nothing. The store charges each entry its `bytes.byteLength` plus key and overhead.
 */
export type MemoryTierOptions = MemoryStoreOptions<TierEntry>;

const RESOLVED: Promise<void> = Promise.resolve();

export class MemoryTier implements Tier {
  readonly id = "strata-l1" as const;
  /** Exposed for stats (`store.stats()`), resizing and tests. */
  readonly store: MemoryStore<TierEntry>;

  constructor(options: MemoryTierOptions) {
    this.store = new MemoryStore<TierEntry>(options);
  }

  /** Undefined when absent or expired; a hit counts as a use for the eviction policy. */
  getSync(key: string): TierEntry | undefined {
    return this.store.get(key);
  }

  /**
   * Returns whether the entry is held when the call returns (false when it alone exceeds the budget, is already
   * expired, or lost admission). Any previous value of the key is gone either way.
   */
  setSync(key: string, entry: TierEntry): boolean {
    // A fresh object: the caller may reuse or mutate its own, and the store's expiry must match what get returns.
    return this.store.set(key, { bytes: entry.bytes, expiresAt: entry.expiresAt }, entry.bytes.byteLength, entry.expiresAt);
  }

  /** True when a live entry was removed. */
  deleteSync(key: string): boolean {
    return this.store.delete(key);
  }

  // Not `async`: one already-settled promise per call and no extra microtask hops on the hit path.
  get(key: string): Promise<TierEntry | undefined> {
    try {
      return Promise.resolve(this.store.get(key));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  set(key: string, entry: TierEntry): Promise<void> {
    try {
      this.setSync(key, entry);
      return RESOLVED;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  delete(key: string): Promise<void> {
    try {
      this.store.delete(key);
      return RESOLVED;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Drops every entry (no eviction callbacks); cumulative stats are kept. */
  clear(): void {
    this.store.clear();
  }
}
