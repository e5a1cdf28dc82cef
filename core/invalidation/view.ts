/**
 * @module A reader's view of the epoch store: the engine's `InvalidationView`. It loads the epoch
 * hash once, then follows the journal; judging an entry is a few map look-ups, no remote call.
 *
 * Freshness of the view is the caller's choice, made per request through `refresh()`: when the
 * view is older than `pollMs` the request waits for one Redis round trip (journal entries since
 * the last one seen), so an invalidation is honoured by every reader within `pollMs` plus one
 * round trip of it being bumped, however many keys it covers, while a busy isolate pays that
 * round trip once per `pollMs`, not per request.
 */
import type { InvalidationVerdict, InvalidationView } from "../engine/engine.ts";
import type { Envelope } from "../envelope.ts";
import type { ResolvedStrategy } from "../types.ts";
import type { BumpResult, EpochStore, JournalEntry, ScopeState } from "./epochs.ts";
import type { InvalidationMode } from "./types.ts";
import { joined } from "../joined.ts";

export interface EpochViewOptions {
  store: EpochStore;
  /** How old the view may be before a request waits for it to catch up (default 100 ms). */
  pollMs?: number;
  now?: () => number;
  /** Called when catching up fails (Redis away): the view keeps serving what it knows. */
  onError?: (error: unknown) => void;
}

/** The envelope field holding the stamp. */
export const STAMP_FIELD = "#";

/**
 * Scope states by kind, keyed by the name after the `k:`/`s:`/`l:`/`t:` prefix: judging an entry
 * looks up its key, strategy, layer and tags as they are, without building a scope string.
 */
type ScopeKind = "k" | "s" | "l" | "t";
type ScopeMaps = Record<ScopeKind, Map<string, ScopeState>>;

function emptyMaps(): ScopeMaps {
  return { k: new Map(), s: new Map(), l: new Map(), t: new Map() };
}

/** The map and name of a scope string; undefined for a kind this reader does not know. */
function locate(maps: ScopeMaps, scope: string): [Map<string, ScopeState>, string] | undefined {
  const map = maps[scope[0] as ScopeKind] as Map<string, ScopeState> | undefined;
  return map && scope[1] === ":" ? [map, scope.slice(2)] : undefined;
}

export class EpochView implements InvalidationView {
  readonly #store: EpochStore;
  readonly #pollMs: number;
  readonly #now: () => number;
  readonly #onError: ((error: unknown) => void) | undefined;
  #seq = 0;
  /** The highest bump known to any scope here: #seq, or a bump this process noted ahead of the journal. */
  #maxSeq = 0;
  #scopes: ScopeMaps = emptyMaps();
  #journalId = "";
  #loaded = false;
  #syncedAt = Number.NEGATIVE_INFINITY;
  #syncing: Promise<void> | undefined;

  constructor(opts: EpochViewOptions) {
    this.#store = opts.store;
    this.#pollMs = opts.pollMs ?? 100;
    this.#now = opts.now ?? Date.now;
    this.#onError = opts.onError;
  }

  /** The highest sequence number this view has applied. */
  get seq(): number {
    return this.#seq;
  }

  get loaded(): boolean {
    return this.#loaded;
  }

  /** When the last successful catch-up started (epoch ms; -Infinity before the first): every bump before it is in the view. */
  get syncedAt(): number {
    return this.#syncedAt;
  }

  /**
   * Undefined when the view is recent enough; otherwise the catch-up to await (one per isolate at
   * a time, shared by concurrent requests). Never rejects: a failed catch-up keeps the old view.
   */
  refresh(): Promise<void> | undefined {
    if (this.#now() - this.#syncedAt < this.#pollMs) return undefined;
    return this.sync();
  }

  /** Catches up now (or joins the catch-up in flight). Never rejects. */
  sync(): Promise<void> {
    // Concurrent requests share one catch-up, each through a promise of its own (core/joined.ts).
    if (this.#syncing) return joined(this.#syncing);
    // The view is as recent as the moment the catch-up *started*: a bump landing during it may be missed.
    const startedAt = this.#now();
    this.#syncing = this.#catchUp()
      .then(() => {
        this.#syncedAt = startedAt;
      })
      .catch((error: unknown) => this.#onError?.(error))
      .finally(() => {
        this.#syncing = undefined;
      });
    return this.#syncing;
  }

  async #catchUp(): Promise<void> {
    if (!this.#loaded) return this.#reload();
    for (let round = 0; round < 20; round++) {
      const { seq, entries } = await this.#store.follow(this.#journalId);
      let expected = this.#seq + 1;
      for (const entry of entries) {
        // Bumps are numbered without gaps; a gap means the journal was trimmed past us.
        if (entry.seq > expected) return this.#reload();
        if (entry.seq === expected) {
          this.#apply(entry);
          expected++;
        }
        this.#journalId = entry.id;
      }
      if (entries.length === 0) {
        // Nothing after our id, yet the counter moved: our id was trimmed away. Reload.
        if (seq > this.#seq) return this.#reload();
        return;
      }
      if (entries.length < 1000) return;
    }
    // Very far behind: the hash is the cheaper way to catch up.
    return this.#reload();
  }

  async #reload(): Promise<void> {
    const snapshot = await this.#store.load();
    const maps = emptyMaps();
    for (const [scope, state] of snapshot.scopes) {
      const at = locate(maps, scope);
      if (at) at[0].set(at[1], state);
    }
    this.#scopes = maps;
    this.#seq = snapshot.seq;
    this.#maxSeq = snapshot.seq;
    this.#journalId = snapshot.journalId;
    this.#loaded = true;
  }

  #apply(entry: JournalEntry): void {
    this.#record(entry.scopes, entry.mode, entry.seq, entry.at);
    this.#seq = entry.seq;
  }

  /** One bump into the scope maps; a scope already at or past `seq` (noted ahead of the journal) is left alone. */
  #record(scopes: readonly string[], mode: InvalidationMode, seq: number, at: number): void {
    for (const scope of scopes) {
      const where = locate(this.#scopes, scope);
      if (!where) continue;
      const [map, name] = where;
      const previous = map.get(name);
      if (previous && previous.seq >= seq) continue;
      map.set(name, { seq, hard: mode === "HARD" ? seq : (previous?.hard ?? 0), at });
    }
    if (seq > this.#maxSeq) this.#maxSeq = seq;
  }

  /**
   * Records a bump this process made itself, ahead of reading it from the journal: a write that
   * bumped its key is then honoured by this isolate at once (read-your-writes), whatever reads
   * were in flight when it happened. The stamp stays at what the journal has delivered.
   */
  note(scopes: readonly string[], mode: InvalidationMode, seq: number, at: number = this.#now()): void {
    this.#record(scopes, mode, seq, at);
  }

  /** Bumps `scopes` in the store and, when applied, notes it here at once: how this process invalidates. */
  async bump(scopes: readonly string[], mode: InvalidationMode, idempotencyId?: string): Promise<BumpResult> {
    const result = await this.#store.bump(scopes, mode, idempotencyId);
    if (result.applied) this.note(scopes, mode, result.seq);
    return result;
  }

  stamp(): Record<string, number> {
    return { [STAMP_FIELD]: this.#seq };
  }

  /**
   * On every read from every tier. Nothing bumped since the stamp: one comparison. Otherwise one map
   * look-up per scope of the entry (key, strategy, layer, tags), and nothing allocated.
   */
  check(key: string, envelope: Envelope, strategy: ResolvedStrategy): InvalidationVerdict {
    const stamp = envelope.epochs[STAMP_FIELD] ?? 0;
    if (this.#maxSeq <= stamp) return "valid";
    const { k, s, l, t } = this.#scopes;
    let softAt = judge(k.get(key), stamp, -1);
    if (softAt === HARD) return "hard";
    softAt = judge(s.get(envelope.strategyId), stamp, softAt);
    if (softAt === HARD) return "hard";
    softAt = judge(l.get(strategy.layerId), stamp, softAt);
    if (softAt === HARD) return "hard";
    for (const tag of envelope.tags) {
      softAt = judge(t.get(tag), stamp, softAt);
      if (softAt === HARD) return "hard";
    }
    if (softAt < 0) return "valid";
    // Soft: stale, servable inside the strategy's stale-while-revalidate window counted from the bump.
    return this.#now() < softAt + strategy.staleWhileRevalidateMs ? "soft" : "hard";
  }
}

const HARD = Number.POSITIVE_INFINITY;

/**
 * Folds one scope into the verdict so far (`softAt`: -1 = valid, else the latest soft bump's time):
 * HARD when the scope was hard-bumped after the stamp, the later soft time when only soft-bumped.
 */
function judge(state: ScopeState | undefined, stamp: number, softAt: number): number {
  if (!state || state.seq <= stamp) return softAt;
  if (state.hard > stamp) return HARD;
  return state.at > softAt ? state.at : softAt;
}
