/**
 * @module Cache key patterns (`cache_key_pattern`, e.g. `workout:{id}`, `translation:{locale}:{id}`)
 * compiled into matchers, and an index that finds the most specific pattern for a key among many.
 *
 * Pattern language (docs/strategies.md):
 * - Text outside braces is literal and matches itself exactly (case-sensitive). There is no
 *   escape: `{` and `}` always delimit placeholders.
 * - `{name}` matches one or more characters other than `:` and captures them under `name`.
 *   Names are identifiers (`[A-Za-z_][A-Za-z0-9_]*`), unique within a pattern.
 * - Two placeholders must be separated by literal text (`{a}{b}` is rejected: nothing would say
 *   where one value ends).
 * - Because no placeholder spans a `:`, a key matches only patterns with the same number of
 *   `:`-separated segments, and each segment is matched on its own. Inside a segment holding several
 *   placeholders, each one but the last ends at the first occurrence of the literal that follows it
 *   (`{a}-{b}` on `x-y-z` captures a=`x`, b=`y-z`). That rule never backtracks, so matching is
 *   linear in the key whatever the pattern, and it finds a match whenever one exists.
 *
 * Precedence when several patterns match one key: more literal characters first, then fewer
 * placeholders, then the pattern text in code-unit order, then the order of insertion.
 */

/** Keys are stored in varchar(500) columns (cache_key_registry.cache_key). */
export const MAX_KEY_LENGTH = 500;

export class PatternError extends Error {
  override readonly name = "PatternError";
  readonly pattern: string;
  constructor(pattern: string, message: string) {
    super(`cache key pattern ${JSON.stringify(pattern)}: ${message}`);
    this.pattern = pattern;
  }
}

/** A key no strategy could ever hold: empty, or longer than MAX_KEY_LENGTH characters. */
export class InvalidKeyError extends RangeError {
  override readonly name = "InvalidKeyError";
}

/** Why `key` is not a valid cache key, or undefined when it is. */
export function keyProblem(key: string): string | undefined {
  if (key.length === 0) return "cache key is empty";
  // UTF-16 length bounds the code-point count from above, so only long keys need counting.
  if (key.length > MAX_KEY_LENGTH && [...key].length > MAX_KEY_LENGTH) {
    return `cache key is longer than ${MAX_KEY_LENGTH} characters`;
  }
  return undefined;
}

export type KeyParams = Readonly<Record<string, string>>;

/**
 * One `:`-separated segment: `lits[0] {names[0]} lits[1] … {names[k-1]} lits[k]`. With no
 * placeholder it is the literal `lits[0]`; the literals between placeholders are never empty.
 */
interface Segment {
  lits: readonly string[];
  names: readonly string[];
  /** Shortest key segment that can match: every literal plus one character per placeholder. */
  minLength: number;
}

export interface CompiledPattern {
  readonly source: string;
  /** Placeholder names in order of appearance. */
  readonly params: readonly string[];
  /** Characters outside placeholders, `:` included. */
  readonly literalLength: number;
  readonly segmentCount: number;
  /** The first segment without placeholders (where PatternIndex files the pattern), if any. */
  readonly anchor: { readonly segment: number; readonly text: string } | undefined;
  /** Captured values when `key` matches, else undefined. */
  match(key: string): KeyParams | undefined;
  /** The key for these values; throws when one is missing, empty, holds `:` or would not read back. */
  format(values: Readonly<Record<string, string>>): string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function parseSegments(pattern: string): Segment[] {
  if (pattern.length === 0) throw new PatternError(pattern, "is empty");
  const segments: Segment[] = [];
  const seen = new Set<string>();
  let lits: string[] = [];
  let names: string[] = [];
  let literal = "";
  /** True right after a placeholder, until a literal character follows. */
  let afterPlaceholder = false;
  const closeSegment = (): void => {
    lits.push(literal);
    const minLength = lits.reduce((n, l) => n + l.length, 0) + names.length;
    segments.push({ lits, names, minLength });
    lits = [];
    names = [];
    literal = "";
  };
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "}") throw new PatternError(pattern, `unmatched "}" at position ${i}`);
    if (ch === ":") {
      closeSegment();
      afterPlaceholder = false;
      continue;
    }
    if (ch !== "{") {
      literal += ch;
      afterPlaceholder = false;
      continue;
    }
    const close = pattern.indexOf("}", i + 1);
    const reopen = pattern.indexOf("{", i + 1);
    if (close === -1) throw new PatternError(pattern, `unclosed "{" at position ${i}`);
    if (reopen !== -1 && reopen < close) throw new PatternError(pattern, `"{" at position ${reopen} inside a placeholder`);
    const name = pattern.slice(i + 1, close);
    if (name.length === 0) throw new PatternError(pattern, `empty placeholder "{}" at position ${i}`);
    if (!NAME.test(name)) {
      throw new PatternError(pattern, `placeholder name ${JSON.stringify(name)} must be letters, digits and "_", not starting with a digit`);
    }
    if (seen.has(name)) throw new PatternError(pattern, `duplicate placeholder {${name}}`);
    if (afterPlaceholder) {
      throw new PatternError(pattern, `placeholders {${names[names.length - 1] ?? "?"}} and {${name}} are adjacent: put literal text between them`);
    }
    seen.add(name);
    lits.push(literal);
    names.push(name);
    literal = "";
    afterPlaceholder = true;
    i = close;
  }
  closeSegment();
  return segments;
}

/**
 * Matches one key segment, writing captures into `out`. Each placeholder but the last ends at the
 * first occurrence of the next literal: taking the earliest occurrence leaves the most room for
 * what follows, and the next placeholder absorbs any surplus, so no alternative needs trying.
 */
function matchSegment(seg: Segment, text: string, out: Record<string, string>): boolean {
  const { lits, names } = seg;
  const k = names.length;
  const head = lits[0] ?? "";
  if (k === 0) return text === head;
  if (text.length < seg.minLength) return false;
  const tail = lits[k] ?? "";
  if (!text.startsWith(head) || !text.endsWith(tail)) return false;
  const end = text.length - tail.length;
  let pos = head.length;
  for (let i = 0; i < k - 1; i++) {
    const next = lits[i + 1] ?? "";
    const at = text.indexOf(next, pos + 1);
    if (at === -1 || at + next.length >= end) return false;
    out[names[i] ?? ""] = text.slice(pos, at);
    pos = at + next.length;
  }
  if (pos >= end) return false;
  out[names[k - 1] ?? ""] = text.slice(pos, end);
  return true;
}

function matchSegments(segments: readonly Segment[], parts: readonly string[]): KeyParams | undefined {
  if (parts.length !== segments.length) return undefined;
  // No prototype: a placeholder named `__proto__` or `constructor` must stay a plain capture.
  const out = Object.create(null) as Record<string, string>;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    const part = parts[i];
    if (seg === undefined || part === undefined || !matchSegment(seg, part, out)) return undefined;
  }
  return out;
}

interface CompiledPatternImpl extends CompiledPattern {
  /** Match against a key already split on `:` (the index splits once per lookup). */
  matchParts(parts: readonly string[]): KeyParams | undefined;
}

function compile(pattern: string): CompiledPatternImpl {
  const segments = parseSegments(pattern);
  const params = segments.flatMap((s) => s.names);
  const literalLength = segments.reduce((n, s) => n + s.lits.reduce((m, l) => m + l.length, 0), 0) + segments.length - 1;
  const at = segments.findIndex((s) => s.names.length === 0);
  const anchor = at === -1 ? undefined : { segment: at, text: segments[at]?.lits[0] ?? "" };
  const matchParts = (parts: readonly string[]): KeyParams | undefined => matchSegments(segments, parts);
  const match = (key: string): KeyParams | undefined => matchParts(key.split(":"));
  const format = (values: Readonly<Record<string, string>>): string => {
    const key = segments
      .map((seg) => {
        let text = seg.lits[0] ?? "";
        seg.names.forEach((name, i) => {
          const value = Object.hasOwn(values, name) ? values[name] : undefined;
          if (typeof value !== "string" || value.length === 0) {
            throw new PatternError(pattern, `no value for {${name}}`);
          }
          if (value.includes(":")) throw new PatternError(pattern, `value of {${name}} contains ":"`);
          text += value + (seg.lits[i + 1] ?? "");
        });
        return text;
      })
      .join(":");
    // A value holding the literal that follows it would be read back split differently.
    const back = match(key);
    if (!back || params.some((name) => back[name] !== values[name])) {
      throw new PatternError(pattern, `values ${JSON.stringify(values)} do not read back from key ${JSON.stringify(key)}`);
    }
    return key;
  };
  return { source: pattern, params, literalLength, segmentCount: segments.length, anchor, match, matchParts, format };
}

/** Compiles a pattern; throws PatternError naming what is wrong with it. */
export function compilePattern(pattern: string): CompiledPattern {
  return compile(pattern);
}

export interface PatternMatch<T> {
  value: T;
  pattern: CompiledPattern;
  params: KeyParams;
}

interface Entry<T> {
  pattern: CompiledPatternImpl;
  value: T;
  seq: number;
}

/** Negative when `a` takes precedence over `b` (see the module comment). */
function precedence<T>(a: Entry<T>, b: Entry<T>): number {
  return (
    b.pattern.literalLength - a.pattern.literalLength ||
    a.pattern.params.length - b.pattern.params.length ||
    (a.pattern.source < b.pattern.source ? -1 : a.pattern.source > b.pattern.source ? 1 : 0) ||
    a.seq - b.seq
  );
}

/**
 * Many patterns, each mapped to a value. A pattern is filed under its anchor: its segment count,
 * and the position and text of its first segment without placeholders (`workout:{id}` under
 * (2, 0, `workout`), `{tenant}:orders:{id}` under (3, 1, `orders`)). A lookup splits the key once
 * and, for each anchor position in use at that segment count (usually one or two), tries the one
 * bucket named by the key's segment there. Patterns without any literal segment (`{a}:{b}`) are
 * tried for every key with their segment count. Buckets are kept in precedence order, so the
 * first hit in a bucket is its best; the best of those few hits wins.
 */
export class PatternIndex<T> {
  readonly #buckets = new Map<string, Entry<T>[]>();
  /** Segment count → anchor positions in use, ascending. */
  readonly #positions = new Map<number, number[]>();
  readonly #open = new Map<number, Entry<T>[]>();
  #seq = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Compiles and adds `pattern`; throws PatternError (and adds nothing) when it is malformed. */
  add(pattern: string, value: T): CompiledPattern {
    const compiled = compile(pattern);
    const entry: Entry<T> = { pattern: compiled, value, seq: this.#seq++ };
    const { anchor, segmentCount } = compiled;
    let bucket: Entry<T>[];
    if (anchor === undefined) {
      bucket = getOrCreate(this.#open, segmentCount);
    } else {
      bucket = getOrCreate(this.#buckets, bucketKey(segmentCount, anchor.segment, anchor.text));
      const positions = getOrCreate(this.#positions, segmentCount);
      if (!positions.includes(anchor.segment)) {
        positions.push(anchor.segment);
        positions.sort((a, b) => a - b);
      }
    }
    // Insertion keeps the bucket sorted; buckets are small and built once per config load.
    let at = bucket.length;
    while (at > 0 && precedence(entry, bucket[at - 1] as Entry<T>) < 0) at--;
    bucket.splice(at, 0, entry);
    this.#size++;
    return compiled;
  }

  /** The most specific pattern matching `key`, or undefined. */
  match(key: string): PatternMatch<T> | undefined {
    const parts = key.split(":");
    const n = parts.length;
    let best = firstHit(this.#open.get(n), parts);
    for (const position of this.#positions.get(n) ?? []) {
      const hit = firstHit(this.#buckets.get(bucketKey(n, position, parts[position] ?? "")), parts);
      if (hit && (!best || precedence(hit.entry, best.entry) < 0)) best = hit;
    }
    return best && { value: best.entry.value, pattern: best.entry.pattern, params: best.params };
  }
}

/** Segment text never holds `:`, so the key is unambiguous. */
function bucketKey(segmentCount: number, position: number, text: string): string {
  return `${segmentCount}:${position}:${text}`;
}

function getOrCreate<K, V>(map: Map<K, V[]>, key: K): V[] {
  let list = map.get(key);
  if (!list) {
    list = [];
    map.set(key, list);
  }
  return list;
}

function firstHit<T>(bucket: readonly Entry<T>[] | undefined, parts: readonly string[]): { entry: Entry<T>; params: KeyParams } | undefined {
  if (!bucket) return undefined;
  for (const entry of bucket) {
    const params = entry.pattern.matchParts(parts);
    if (params) return { entry, params };
  }
  return undefined;
}
