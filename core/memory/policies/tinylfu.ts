/** @module CUSTOM = W-TinyLFU: a small LRU admission window in front of a segmented LRU, gated by a frequency sketch. */
import { LinkedList, type Linked } from "../list.ts";
import { FrequencySketch, hashKey } from "../sketch.ts";
import type { EvictionPolicy, PolicyNode, PolicyOptions, Victim } from "./types.ts";

const WINDOW = 0;
const PROBATION = 1;
const PROTECTED = 2;
type Region = typeof WINDOW | typeof PROBATION | typeof PROTECTED;

/** Share of capacity for the recency window: small, so the sketch decides for almost all of the cache. */
const WINDOW_FRACTION = 0.01;
/** Share of the main region reserved for entries that proved themselves with a second hit. */
const PROTECTED_FRACTION = 0.8;
/**
 * A candidate that loses by frequency is still admitted with probability 1/128 once it is itself warm. Without
 * this an attacker who can inflate one victim's counters (hash collisions) could pin it and starve new keys.
 */
const WARM_CANDIDATE = 6;
const LUCKY_ADMISSION = 1 / 128;
/**
 * Sketch tuning, measured with `npm run bench -- eviction` (100k keys, 1M requests). On Zipf 0.9 with a cache of 1% of
 * the keys, the sketch's own defaults (4 columns and 10 samples per entry, counters capped at 15) gave 43.6% against a
 * perfect-frequency bound of 47.4%. Keys near the admission boundary there are requested about once per 10 x C requests
 * (C = cached entries), so a period of 10 samples per entry decides their contests on zero or one sighting; 30 gives
 * them a few (+2.0 points). Eight columns per entry stop the cold tail from inflating estimates through collisions (+0.8
 * points, for 32 bytes of sketch per entry). The longer memory makes the sketch slower to forget a popularity shift;
 * capping counters at 7 saves one of the halvings a formerly hot key needs to look cold (+1.4 points on the shifting
 * trace at 10%, nothing lost on stationary Zipf). Net: 45.9% on that Zipf; 54.0% (was 54.9%) on the shifting trace
 * at 10%, the one figure that got worse.
 */
const SKETCH_COLUMNS_PER_ENTRY = 8;
const SKETCH_SAMPLES_PER_ENTRY = 30;
const SKETCH_MAX_COUNT = 7;

class TinyLfuNode implements PolicyNode, Linked<TinyLfuNode> {
  readonly key: string;
  readonly hash: number;
  size: number;
  region: Region = WINDOW;
  prev: TinyLfuNode | null = null;
  next: TinyLfuNode | null = null;
  constructor(key: string, hash: number, size: number) {
    this.key = key;
    this.hash = hash;
    this.size = size;
  }
}

export interface TinyLfuOptions extends PolicyOptions {
  /** Window share of capacity; default 1%. */
  windowFraction?: number;
  /** Off by default: on the Zipf and scan traces in test/core/memory.test.ts it cost 1–2 points of hit ratio. */
  doorkeeper?: boolean;
  /** Sketch tuning; see FrequencySketchOptions. Defaults: 8 columns, 30 samples per entry, counters capped at 7. */
  columnsPerEntry?: number;
  samplesPerEntry?: number;
  maxCount?: number;
}

/**
 * Every write lands in the window (LRU). Window overflow moves into probation for free while the main region has
 * room; once it is full, the window's oldest entry (the candidate) is compared by sketch estimate with the main
 * region's victim (probation's LRU, else protected's LRU) and the loser is evicted — ties keep the incumbent, so a
 * one-hit wonder cannot displace anything that was used at least as often. A hit in probation promotes to
 * protected; protected overflow demotes its LRU back to probation.
 *
 * Budgets are bytes. The window is 1% of capacity but never less than the average entry, so a small cache still
 * gives each newcomer a chance to earn a second hit before it has to compete.
 */
export class WTinyLfuPolicy implements EvictionPolicy<TinyLfuNode> {
  readonly name = "CUSTOM";
  private capacity: number;
  private readonly windowFraction: number;
  private readonly random: () => number;
  private readonly seed: number;
  private readonly sketch: FrequencySketch;
  private readonly window = new LinkedList<TinyLfuNode>();
  private readonly probation = new LinkedList<TinyLfuNode>();
  private readonly protectedRegion = new LinkedList<TinyLfuNode>();
  private windowBytes = 0;
  private probationBytes = 0;
  private protectedBytes = 0;

  constructor(options: TinyLfuOptions) {
    this.capacity = options.capacity;
    this.windowFraction = options.windowFraction ?? WINDOW_FRACTION;
    this.random = options.random;
    this.seed = Math.floor(options.random() * 0x100000000) >>> 0;
    this.sketch = new FrequencySketch({
      doorkeeper: options.doorkeeper,
      columnsPerEntry: options.columnsPerEntry ?? SKETCH_COLUMNS_PER_ENTRY,
      samplesPerEntry: options.samplesPerEntry ?? SKETCH_SAMPLES_PER_ENTRY,
      maxCount: options.maxCount ?? SKETCH_MAX_COUNT,
    });
  }

  /** Sketch estimate for a key (for tests and diagnostics). */
  frequency(key: string): number {
    return this.sketch.estimate(hashKey(key, this.seed));
  }

  /** The admission test: does `candidate` deserve the place `victim` holds? */
  admit(candidate: TinyLfuNode, victim: TinyLfuNode): boolean {
    const candidateFrequency = this.sketch.estimate(candidate.hash);
    const victimFrequency = this.sketch.estimate(victim.hash);
    if (candidateFrequency > victimFrequency) return true;
    return candidateFrequency >= WARM_CANDIDATE && this.random() < LUCKY_ADMISSION;
  }

  onInsert(key: string, size: number): TinyLfuNode {
    const node = new TinyLfuNode(key, hashKey(key, this.seed), size);
    this.sketch.ensureCapacity(this.entries() + 1);
    this.sketch.increment(node.hash);
    this.window.push(node);
    this.windowBytes += size;
    this.drainWindow();
    return node;
  }

  onAccess(node: TinyLfuNode): void {
    this.sketch.increment(node.hash);
    this.touch(node);
  }

  onUpdate(node: TinyLfuNode, size: number): void {
    this.addBytes(node.region, size - node.size);
    node.size = size;
    this.onAccess(node);
    this.rebalanceProtected(node);
    this.drainWindow();
  }

  onRemove(node: TinyLfuNode): void {
    this.list(node.region).unlink(node);
    this.addBytes(node.region, -node.size);
    this.drainWindow();
  }

  victim(): Victim<TinyLfuNode> | undefined {
    this.drainWindow();
    const mainVictim = this.mainVictim();
    const candidate = this.windowBytes > this.windowBudget() ? this.window.head : null;
    if (candidate !== null) {
      // Main is empty only when the candidate alone outgrows the main budget; nothing to compete with.
      if (mainVictim === null) return { node: candidate, rejected: false };
      return this.admit(candidate, mainVictim)
        ? { node: mainVictim, rejected: false }
        : { node: candidate, rejected: true };
    }
    const node = mainVictim ?? this.window.head;
    return node ? { node, rejected: false } : undefined;
  }

  setCapacity(bytes: number): void {
    this.capacity = bytes;
    this.rebalanceProtected(null);
    this.drainWindow();
  }

  clear(): void {
    // The sketch survives: it describes the workload's popularity, which a purge of contents does not change.
    this.window.clear();
    this.probation.clear();
    this.protectedRegion.clear();
    this.windowBytes = 0;
    this.probationBytes = 0;
    this.protectedBytes = 0;
  }

  private touch(node: TinyLfuNode): void {
    switch (node.region) {
      case WINDOW:
        this.window.moveToTail(node);
        break;
      case PROBATION:
        this.move(node, PROTECTED);
        this.rebalanceProtected(node);
        break;
      case PROTECTED:
        this.protectedRegion.moveToTail(node);
        break;
    }
  }

  /**
   * Probation's LRU. On the way, protected's LRU is demoted to probation if its estimate has fallen below that
   * victim's: after the workload shifts, formerly hot keys sit idle in protected and would otherwise leave only as
   * fast as new keys get promoted past them (measured: this recovers shifting traces at ~0.5 pt cost on Zipf).
   */
  private mainVictim(): TinyLfuNode | null {
    const probation = this.probation.head;
    const protectedOldest = this.protectedRegion.head;
    if (probation === null) return protectedOldest;
    if (protectedOldest === null) return probation;
    if (this.sketch.estimate(protectedOldest.hash) < this.sketch.estimate(probation.hash)) this.move(protectedOldest, PROBATION);
    return probation;
  }

  private entries(): number {
    return this.window.length + this.probation.length + this.protectedRegion.length;
  }

  private windowBudget(): number {
    const count = this.entries();
    const average = count === 0 ? 0 : (this.windowBytes + this.probationBytes + this.protectedBytes) / count;
    return Math.min(this.capacity, Math.max(this.capacity * this.windowFraction, average));
  }

  /** While the main region has room, window overflow is admitted without a contest. */
  private drainWindow(): void {
    const windowBudget = this.windowBudget();
    const mainBudget = this.capacity - windowBudget;
    while (this.windowBytes > windowBudget) {
      const oldest = this.window.head;
      if (oldest === null || this.probationBytes + this.protectedBytes + oldest.size > mainBudget) return;
      this.move(oldest, PROBATION);
    }
  }

  /** Protected overflow goes back to probation's MRU end; `keep` (just promoted) is never demoted. */
  private rebalanceProtected(keep: TinyLfuNode | null): void {
    const budget = (this.capacity - this.windowBudget()) * PROTECTED_FRACTION;
    while (this.protectedBytes > budget) {
      const oldest = this.protectedRegion.head;
      if (oldest === null || oldest === keep) return;
      this.move(oldest, PROBATION);
    }
  }

  private move(node: TinyLfuNode, to: Region): void {
    this.list(node.region).unlink(node);
    this.addBytes(node.region, -node.size);
    node.region = to;
    this.list(to).push(node);
    this.addBytes(to, node.size);
  }

  private list(region: Region): LinkedList<TinyLfuNode> {
    return region === WINDOW ? this.window : region === PROBATION ? this.probation : this.protectedRegion;
  }

  private addBytes(region: Region, delta: number): void {
    if (region === WINDOW) this.windowBytes += delta;
    else if (region === PROBATION) this.probationBytes += delta;
    else this.protectedBytes += delta;
  }
}
