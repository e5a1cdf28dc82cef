/** @module Frequency sketch for admission: a 4-row count-min sketch of small saturating counters that ages by halving, plus an optional doorkeeper. */

/**
 * FNV-1a over UTF-16 code units with the seed folded into the basis, then a murmur3-style finaliser so the low
 * bits (which pick the sketch column) depend on every input bit. A per-instance seed makes it impractical to
 * precompute keys that collide with a victim's counters.
 */
export function hashKey(key: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

export function fmix32(input: number): number {
  let h = input;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const ROWS = 4;
/** Counters saturate at 15 like 4-bit counters: beyond that, popularity differences stop mattering for admission. */
const MAX_COUNT = 15;
/** Every counter fits a byte and halving masks each byte with 0x7f, so no cap above 127 is representable. */
const MAX_COUNT_LIMIT = 127;
/** Columns per row for each entry the cache holds; wider than the entry count to keep collisions rare. */
const COLUMNS_PER_ENTRY = 4;
/**
 * Halve every counter after this many increments per cached entry, so the sketch forgets stale popularity. The period
 * follows the entry count itself, not the power-of-two column count, so it does not jump by up to 2x with cache size.
 */
const SAMPLES_PER_ENTRY = 10;
/** Floor for tiny caches, so a near-empty sketch does not halve on every few requests. */
const MIN_SAMPLE_PERIOD = 64;
const MIN_WIDTH = 64;
/** 2^20 columns x 4 rows = 4 MiB; past that a bigger sketch costs more memory than its accuracy is worth. */
const MAX_WIDTH = 1 << 20;

export interface FrequencySketchOptions {
  /** Entries the cache is expected to hold; the sketch grows later via ensureCapacity. */
  entries?: number;
  columnsPerEntry?: number;
  samplesPerEntry?: number;
  /** Count a key's first sighting per sample period in a Bloom filter instead of the counters. */
  doorkeeper?: boolean;
  /**
   * Where counters saturate (default 15, at most 127). A lower cap forgets faster: a saturated key needs one halving
   * per bit of the cap before it counts as cold again.
   */
  maxCount?: number;
}

export class FrequencySketch {
  private width: number;
  private mask: number;
  private table: Uint8Array;
  private doorkeeperBits: Uint32Array | null;
  private additions = 0;
  private sampleSize: number;
  /** Largest entry count seen so far: the sample period is derived from it. */
  private entries: number;
  private readonly columnsPerEntry: number;
  private readonly samplesPerEntry: number;
  private readonly maxCount: number;

  constructor(options: FrequencySketchOptions = {}) {
    this.columnsPerEntry = options.columnsPerEntry ?? COLUMNS_PER_ENTRY;
    this.samplesPerEntry = options.samplesPerEntry ?? SAMPLES_PER_ENTRY;
    this.maxCount = options.maxCount ?? MAX_COUNT;
    if (!Number.isInteger(this.maxCount) || this.maxCount < 1 || this.maxCount > MAX_COUNT_LIMIT) {
      throw new RangeError(`maxCount must be an integer in 1..${MAX_COUNT_LIMIT}, got ${this.maxCount}`);
    }
    this.entries = options.entries ?? 0;
    this.width = columnsFor(this.entries * this.columnsPerEntry);
    this.mask = this.width - 1;
    this.table = new Uint8Array(ROWS * this.width);
    this.doorkeeperBits = options.doorkeeper ? new Uint32Array(this.width / 8) : null;
    this.sampleSize = this.samplePeriod();
  }

  get columns(): number {
    return this.width;
  }

  /**
   * Lengthens the sample period and widens the sketch for a cache of `entries` entries (neither ever shrinks).
   * Column indices are `hash & mask`, so after doubling a key lands either in its old column or in that column plus
   * the old width; copying the old row into both halves keeps every estimate exactly as it was, so growing loses no
   * history.
   */
  ensureCapacity(entries: number): void {
    if (entries > this.entries) {
      this.entries = entries;
      this.sampleSize = this.samplePeriod();
    }
    const columns = entries * this.columnsPerEntry;
    if (columns <= this.width || this.width >= MAX_WIDTH) return;
    const oldWidth = this.width;
    const oldMask = this.mask;
    const oldTable = this.table;
    this.width = columnsFor(columns);
    this.mask = this.width - 1;
    this.table = new Uint8Array(ROWS * this.width);
    for (let row = 0; row < ROWS; row++) {
      const from = row * oldWidth;
      const to = row * this.width;
      for (let column = 0; column < this.width; column++) {
        this.table[to + column] = oldTable[from + (column & oldMask)] as number;
      }
    }
    const oldBits = this.doorkeeperBits;
    if (oldBits) {
      const bits = new Uint32Array(this.width / 8);
      const oldBitMask = oldBits.length * 32 - 1;
      for (let bit = 0; bit < bits.length * 32; bit++) {
        const source = bit & oldBitMask;
        if (((oldBits[source >>> 5] as number) >>> (source & 31)) & 1) {
          bits[bit >>> 5] = (bits[bit >>> 5] as number) | (1 << (bit & 31));
        }
      }
      this.doorkeeperBits = bits;
    }
  }

  /** Conservative update: only the counters at the current minimum grow, which keeps overestimates down. */
  increment(hash: number): void {
    if (++this.additions >= this.sampleSize) this.age();
    if (this.doorkeeperBits && !this.doorkeeperTestAndSet(hash)) return;
    const step = secondHash(hash);
    let min = this.maxCount;
    for (let row = 0; row < ROWS; row++) {
      const count = this.table[this.slot(row, hash, step)] as number;
      if (count < min) min = count;
    }
    if (min >= this.maxCount) return;
    for (let row = 0; row < ROWS; row++) {
      const slot = this.slot(row, hash, step);
      if (this.table[slot] === min) this.table[slot] = min + 1;
    }
  }

  estimate(hash: number): number {
    const step = secondHash(hash);
    let min = this.maxCount;
    for (let row = 0; row < ROWS; row++) {
      const count = this.table[this.slot(row, hash, step)] as number;
      if (count < min) min = count;
    }
    if (this.doorkeeperBits) return this.doorkeeperHas(hash) ? min + 1 : 0;
    return min;
  }

  clear(): void {
    this.table.fill(0);
    this.doorkeeperBits?.fill(0);
    this.additions = 0;
  }

  /** Halving every counter at once is what lets a formerly hot key fall out of favour. */
  private age(): void {
    const words = new Uint32Array(this.table.buffer, this.table.byteOffset, this.table.length >>> 2);
    for (let i = 0; i < words.length; i++) words[i] = ((words[i] as number) >>> 1) & 0x7f7f7f7f;
    this.doorkeeperBits?.fill(0);
    this.additions >>>= 1;
  }

  private samplePeriod(): number {
    return Math.max(MIN_SAMPLE_PERIOD, Math.ceil(this.samplesPerEntry * this.entries));
  }

  private slot(row: number, hash: number, step: number): number {
    // Double hashing (h1 + i*h2) derives four independent-enough rows from one key hash.
    return row * this.width + (((hash + Math.imul(row, step)) >>> 0) & this.mask);
  }

  private doorkeeperTestAndSet(hash: number): boolean {
    const bits = this.doorkeeperBits as Uint32Array;
    const bitMask = bits.length * 32 - 1;
    const step = secondHash(hash);
    let present = true;
    for (let i = 0; i < 2; i++) {
      const bit = ((hash + Math.imul(i + 7, step)) >>> 0) & bitMask;
      const word = bits[bit >>> 5] as number;
      const flag = 1 << (bit & 31);
      if ((word & flag) === 0) {
        present = false;
        bits[bit >>> 5] = word | flag;
      }
    }
    return present;
  }

  private doorkeeperHas(hash: number): boolean {
    const bits = this.doorkeeperBits as Uint32Array;
    const bitMask = bits.length * 32 - 1;
    const step = secondHash(hash);
    for (let i = 0; i < 2; i++) {
      const bit = ((hash + Math.imul(i + 7, step)) >>> 0) & bitMask;
      if (((bits[bit >>> 5] as number) & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

function secondHash(hash: number): number {
  // Odd, so stepping by it visits different columns in each row.
  return (fmix32(hash ^ 0x9e3779b9) | 1) >>> 0;
}

function columnsFor(entries: number): number {
  let width = MIN_WIDTH;
  while (width < entries && width < MAX_WIDTH) width *= 2;
  return width;
}
