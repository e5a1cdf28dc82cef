/** @module The one internal interface every isolate-memory eviction policy implements. */

export type EvictionPolicyName = "LRU" | "LFU" | "FIFO" | "TTL" | "RANDOM" | "CUSTOM";

/** Opaque per-entry handle owned by a policy; the store keeps it beside the value so hits need no second lookup. */
export interface PolicyNode {
  readonly key: string;
}

export interface Victim<N extends PolicyNode = PolicyNode> {
  node: N;
  /** True when the entry lost an admission contest rather than being the policy's plain eviction choice. */
  rejected: boolean;
}

export interface PolicyOptions {
  /** Byte budget of the whole store; only policies that partition it (CUSTOM) care. */
  capacity: number;
  /** Uniform [0, 1) source, injectable so tests are deterministic. */
  random: () => number;
}

/**
 * The store calls these hooks; a policy never removes entries itself, it only names the next one to go.
 * `size` is the entry's charged size in bytes (payload plus the store's per-entry overhead).
 * Nodes passed back in must be ones this same policy instance returned from `onInsert` and has not seen removed.
 */
export interface EvictionPolicy<N extends PolicyNode = PolicyNode> {
  readonly name: EvictionPolicyName;
  onInsert(key: string, size: number, expiresAt: number): N;
  /** A read hit. */
  onAccess(node: N): void;
  /** The value of an existing key was replaced (new size and expiry). */
  onUpdate(node: N, size: number, expiresAt: number): void;
  onRemove(node: N): void;
  /**
   * The entry to evict next; called only while the store is over budget. `protect` is the entry being written by
   * the current `set`, which plain policies never pick (the write is what needs the room); admission policies may
   * still reject it. Undefined only when nothing else is evictable.
   */
  victim(protect?: N): Victim<N> | undefined;
  setCapacity(bytes: number): void;
  clear(): void;
}
