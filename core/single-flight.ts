/**
 * @module In-isolate stampede protection: concurrent callers asking for the same key share one load. The shared
 * promise is forgotten as soon as it settles, success or failure, so a failed load is retried by the next caller
 * and a successful one is never served from here after the fact (caching is the tiers' job, not this map's).
 */
import { joined } from "./joined.ts";

export class SingleFlight<K, V> {
  private readonly inflight = new Map<K, Promise<V>>();
  private startedCount = 0;
  private joinedCount = 0;

  /**
   * Returns the in-flight load for `key` if there is one, else starts `fn`. Every caller of one flight sees the same
   * value or the same error; a joiner gets it through a promise of its own (see core/joined.ts: on Workers the
   * callers are different requests). A synchronous throw from `fn` rejects only that caller and registers nothing.
   */
  do(key: K, fn: () => Promise<V>): Promise<V> {
    const existing = this.inflight.get(key);
    if (existing !== undefined) {
      this.joinedCount++;
      return joined(existing);
    }
    let work: Promise<V>;
    try {
      work = fn();
    } catch (error) {
      return Promise.reject(error);
    }
    this.startedCount++;
    // Removal runs before any caller's continuation, so whoever reacts to the result and asks again starts fresh.
    const flight: Promise<V> = work.then(
      (value) => {
        this.settle(key, flight);
        return value;
      },
      (error: unknown) => {
        this.settle(key, flight);
        throw error;
      },
    );
    this.inflight.set(key, flight);
    return flight;
  }

  /** Whether a load for `key` is in flight. */
  has(key: K): boolean {
    return this.inflight.has(key);
  }

  /**
   * Detaches the in-flight load for `key` (after an invalidation, say): its current callers still get its outcome,
   * but the next caller starts a new load instead of joining one that may carry superseded data.
   */
  forget(key: K): boolean {
    return this.inflight.delete(key);
  }

  /** Loads in flight. */
  get size(): number {
    return this.inflight.size;
  }

  /** Loads started and calls that joined one already in flight (a stampede shows as joined >> started). */
  stats(): { started: number; joined: number; inflight: number } {
    return { started: this.startedCount, joined: this.joinedCount, inflight: this.inflight.size };
  }

  private settle(key: K, flight: Promise<V>): void {
    // A forget() followed by a new flight for the same key must not be undone by the old one settling.
    if (this.inflight.get(key) === flight) this.inflight.delete(key);
  }
}
