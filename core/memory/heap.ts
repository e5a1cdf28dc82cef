/** @module Indexed binary min-heap: each node remembers its slot, so removing or re-keying an arbitrary node is O(log n) instead of a scan. */

export interface HeapNode {
  /** Slot in the heap's array, or -1 while the node is not in a heap. */
  heapIndex: number;
}

export class IndexedHeap<N extends HeapNode> {
  private readonly items: N[] = [];
  private readonly less: (a: N, b: N) => boolean;

  constructor(less: (a: N, b: N) => boolean) {
    this.less = less;
  }

  get size(): number {
    return this.items.length;
  }

  peek(): N | undefined {
    return this.items[0];
  }

  /**
   * The minimum ignoring `skip`. O(1): if `skip` is the root, the runner-up of a binary heap is one of the
   * root's two children.
   */
  peekExcept(skip: N | undefined): N | undefined {
    const top = this.items[0];
    if (top === undefined || top !== skip) return top;
    const left = this.items[1];
    const right = this.items[2];
    if (left === undefined) return right;
    if (right === undefined) return left;
    return this.less(right, left) ? right : left;
  }

  push(node: N): void {
    node.heapIndex = this.items.length;
    this.items.push(node);
    this.siftUp(node.heapIndex);
  }

  remove(node: N): void {
    const index = node.heapIndex;
    if (index < 0) return;
    const last = this.items.pop();
    node.heapIndex = -1;
    if (last === undefined || last === node) return;
    this.items[index] = last;
    last.heapIndex = index;
    this.restore(index);
  }

  /** Call after changing the fields `less` reads. */
  update(node: N): void {
    if (node.heapIndex >= 0) this.restore(node.heapIndex);
  }

  clear(): void {
    for (const node of this.items) node.heapIndex = -1;
    this.items.length = 0;
  }

  private restore(index: number): void {
    if (this.siftUp(index) === index) this.siftDown(index);
  }

  private siftUp(start: number): number {
    const items = this.items;
    const node = items[start] as N;
    let index = start;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = items[parentIndex] as N;
      if (!this.less(node, parent)) break;
      items[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    items[index] = node;
    node.heapIndex = index;
    return index;
  }

  private siftDown(start: number): void {
    const items = this.items;
    const length = items.length;
    const node = items[start] as N;
    let index = start;
    for (;;) {
      const leftIndex = 2 * index + 1;
      if (leftIndex >= length) break;
      const rightIndex = leftIndex + 1;
      let childIndex = leftIndex;
      let child = items[leftIndex] as N;
      if (rightIndex < length) {
        const right = items[rightIndex] as N;
        if (this.less(right, child)) {
          childIndex = rightIndex;
          child = right;
        }
      }
      if (!this.less(child, node)) break;
      items[index] = child;
      child.heapIndex = index;
      index = childIndex;
    }
    items[index] = node;
    node.heapIndex = index;
  }
}
