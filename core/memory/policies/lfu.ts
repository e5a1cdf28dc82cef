/** @module LFU in O(1): entries live in per-frequency buckets kept in ascending order, each bucket in recency order. */
import { LinkedList, type Linked } from "../list.ts";
import type { EvictionPolicy, PolicyNode, Victim } from "./types.ts";

class Bucket implements Linked<Bucket> {
  readonly frequency: number;
  readonly entries = new LinkedList<LfuNode>();
  prev: Bucket | null = null;
  next: Bucket | null = null;
  constructor(frequency: number) {
    this.frequency = frequency;
  }
}

class LfuNode implements PolicyNode, Linked<LfuNode> {
  readonly key: string;
  bucket: Bucket;
  prev: LfuNode | null = null;
  next: LfuNode | null = null;
  constructor(key: string, bucket: Bucket) {
    this.key = key;
    this.bucket = bucket;
  }
}

/**
 * Frequency = insert + reads + replaces (a rewrite of a popular key keeps it popular). A key's count restarts
 * at 1 if it is evicted and comes back. Ties go to the least recently used: a node joins the tail of its bucket
 * when it reaches that frequency, so a bucket's head is its least recent member. Counts never decay — that is
 * classic LFU; CUSTOM is the policy that ages.
 */
export class LfuPolicy implements EvictionPolicy<LfuNode> {
  readonly name = "LFU";
  private readonly buckets = new LinkedList<Bucket>();

  onInsert(key: string): LfuNode {
    let first = this.buckets.head;
    if (first === null || first.frequency !== 1) {
      first = new Bucket(1);
      this.buckets.insertAfter(null, first);
    }
    const node = new LfuNode(key, first);
    first.entries.push(node);
    return node;
  }

  onAccess(node: LfuNode): void {
    const from = node.bucket;
    let to = from.next;
    if (to === null || to.frequency !== from.frequency + 1) {
      to = new Bucket(from.frequency + 1);
      this.buckets.insertAfter(from, to);
    }
    from.entries.unlink(node);
    to.entries.push(node);
    node.bucket = to;
    if (from.entries.length === 0) this.buckets.unlink(from);
  }

  onUpdate(node: LfuNode): void {
    this.onAccess(node);
  }

  onRemove(node: LfuNode): void {
    const bucket = node.bucket;
    bucket.entries.unlink(node);
    if (bucket.entries.length === 0) this.buckets.unlink(bucket);
  }

  victim(protect?: LfuNode): Victim<LfuNode> | undefined {
    const lowest = this.buckets.head;
    if (lowest === null) return undefined;
    let node = lowest.entries.head;
    if (node === protect) node = node?.next ?? lowest.next?.entries.head ?? null;
    return node ? { node, rejected: false } : undefined;
  }

  setCapacity(): void {}

  clear(): void {
    this.buckets.clear();
  }
}
