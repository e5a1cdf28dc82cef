/** @module TTL: evict the entry that expires soonest, whatever its use. */
import { IndexedHeap, type HeapNode } from "../heap.ts";
import type { EvictionPolicy, PolicyNode, Victim } from "./types.ts";

class TtlNode implements PolicyNode, HeapNode {
  readonly key: string;
  expiresAt: number;
  /** Write order, so equal expiries evict the earlier-written entry first and the order is deterministic. */
  sequence: number;
  heapIndex = -1;
  constructor(key: string, expiresAt: number, sequence: number) {
    this.key = key;
    this.expiresAt = expiresAt;
    this.sequence = sequence;
  }
}

const soonerFirst = (a: TtlNode, b: TtlNode): boolean =>
  a.expiresAt < b.expiresAt || (a.expiresAt === b.expiresAt && a.sequence < b.sequence);

/**
 * Min-heap on (expiresAt, write order). A replace re-keys the entry on its new expiry and counts as a new write
 * for tie-breaking. Entries that never expire (Infinity) go last, oldest write first.
 */
export class TtlPolicy implements EvictionPolicy<TtlNode> {
  readonly name = "TTL";
  private readonly heap = new IndexedHeap<TtlNode>(soonerFirst);
  private sequence = 0;

  onInsert(key: string, _size: number, expiresAt: number): TtlNode {
    const node = new TtlNode(key, expiresAt, this.sequence++);
    this.heap.push(node);
    return node;
  }

  onAccess(): void {}

  onUpdate(node: TtlNode, _size: number, expiresAt: number): void {
    node.expiresAt = expiresAt;
    node.sequence = this.sequence++;
    this.heap.update(node);
  }

  onRemove(node: TtlNode): void {
    this.heap.remove(node);
  }

  victim(protect?: TtlNode): Victim<TtlNode> | undefined {
    const node = this.heap.peekExcept(protect);
    return node ? { node, rejected: false } : undefined;
  }

  setCapacity(): void {}

  clear(): void {
    this.heap.clear();
    this.sequence = 0;
  }
}
