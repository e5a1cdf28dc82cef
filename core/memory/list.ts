/** @module Intrusive doubly-linked list: the element is its own link, so moving or unlinking allocates nothing and costs O(1). */

export interface Linked<N> {
  prev: N | null;
  next: N | null;
}

/**
 * `head` is the oldest end and `tail` the newest. A node may sit in at most one list at a time, and callers
 * must only unlink nodes that are in this list; the list cannot check that without a scan.
 */
export class LinkedList<N extends Linked<N>> {
  head: N | null = null;
  tail: N | null = null;
  length = 0;

  push(node: N): void {
    node.prev = this.tail;
    node.next = null;
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
    this.length++;
  }

  /** Inserts `node` right after `ref`; a null `ref` means at the head. */
  insertAfter(ref: N | null, node: N): void {
    if (ref === null) {
      node.prev = null;
      node.next = this.head;
      if (this.head) this.head.prev = node;
      else this.tail = node;
      this.head = node;
    } else {
      node.prev = ref;
      node.next = ref.next;
      if (ref.next) ref.next.prev = node;
      else this.tail = node;
      ref.next = node;
    }
    this.length++;
  }

  unlink(node: N): void {
    const { prev, next } = node;
    if (prev) prev.next = next;
    else this.head = next;
    if (next) next.prev = prev;
    else this.tail = prev;
    node.prev = null;
    node.next = null;
    this.length--;
  }

  moveToTail(node: N): void {
    if (this.tail === node) return;
    this.unlink(node);
    this.push(node);
  }

  clear(): void {
    this.head = null;
    this.tail = null;
    this.length = 0;
  }
}
