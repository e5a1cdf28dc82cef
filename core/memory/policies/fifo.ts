/** @module FIFO: evict in insertion order, blind to reads. */
import { LinkedList, type Linked } from "../list.ts";
import type { EvictionPolicy, PolicyNode, Victim } from "./types.ts";

class FifoNode implements PolicyNode, Linked<FifoNode> {
  readonly key: string;
  prev: FifoNode | null = null;
  next: FifoNode | null = null;
  constructor(key: string) {
    this.key = key;
  }
}

/**
 * Head = first inserted. Replacing a key's value keeps its place in the queue: the queue orders keys by when
 * they entered the cache, and refreshing a value is not a new arrival. Only delete/evict then set re-queues.
 */
export class FifoPolicy implements EvictionPolicy<FifoNode> {
  readonly name = "FIFO";
  private readonly order = new LinkedList<FifoNode>();

  onInsert(key: string): FifoNode {
    const node = new FifoNode(key);
    this.order.push(node);
    return node;
  }

  onAccess(): void {}

  onUpdate(): void {}

  onRemove(node: FifoNode): void {
    this.order.unlink(node);
  }

  victim(protect?: FifoNode): Victim<FifoNode> | undefined {
    const head = this.order.head;
    const node = head === protect ? head?.next : head;
    return node ? { node, rejected: false } : undefined;
  }

  setCapacity(): void {}

  clear(): void {
    this.order.clear();
  }
}
