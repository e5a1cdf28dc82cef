/**
 * @module Offline bounds for cache hit ratios with equal-size entries: Belady's OPT simulated exactly on a trace,
 * and the perfect-frequency bound of a Zipf distribution.
 */

/** A trace with each key replaced by a dense integer id (0..distinct-1), the form the simulator works on. */
export interface InternedTrace {
  ids: Int32Array;
  distinct: number;
}

export function internTrace(trace: readonly string[]): InternedTrace {
  const idOf = new Map<string, number>();
  const ids = new Int32Array(trace.length);
  for (let i = 0; i < trace.length; i++) {
    const key = trace[i] as string;
    let id = idOf.get(key);
    if (id === undefined) {
      id = idOf.size;
      idOf.set(key, id);
    }
    ids[i] = id;
  }
  return { ids, distinct: idOf.size };
}

/**
 * For each request, the index of the same key's next request, or `ids.length` when it never comes back. One backward
 * pass remembering where each key was seen last.
 */
export function nextUses(trace: InternedTrace): Int32Array {
  const { ids, distinct } = trace;
  const never = ids.length;
  const seenAt = new Int32Array(distinct).fill(never);
  const next = new Int32Array(ids.length);
  for (let i = ids.length - 1; i >= 0; i--) {
    const id = ids[i] as number;
    next[i] = seenAt[id] as number;
    seenAt[id] = i;
  }
  return next;
}

/**
 * Belady's MIN with bypass: on a miss with the cache full, whichever of the cached keys and the requested one is
 * needed furthest in the future is left out. Bypass matters because CUSTOM may refuse a write; with it, OPT is an
 * upper bound for every policy here, admission policies included. Exact for equal-size entries: O(n log C) with an
 * indexed max-heap of the cached keys ordered by next use. Pass `next` to share one backward pass between sizes.
 */
export function beladyHits(trace: InternedTrace, capacity: number, next: Int32Array = nextUses(trace)): number {
  if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`capacity must be an integer >= 0, got ${capacity}`);
  if (next.length !== trace.ids.length) throw new RangeError("next-use table does not belong to this trace");
  const heap = new NextUseHeap(capacity, trace.distinct);
  let hits = 0;
  for (let i = 0; i < trace.ids.length; i++) {
    const id = trace.ids[i] as number;
    const nextUse = next[i] as number;
    if (heap.has(id)) {
      hits++;
      heap.reschedule(id, nextUse);
    } else if (heap.size < capacity) {
      heap.insert(id, nextUse);
    } else if (capacity > 0 && heap.furthest() > nextUse) {
      heap.replaceFurthest(id, nextUse);
    }
  }
  return hits;
}

/**
 * Max-heap of cached key ids by next use, with each id's slot kept so a hit can re-key it in place. A hit only ever
 * pushes a key's next use later, so re-keying is a sift-up.
 */
class NextUseHeap {
  private readonly keys: Int32Array;
  private readonly slotOf: Int32Array;
  private readonly nextOf: Int32Array;
  size = 0;

  constructor(capacity: number, distinct: number) {
    this.keys = new Int32Array(capacity);
    this.slotOf = new Int32Array(distinct).fill(-1);
    this.nextOf = new Int32Array(distinct);
  }

  has(id: number): boolean {
    return (this.slotOf[id] as number) >= 0;
  }

  furthest(): number {
    return this.nextOf[this.keys[0] as number] as number;
  }

  insert(id: number, nextUse: number): void {
    this.nextOf[id] = nextUse;
    this.place(id, this.size++);
    this.siftUp(this.size - 1);
  }

  reschedule(id: number, nextUse: number): void {
    this.nextOf[id] = nextUse;
    this.siftUp(this.slotOf[id] as number);
  }

  replaceFurthest(id: number, nextUse: number): void {
    this.slotOf[this.keys[0] as number] = -1;
    this.nextOf[id] = nextUse;
    this.place(id, 0);
    this.siftDown(0);
  }

  private place(id: number, slot: number): void {
    this.keys[slot] = id;
    this.slotOf[id] = slot;
  }

  private later(slotA: number, slotB: number): boolean {
    return (this.nextOf[this.keys[slotA] as number] as number) > (this.nextOf[this.keys[slotB] as number] as number);
  }

  private swap(a: number, b: number): void {
    const idA = this.keys[a] as number;
    this.place(this.keys[b] as number, a);
    this.place(idA, b);
  }

  private siftUp(start: number): void {
    let slot = start;
    while (slot > 0) {
      const parent = (slot - 1) >>> 1;
      if (!this.later(slot, parent)) return;
      this.swap(slot, parent);
      slot = parent;
    }
  }

  private siftDown(start: number): void {
    let slot = start;
    for (;;) {
      const left = 2 * slot + 1;
      if (left >= this.size) return;
      const right = left + 1;
      const child = right < this.size && this.later(right, left) ? right : left;
      if (!this.later(child, slot)) return;
      this.swap(slot, child);
      slot = child;
    }
  }
}

/**
 * Share of requests that a cache always holding the `capacity` most probable of `keys` Zipf(s) keys would hit: the
 * sum of the top-C probabilities. On independent requests no online policy does better in expectation — each request
 * hits with at most the probability mass of whatever C keys are cached — so it is the bar for admission policies,
 * which only see the past. Computed from the distribution, not from a sample of it.
 */
export function perfectFrequencyBound(keys: number, s: number, capacity: number): number {
  if (!Number.isInteger(keys) || keys < 1) throw new RangeError(`keys must be an integer >= 1, got ${keys}`);
  const top = Math.max(0, Math.min(keys, Math.floor(capacity)));
  let head = 0;
  let total = 0;
  // Smallest terms first, so the long tail is not lost to rounding against the large head.
  for (let k = keys; k >= 1; k--) {
    const p = 1 / Math.pow(k, s);
    total += p;
    if (k <= top) head += p;
  }
  return head / total;
}
