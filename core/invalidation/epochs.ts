/**
 * @module The epoch store: every invalidation is one atomic bump in Redis, and every reader
 * judges each entry it finds against the bumps it has seen (docs/invalidation.md).
 *
 * Layout under the key prefix:
 * - `<prefix>epochs` (hash): field `#` is a global sequence number, incremented by every bump;
 *   every other field is a *scope* (`s:<strategyId>`, `l:<layerId>`, `t:<tag>`, `k:<key>`)
 *   holding `"<seq>,<hardSeq>,<atMs>"`: the sequence number of its last bump, of its last hard
 *   bump, and when that last bump happened.
 * - `<prefix>epochs:journal` (stream): one entry per bump (`s` seq, `m` mode, `a` at, `k` the
 *   scopes, newline-separated), so that readers catch up incrementally instead of re-reading the
 *   hash. Trimmed to about 10,000 entries; a reader that falls further behind reloads the hash.
 * - `<prefix>inv:applied:<id>`: set by a bump that carries an idempotency id, so that the same
 *   invalidation delivered twice bumps once.
 *
 * An entry is stamped with the sequence number its writer had seen *before* it read the origin.
 * A scope bumped later (seq greater than the stamp) invalidates it, wherever it is stored.
 */
import type { CircuitBreaker } from "../circuit-breaker.ts";
import { LuaScript, type ScriptClient } from "../redis-script.ts";
import { bounded, DependencyError } from "../timeout.ts";
import type { InvalidationMode } from "./types.ts";

export type Scope = `s:${string}` | `l:${string}` | `t:${string}` | `k:${string}`;

export const scopeOf = {
  strategy: (id: string): Scope => `s:${id}`,
  layer: (id: string): Scope => `l:${id}`,
  tag: (tag: string): Scope => `t:${tag}`,
  key: (key: string): Scope => `k:${key}`,
};

/** The state of one scope: its last bump, its last hard bump (0: none), and when the last bump happened. */
export interface ScopeState {
  seq: number;
  hard: number;
  at: number;
}

export interface BumpResult {
  /** False when the idempotency id had already been applied: nothing changed. */
  applied: boolean;
  /** The sequence number of this bump (or the current one, when not applied). */
  seq: number;
}

export interface JournalEntry {
  id: string;
  seq: number;
  mode: InvalidationMode;
  at: number;
  scopes: string[];
}

/** Most scopes per bump: bounds one script's run time and one journal entry's size. */
export const MAX_SCOPES_PER_BUMP = 500;
const JOURNAL_MAXLEN = 10_000;
/** How long an applied idempotency id is remembered: longer than SQS keeps a message (4 days). */
const APPLIED_TTL_SECONDS = 5 * 24 * 3600;

/**
 * KEYS[1] hash, KEYS[2] journal, KEYS[3] idempotency marker. ARGV[1] '1' to use the marker,
 * ARGV[2] mode, ARGV[3] now ms, ARGV[4] marker TTL s, ARGV[5] journal maxlen, ARGV[6..] scopes.
 * Returns {applied, seq}.
 */
const BUMP_SCRIPT = `if ARGV[1] == '1' then
  if not redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[4]) then
    return {0, tonumber(redis.call('HGET', KEYS[1], '#') or '0')}
  end
end
local seq = redis.call('HINCRBY', KEYS[1], '#', 1)
local hardMode = ARGV[2] == 'HARD'
local scopes = {}
for i = 6, #ARGV do
  local scope = ARGV[i]
  local hard = 0
  if hardMode then
    hard = seq
  else
    local cur = redis.call('HGET', KEYS[1], scope)
    if cur then hard = tonumber(string.match(cur, '^[^,]*,([^,]*)')) or 0 end
  end
  redis.call('HSET', KEYS[1], scope, seq .. ',' .. hard .. ',' .. ARGV[3])
  scopes[#scopes + 1] = scope
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 's', seq, 'm', ARGV[2], 'a', ARGV[3], 'k', table.concat(scopes, '\\n'))
return {1, seq}`;

/** KEYS[1] hash, KEYS[2] journal. Returns {flat hash, id of the newest journal entry or ''}: one consistent cut. */
const LOAD_SCRIPT = `local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local id = ''
if last[1] then id = last[1][1] end
return {redis.call('HGETALL', KEYS[1]), id}`;

/**
 * KEYS[1] journal, KEYS[2] hash. ARGV[1] last id seen, ARGV[2] max entries. Returns
 * {current global seq, entries after ARGV[1]} where each entry is {id, {field, value, ...}}.
 */
const FOLLOW_SCRIPT = `return {tonumber(redis.call('HGET', KEYS[2], '#') or '0'), redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])}`;

const BUMP = new LuaScript(BUMP_SCRIPT);
const LOAD = new LuaScript(LOAD_SCRIPT);
const FOLLOW = new LuaScript(FOLLOW_SCRIPT);

export const EPOCH_SCRIPTS = { bump: BUMP_SCRIPT, load: LOAD_SCRIPT, follow: FOLLOW_SCRIPT } as const;

export interface EpochStoreOptions {
  client: ScriptClient;
  keyPrefix?: string;
  timeoutMs?: number;
  now?: () => number;
  /** Shared with the Redis tier: while Redis is known to be down, calls fail at once. */
  breaker?: CircuitBreaker | undefined;
}

export interface EpochSnapshot {
  seq: number;
  scopes: Map<string, ScopeState>;
  /** Journal id the snapshot is consistent with ('' when the journal is empty). */
  journalId: string;
}

export interface FollowResult {
  /** The global sequence number in Redis when the journal was read. */
  seq: number;
  entries: JournalEntry[];
}

export class EpochStore {
  readonly hashKey: string;
  readonly journalKey: string;
  readonly #prefix: string;
  readonly #client: ScriptClient;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #breaker: CircuitBreaker | undefined;

  constructor(opts: EpochStoreOptions) {
    this.#breaker = opts.breaker;
    this.#prefix = opts.keyPrefix ?? "strata:v1:";
    this.hashKey = `${this.#prefix}epochs`;
    this.journalKey = `${this.#prefix}epochs:journal`;
    this.#client = opts.client;
    this.#timeoutMs = opts.timeoutMs ?? 1000;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * Bumps `scopes` in one atomic step. With `idempotencyId`, a second bump with the same id is a
   * no-op (an SQS redelivery). More than MAX_SCOPES_PER_BUMP scopes is a programming error: the
   * caller chunks, with a distinct id per chunk.
   */
  async bump(scopes: readonly string[], mode: InvalidationMode, idempotencyId?: string): Promise<BumpResult> {
    if (scopes.length === 0) throw new RangeError("bump needs at least one scope");
    if (scopes.length > MAX_SCOPES_PER_BUMP) throw new RangeError(`at most ${MAX_SCOPES_PER_BUMP} scopes per bump, got ${scopes.length}`);
    for (const scope of scopes) {
      if (!/^[slkt]:./.test(scope) || scope.includes("\n")) throw new RangeError(`not a scope: ${JSON.stringify(scope)}`);
    }
    const marker = `${this.#prefix}inv:applied:${idempotencyId ?? ""}`;
    const result = await this.#call(() =>
      BUMP.run(
        this.#client,
        [this.hashKey, this.journalKey, marker],
        [idempotencyId ? "1" : "0", mode, String(this.#now()), String(APPLIED_TTL_SECONDS), String(JOURNAL_MAXLEN), ...scopes],
      ),
    );
    if (!Array.isArray(result) || result.length !== 2) throw unexpected("bump", result);
    return { applied: Number(result[0]) === 1, seq: toInt(result[1]) };
  }

  /** The whole hash and the journal position it corresponds to (an isolate's first view). */
  async load(): Promise<EpochSnapshot> {
    const result = await this.#call(() => LOAD.run(this.#client, [this.hashKey, this.journalKey], []));
    if (!Array.isArray(result) || result.length !== 2 || !Array.isArray(result[0])) throw unexpected("load", result);
    const flat = result[0] as unknown[];
    const scopes = new Map<string, ScopeState>();
    let seq = 0;
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const field = String(flat[i]);
      if (field === "#") seq = toInt(flat[i + 1]);
      else {
        const state = parseScopeState(flat[i + 1]);
        if (state) scopes.set(field, state);
      }
    }
    return { seq, scopes, journalId: typeof result[1] === "string" ? result[1] : "" };
  }

  /** Journal entries after `journalId` (at most `count`), with the current global sequence number. */
  async follow(journalId: string, count = 1000): Promise<FollowResult> {
    const result = await this.#call(() => FOLLOW.run(this.#client, [this.journalKey, this.hashKey], [journalId || "0-0", String(count)]));
    if (!Array.isArray(result) || result.length !== 2 || !Array.isArray(result[1])) throw unexpected("follow", result);
    const entries: JournalEntry[] = [];
    for (const raw of result[1] as unknown[]) {
      const entry = parseJournalEntry(raw);
      if (entry) entries.push(entry);
    }
    return { seq: toInt(result[0]), entries };
  }

  #call<T>(work: () => Promise<T>): Promise<T> {
    const attempt = (): Promise<T> => bounded(work, this.#timeoutMs, "redis");
    return this.#breaker ? this.#breaker.run(attempt) : attempt();
  }
}

/** `"<seq>,<hard>,<at>"`; the client may have JSON-parsed nothing here (commas), but be lenient. */
export function parseScopeState(raw: unknown): ScopeState | undefined {
  if (typeof raw !== "string") return undefined;
  const [seq, hard, at] = raw.split(",");
  const state = { seq: Number(seq), hard: Number(hard), at: Number(at) };
  return Number.isFinite(state.seq) && Number.isFinite(state.hard) && Number.isFinite(state.at) ? state : undefined;
}

function parseJournalEntry(raw: unknown): JournalEntry | undefined {
  if (!Array.isArray(raw) || raw.length !== 2 || !Array.isArray(raw[1])) return undefined;
  const fields = raw[1] as unknown[];
  const get = (name: string): unknown => {
    for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
    return undefined;
  };
  const mode = get("m");
  if (mode !== "SOFT" && mode !== "HARD") return undefined;
  const scopes = get("k");
  return {
    id: String(raw[0]),
    seq: toInt(get("s")),
    mode,
    at: toInt(get("a")),
    // A single-scope entry whose scope looks like JSON would have been parsed by the client; scopes never do (prefix).
    scopes: typeof scopes === "string" && scopes !== "" ? scopes.split("\n") : [],
  };
}

function toInt(raw: unknown): number {
  const n = typeof raw === "number" ? raw : Number(raw);
  if (!Number.isSafeInteger(n)) throw unexpected("sequence", raw);
  return n;
}

function unexpected(what: string, result: unknown): DependencyError {
  return new DependencyError("redis", `unexpected ${what} result from the epoch store: ${JSON.stringify(result)?.slice(0, 200)}`);
}
