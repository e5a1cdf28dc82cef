/** @module Isolate-memory cache tier (L1): a byte-bounded store whose eviction order is a pluggable policy. */
import { IndexedHeap, type HeapNode } from "./heap.ts";
import { createPolicy, type EvictionPolicy, type EvictionPolicyName, type PolicyNode } from "./policies/index.ts";

export type { EvictionPolicyName } from "./policies/index.ts";

/**
 * Fixed bookkeeping charged per entry on top of the caller's payload size: the Map slot, the entry object and the
 * policy node. A rough figure for V8, not a measurement — its job is to stop a flood of tiny or empty entries from
 * fitting "for free" while real heap use grows without bound.
 */
export const ENTRY_OVERHEAD_BYTES = 64;

/** Bytes an entry is charged: payload + key (2 bytes per UTF-16 unit, V8's worst case) + fixed overhead. */
export function entryCost(key: string, sizeBytes: number): number {
  return sizeBytes + key.length * 2 + ENTRY_OVERHEAD_BYTES;
}

export type EvictionReason = "capacity" | "expired" | "rejected";

export interface MemoryStoreOptions<V> {
  maxSizeBytes: number;
  policy: EvictionPolicyName;
  /** Epoch-ms clock; injectable for tests. Defaults to Date.now. */
  now?: () => number;
  /** Uniform [0, 1) source for RANDOM victims and CUSTOM's hash seed. Defaults to Math.random. */
  random?: () => number;
  /**
   * Told about every entry that leaves without an explicit delete/clear/overwrite: "capacity" (policy eviction),
   * "expired", or "rejected" (lost admission, or too large to store at all — then the value is the refused one).
   * Called after the operation has finished, so the store is consistent and may be used from the callback.
   */
  onEvict?: (key: string, value: V, reason: EvictionReason) => void;
}

export interface MemoryStoreStats {
  hits: number;
  misses: number;
  /** Policy evictions for capacity (not expirations, not rejections). */
  evictions: number;
  expirations: number;
  /** Admission-policy rejections plus writes refused for being larger than the whole store. */
  rejections: number;
  bytes: number;
  entries: number;
}

/** Default bound on `prune()` work per call, so a sweep never stalls a request. */
export const DEFAULT_PRUNE_LIMIT = 256;

class Entry<V> implements HeapNode {
  readonly key: string;
  value: V;
  cost: number;
  expiresAt: number;
  readonly node: PolicyNode;
  /** Slot in the store's expiry heap; -1 for entries that never expire (they are kept out of it). */
  heapIndex = -1;
  constructor(key: string, value: V, cost: number, expiresAt: number, node: PolicyNode) {
    this.key = key;
    this.value = value;
    this.cost = cost;
    this.expiresAt = expiresAt;
    this.node = node;
  }
}

interface PendingEviction<V> {
  key: string;
  value: V;
  reason: EvictionReason;
}

/**
 * Invariant after every public call: `bytes <= maxSizeBytes`, where bytes is the sum of `entryCost` over stored
 * entries. Expired entries are dropped lazily when touched, proactively by `prune()`, and ahead of any policy
 * victim when room is needed (an expiry min-heap finds them in O(log n)). Gets are O(1) for every policy; writes
 * are O(1) amortised plus O(log n) for the expiry heap (and TTL's own heap).
 */
export class MemoryStore<V> {
  readonly policyName: EvictionPolicyName;
  private maxBytes: number;
  private usedBytes = 0;
  private readonly map = new Map<string, Entry<V>>();
  private readonly expiry = new IndexedHeap<Entry<V>>((a, b) => a.expiresAt < b.expiresAt);
  private readonly policy: EvictionPolicy;
  private readonly now: () => number;
  private readonly onEvict: ((key: string, value: V, reason: EvictionReason) => void) | undefined;
  private pending: PendingEviction<V>[] | null = null;
  private hits = 0;
  private misses = 0;
  private evictions = 0;
  private expirations = 0;
  private rejections = 0;

  constructor(options: MemoryStoreOptions<V>) {
    checkBytes("maxSizeBytes", options.maxSizeBytes);
    this.maxBytes = options.maxSizeBytes;
    this.policyName = options.policy;
    this.now = options.now ?? Date.now;
    this.onEvict = options.onEvict;
    this.policy = createPolicy(options.policy, { capacity: options.maxSizeBytes, random: options.random ?? Math.random });
  }

  get maxSizeBytes(): number {
    return this.maxBytes;
  }

  get size(): number {
    return this.map.size;
  }

  /** Charged bytes of everything stored, expired-but-unreclaimed entries included. */
  get bytes(): number {
    return this.usedBytes;
  }

  /** A hit counts as a use for the policy; an expired entry is removed and counts as a miss. */
  get(key: string): V | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) {
      this.misses++;
      return undefined;
    }
    if (entry.expiresAt <= this.now()) {
      this.misses++;
      this.drop(entry, "expired");
      this.flush();
      return undefined;
    }
    this.hits++;
    this.policy.onAccess(entry.node);
    return entry.value;
  }

  /** Read without touching policy order, stats, or expired entries. */
  peek(key: string): V | undefined {
    const entry = this.map.get(key);
    return entry !== undefined && entry.expiresAt > this.now() ? entry.value : undefined;
  }

  /** Live (unexpired) presence, without side effects. */
  has(key: string): boolean {
    const entry = this.map.get(key);
    return entry !== undefined && entry.expiresAt > this.now();
  }

  /**
   * Stores `value`, charged `entryCost(key, sizeBytes)`, live until `expiresAt` (epoch ms, exclusive; Infinity =
   * never). Returns whether the value is stored when the call returns. It is not when it alone exceeds
   * maxSizeBytes, when it is already expired, or when the admission policy turned it away. In those cases any
   * previous value of the key is dropped too: the caller meant to replace it, so serving it on would be stale.
   * Replacing a key keeps the policy's bookkeeping for it (see each policy for what a replace means).
   */
  set(key: string, value: V, sizeBytes: number, expiresAt: number): boolean {
    checkBytes("sizeBytes", sizeBytes);
    if (Number.isNaN(expiresAt)) throw new RangeError("expiresAt must be an epoch-ms number or Infinity");
    const now = this.now();
    const cost = entryCost(key, sizeBytes);
    const existing = this.map.get(key);
    if (cost > this.maxBytes || expiresAt <= now) {
      if (existing !== undefined) this.detach(existing);
      if (cost > this.maxBytes) {
        this.rejections++;
        this.queue(key, value, "rejected");
      }
      this.flush();
      return false;
    }
    let entry: Entry<V>;
    if (existing !== undefined) {
      entry = existing;
      this.usedBytes += cost - entry.cost;
      entry.value = value;
      entry.cost = cost;
      this.setExpiry(entry, expiresAt);
      this.policy.onUpdate(entry.node, cost, expiresAt);
    } else {
      entry = new Entry(key, value, cost, expiresAt, this.policy.onInsert(key, cost, expiresAt));
      this.map.set(key, entry);
      if (expiresAt !== Infinity) this.expiry.push(entry);
      this.usedBytes += cost;
    }
    this.shrinkTo(this.maxBytes, now, entry);
    const stored = this.map.get(key) === entry;
    this.flush();
    return stored;
  }

  /** True when a live entry was removed. An expired one found here is reclaimed as an expiration. */
  delete(key: string): boolean {
    const entry = this.map.get(key);
    if (entry === undefined) return false;
    if (entry.expiresAt <= this.now()) {
      this.drop(entry, "expired");
      this.flush();
      return false;
    }
    this.detach(entry);
    return true;
  }

  /** Empties the store without onEvict callbacks; cumulative stats are kept. */
  clear(): void {
    this.map.clear();
    this.expiry.clear();
    this.policy.clear();
    this.usedBytes = 0;
  }

  /** Live keys in insertion order (not eviction order). */
  *keys(): Generator<string, void, undefined> {
    const now = this.now();
    for (const entry of this.map.values()) {
      if (entry.expiresAt > now) yield entry.key;
    }
  }

  stats(): MemoryStoreStats {
    return {
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
      expirations: this.expirations,
      rejections: this.rejections,
      bytes: this.usedBytes,
      entries: this.map.size,
    };
  }

  /** Changes the byte budget, evicting (expired first, then in policy order) down to it. */
  resize(maxSizeBytes: number): void {
    checkBytes("maxSizeBytes", maxSizeBytes);
    this.maxBytes = maxSizeBytes;
    this.policy.setCapacity(maxSizeBytes);
    this.shrinkTo(maxSizeBytes, this.now(), undefined);
    this.flush();
  }

  /** Removes up to `limit` expired entries, soonest-expired first; returns how many it removed. */
  prune(limit: number = DEFAULT_PRUNE_LIMIT): number {
    const now = this.now();
    let removed = 0;
    while (removed < limit) {
      const top = this.expiry.peek();
      if (top === undefined || top.expiresAt > now) break;
      this.drop(top, "expired");
      removed++;
    }
    this.flush();
    return removed;
  }

  /** Dead entries go before live ones; then the policy picks, never the entry being written (`protect`). */
  private shrinkTo(limit: number, now: number, protect: Entry<V> | undefined): void {
    while (this.usedBytes > limit) {
      const soonest = this.expiry.peek();
      if (soonest !== undefined && soonest.expiresAt <= now) {
        this.drop(soonest, "expired");
        continue;
      }
      const victim = this.policy.victim(protect?.node);
      if (victim === undefined) return;
      const entry = this.map.get(victim.node.key);
      if (entry === undefined || entry.node !== victim.node) {
        throw new Error(`eviction policy ${this.policyName} named an entry the store does not hold`);
      }
      this.drop(entry, victim.rejected ? "rejected" : "capacity");
    }
  }

  private setExpiry(entry: Entry<V>, expiresAt: number): void {
    entry.expiresAt = expiresAt;
    if (expiresAt === Infinity) this.expiry.remove(entry);
    else if (entry.heapIndex < 0) this.expiry.push(entry);
    else this.expiry.update(entry);
  }

  private drop(entry: Entry<V>, reason: EvictionReason): void {
    this.detach(entry);
    if (reason === "capacity") this.evictions++;
    else if (reason === "expired") this.expirations++;
    else this.rejections++;
    this.queue(entry.key, entry.value, reason);
  }

  private detach(entry: Entry<V>): void {
    this.map.delete(entry.key);
    this.expiry.remove(entry);
    this.policy.onRemove(entry.node);
    this.usedBytes -= entry.cost;
  }

  private queue(key: string, value: V, reason: EvictionReason): void {
    if (this.onEvict === undefined) return;
    (this.pending ??= []).push({ key, value, reason });
  }

  /** Runs callbacks only once the store is consistent; every callback runs even if one throws. */
  private flush(): void {
    const pending = this.pending;
    if (pending === null || this.onEvict === undefined) return;
    this.pending = null;
    let failure: { error: unknown } | undefined;
    for (const { key, value, reason } of pending) {
      try {
        this.onEvict(key, value, reason);
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== undefined) throw failure.error;
  }
}

function checkBytes(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a finite number >= 0, got ${value}`);
}
