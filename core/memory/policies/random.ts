/** @module RANDOM: evict a uniformly chosen entry in O(1) from a dense array with swap-remove. */
import type { EvictionPolicy, PolicyNode, Victim } from "./types.ts";

class RandomNode implements PolicyNode {
  readonly key: string;
  index: number;
  constructor(key: string, index: number) {
    this.key = key;
    this.index = index;
  }
}

/** The victim is slot floor(random() * n) of the array of entries other than the one being written. */
export class RandomPolicy implements EvictionPolicy<RandomNode> {
  readonly name = "RANDOM";
  private readonly nodes: RandomNode[] = [];
  private readonly random: () => number;

  constructor(random: () => number) {
    this.random = random;
  }

  onInsert(key: string): RandomNode {
    const node = new RandomNode(key, this.nodes.length);
    this.nodes.push(node);
    return node;
  }

  onAccess(): void {}

  onUpdate(): void {}

  onRemove(node: RandomNode): void {
    const last = this.nodes.pop();
    if (last !== undefined && last !== node) {
      this.nodes[node.index] = last;
      last.index = node.index;
    }
    node.index = -1;
  }

  victim(protect?: RandomNode): Victim<RandomNode> | undefined {
    const skip = protect !== undefined && protect.index >= 0 ? protect.index : -1;
    const choices = skip >= 0 ? this.nodes.length - 1 : this.nodes.length;
    if (choices <= 0) return undefined;
    // Clamp because a custom random source may return exactly 1.
    let index = Math.min(choices - 1, Math.floor(this.random() * choices));
    if (skip >= 0 && index >= skip) index++;
    const node = this.nodes[index];
    return node ? { node, rejected: false } : undefined;
  }

  setCapacity(): void {}

  clear(): void {
    for (const node of this.nodes) node.index = -1;
    this.nodes.length = 0;
  }
}
