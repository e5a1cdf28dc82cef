/** @module LRU: evict the entry whose last read or write is oldest. */
import { LinkedList, type Linked } from "../list.ts";
import type { EvictionPolicy, PolicyNode, Victim } from "./types.ts";

class LruNode implements PolicyNode, Linked<LruNode> {
  readonly key: string;
  prev: LruNode | null = null;
  next: LruNode | null = null;
  constructor(key: string) {
    this.key = key;
  }
}

/** Head = least recent. A replace counts as a use, like a read. */
export class LruPolicy implements EvictionPolicy<LruNode> {
  readonly name = "LRU";
  private readonly order = new LinkedList<LruNode>();

  onInsert(key: string): LruNode {
    const node = new LruNode(key);
    this.order.push(node);
    return node;
  }

  onAccess(node: LruNode): void {
    this.order.moveToTail(node);
  }

  onUpdate(node: LruNode): void {
    this.order.moveToTail(node);
  }

  onRemove(node: LruNode): void {
    this.order.unlink(node);
  }

  victim(protect?: LruNode): Victim<LruNode> | undefined {
    const head = this.order.head;
    const node = head === protect ? head?.next : head;
    return node ? { node, rejected: false } : undefined;
  }

  setCapacity(): void {}

  clear(): void {
    this.order.clear();
  }
}
