/**
 * @module The read path: isolate memory → Cache API → Redis → origin, with backfill, single
 * flight in the isolate, a Redis lease across isolates, stale-while-revalidate, refresh-ahead,
 * stale-if-error and negative caching. Runtime-neutral: tiers arrive through the Tier interface,
 * background work through the caller's `waitUntil`.
 */
import { CircuitOpenError, type CircuitBreaker } from "../circuit-breaker.ts";
import { decodeEnvelope, encodeEnvelope, type Envelope, type Keyring } from "../envelope.ts";
import { SingleFlight } from "../single-flight.ts";
import type { Tier, TierEntry, TierId } from "../tier.ts";
import type { MemoryTier } from "../tiers/memory.ts";
import type { Lease, RedisTier } from "../tiers/redis.ts";
import { DependencyError } from "../timeout.ts";
import type { ResolvedStrategy } from "../types.ts";
import type { CacheStatusMember } from "./cache-status.ts";
import { freshness, remainingTtlSeconds, servableUntil, type Freshness } from "./freshness.ts";

/** What the origin returns for a key; null means "does not exist" (negatively cached). */
export interface LoadedValue {
  value: unknown;
  version: string;
  tags: string[];
}
export type Loader = () => Promise<LoadedValue | null>;

export interface ReadRequest {
  key: string;
  strategy: ResolvedStrategy;
  /** The origin loader; absent for cache-aside keys, where a miss is simply a miss. */
  load?: Loader;
}

export type Source = TierId | "origin" | "none";

export interface ReadResult {
  /** Undefined only when nothing was found and there is no loader (cache-aside miss). */
  envelope: Envelope | undefined;
  status: CacheStatusMember[];
  source: Source;
  /** Served past its freshness (SWR, or stale-if-error). */
  stale: boolean;
}

export interface RequestContext {
  waitUntil(work: Promise<unknown>): void;
}

/**
 * Decides whether an entry written before an invalidation may still be served: the seam for the
 * invalidation epochs (docs/invalidation.md). `soft` turns a fresh entry stale, `hard` makes it
 * unreachable.
 */
export interface InvalidationView {
  check(key: string, envelope: Envelope, strategy: ResolvedStrategy): InvalidationVerdict;
  /**
   * The stamp for an entry whose origin read starts now. Taken *before* the read, so that an
   * invalidation landing while the read is in flight still invalidates what it returns.
   */
  stamp(): Record<string, number>;
}

export type InvalidationVerdict = "valid" | "soft" | "hard";

const NO_INVALIDATIONS: InvalidationView = { check: () => "valid", stamp: () => ({}) };

/** One observation per read, for metrics and the key registry. */
export interface ReadObservation {
  key: string;
  strategy: ResolvedStrategy;
  source: Source;
  status: readonly CacheStatusMember[];
  stale: boolean;
  latencyMs: number;
  /** Encoded size of what was served or stored, when known. */
  bytes: number;
  /** Set when the origin was asked (loaded or failed). */
  originLoaded: boolean;
  error?: string;
  /** Envelope served (for registry bookkeeping: expiry, resource id). */
  envelope: Envelope | undefined;
}

export interface EngineOptions {
  l1: MemoryTier;
  cdn?: Tier;
  l2?: RedisTier;
  l2Breaker?: CircuitBreaker;
  keyring?: Keyring;
  invalidations?: InvalidationView;
  now?: () => number;
  /** How long a lease holder may take to load and store (default 5 s). */
  leaseMs?: number;
  /** How long a request that lost the lease waits for the winner's value in L2 (default 1.5 s). */
  leaseWaitMs?: number;
  onRead?: (observation: ReadObservation) => void;
}

interface Found {
  envelope: Envelope;
  tier: TierId;
  state: Freshness;
  /** The encoded entry as the tier held it: reused for backfill, never re-encoded. */
  raw: TierEntry;
}

/** A stale entry kept aside in case the origin fails (stale-if-error). */
type Fallback = Found | undefined;

export class CacheEngine {
  readonly l1: MemoryTier;
  readonly cdn: Tier | undefined;
  readonly l2: RedisTier | undefined;
  readonly #breaker: CircuitBreaker | undefined;
  readonly #keyring: Keyring | undefined;
  readonly #invalidations: InvalidationView;
  readonly #now: () => number;
  readonly #leaseMs: number;
  readonly #leaseWaitMs: number;
  readonly #onRead: ((o: ReadObservation) => void) | undefined;
  readonly #flights = new SingleFlight<string, BelowL1>();
  /** Keys with a background refresh in flight: a stale serve triggers at most one. */
  readonly #refreshing = new Set<string>();
  /** L1 holds encoded bytes (sized honestly); decoded envelopes ride alongside, keyed by those bytes. */
  readonly #decoded = new WeakMap<Uint8Array, Envelope>();

  constructor(opts: EngineOptions) {
    this.l1 = opts.l1;
    this.cdn = opts.cdn;
    this.l2 = opts.l2;
    this.#breaker = opts.l2Breaker;
    this.#keyring = opts.keyring;
    this.#invalidations = opts.invalidations ?? NO_INVALIDATIONS;
    this.#now = opts.now ?? Date.now;
    this.#leaseMs = opts.leaseMs ?? 5_000;
    this.#leaseWaitMs = opts.leaseWaitMs ?? 1_500;
    this.#onRead = opts.onRead;
  }

  /** The strategy of an entry L1 just evicted (for eviction counters), when the engine stored it. */
  strategyOfEvicted(entry: TierEntry): string | undefined {
    return this.#decoded.get(entry.bytes)?.strategyId;
  }

  get breaker(): CircuitBreaker | undefined {
    return this.#breaker;
  }

  async read(req: ReadRequest, ctx: RequestContext): Promise<ReadResult> {
    const started = this.#now();
    let result: ReadResult;
    let originLoaded = false;
    let bytes = 0;
    try {
      const l1 = this.#fromL1(req);
      if (l1 && (l1.state === "fresh" || l1.state === "stale-revalidate")) {
        bytes = l1.raw.bytes.byteLength;
        result = this.#serve(l1, req, ctx, [this.#member(l1)]);
      } else {
        const collapsed = this.#flights.has(req.key);
        const below = await this.#flights.do(req.key, () => this.#readBelowL1(req, ctx, l1));
        originLoaded = below.originLoaded && !collapsed;
        bytes = below.bytes;
        // A stale-if-error serve from L1 already put its own member in the shared status; each
        // caller gets a copy to mark as collapsed without touching the others'.
        const shared = below.status.find((m) => m.tier === "strata-l1");
        const l1Member: CacheStatusMember = shared ? { ...shared } : { tier: "strata-l1", fwd: l1 ? "stale" : "miss" };
        if (collapsed) l1Member.collapsed = true;
        if (below.stored) l1Member.stored = true;
        const status = below.status.filter((m) => m.tier !== "strata-l1");
        status.push(l1Member);
        result = { envelope: below.envelope, source: below.source, stale: below.stale, status };
      }
    } catch (error) {
      this.#onRead?.({
        key: req.key,
        strategy: req.strategy,
        source: "none",
        status: [],
        stale: false,
        latencyMs: this.#now() - started,
        bytes: 0,
        originLoaded: true,
        error: error instanceof Error ? error.message : String(error),
        envelope: undefined,
      });
      throw error;
    }
    this.#onRead?.({ key: req.key, strategy: req.strategy, ...result, latencyMs: this.#now() - started, bytes, originLoaded });
    return result;
  }

  /**
   * Writes a value to every tier (L2 awaited, so a later read anywhere sees it). `epochs` is the
   * stamp when the caller has one newer than this isolate's view: a write that bumped the key's
   * own scope first stamps with that bump, so its value outlives the bump and nothing older does.
   */
  async put(
    key: string,
    strategy: ResolvedStrategy,
    loaded: LoadedValue,
    opts: { ttlMs?: number; epochs?: Record<string, number> } = {},
  ): Promise<Envelope> {
    const envelope = this.#envelope(strategy, loaded, opts.epochs ?? this.#invalidations.stamp(), opts.ttlMs);
    const entry = await this.#encode(key, envelope, strategy);
    this.#storeL1(key, entry, envelope);
    await Promise.all([
      this.l2 ? this.#l2Call(() => (this.l2 as RedisTier).set(key, entry, envelope.tags)) : undefined,
      this.cdn?.set(key, entry),
    ]);
    return envelope;
  }

  /** Removes a key from every tier this isolate can reach. */
  async delete(key: string): Promise<void> {
    await this.l1.delete(key);
    await Promise.all([this.l2 ? this.#l2Call(() => (this.l2 as RedisTier).delete(key)) : undefined, this.cdn?.delete(key)]);
  }

  // --- tiers ---------------------------------------------------------------------------------

  #fromL1(req: ReadRequest): Found | undefined {
    const entry = this.l1.getSync(req.key);
    if (!entry) return undefined;
    const envelope = this.#decoded.get(entry.bytes);
    // Only entries the engine stored itself carry a decoded twin; anything else is foreign.
    if (!envelope) return undefined;
    return this.#assess(req.key, envelope, "strata-l1", req.strategy, entry);
  }

  async #fromRemote(tier: Tier, entry: TierEntry | undefined, req: ReadRequest): Promise<Found | undefined> {
    if (!entry) return undefined;
    let envelope: Envelope;
    try {
      // The key is authenticated with the value, so an entry copied under another key fails to decrypt;
      // an encrypted strategy refuses plaintext, so nobody can plant an unauthenticated value.
      envelope = await decodeEnvelope(entry.bytes, this.#keyring, { cacheKey: req.key, requireEncrypted: req.strategy.encryption });
    } catch {
      // Unreadable (corrupt, rotated-away key, older format): a miss, and the entry is dropped.
      await tier.delete(req.key).catch(() => undefined);
      return undefined;
    }
    return this.#assess(req.key, envelope, tier.id, req.strategy, entry);
  }

  #assess(key: string, envelope: Envelope, tier: TierId, strategy: ResolvedStrategy, raw: TierEntry): Found | undefined {
    let state = freshness(envelope, this.#now());
    const verdict = this.#invalidations.check(key, envelope, strategy);
    if (verdict === "hard") return undefined;
    if (verdict === "soft" && state === "fresh") state = "stale-revalidate";
    if (state === "dead") return undefined;
    return { envelope, tier, state, raw };
  }

  #member(found: Found): CacheStatusMember {
    const ttl = remainingTtlSeconds(found.envelope, this.#now());
    return found.state === "fresh"
      ? { tier: found.tier, hit: true, ttl }
      : { tier: found.tier, fwd: "stale", ttl };
  }

  /** Serves a found entry; stale or nearly-expired entries start one background refresh. */
  #serve(found: Found, req: ReadRequest, ctx: RequestContext, status: CacheStatusMember[]): ReadResult {
    if (found.state === "stale-revalidate") this.#refreshInBackground(req, ctx);
    else if (this.#dueForRefreshAhead(found.envelope, req.strategy)) this.#refreshInBackground(req, ctx);
    return { envelope: found.envelope, source: found.tier, stale: found.state !== "fresh", status };
  }

  #dueForRefreshAhead(envelope: Envelope, strategy: ResolvedStrategy): boolean {
    if (strategy.behavior !== "REFRESH_AHEAD" || envelope.negative) return false;
    return this.#now() - envelope.storedAt >= strategy.refreshAheadFraction * envelope.ttlMs;
  }

  async #readBelowL1(req: ReadRequest, ctx: RequestContext, l1Fallback: Fallback): Promise<BelowL1> {
    const status: CacheStatusMember[] = [];
    let fallback = l1Fallback;

    if (this.cdn) {
      const found = await this.cdn.get(req.key).then(
        (entry) => this.#fromRemote(this.cdn as Tier, entry, req),
        () => undefined, // the Cache API failing is a miss, never an error
      );
      if (found && (found.state === "fresh" || found.state === "stale-revalidate")) {
        const l1Stored = this.#backfillL1(req.key, found);
        const served = this.#serve(found, req, ctx, [this.#member(found)]);
        return { ...served, bytes: found.raw.bytes.byteLength, originLoaded: false, stored: l1Stored };
      }
      fallback = pickFallback(fallback, found);
      status.push({ tier: "strata-cdn", fwd: found ? "stale" : "miss" });
    }

    let lease: Lease | undefined;
    if (this.l2) {
      const l2 = this.l2;
      try {
        // Without a loader (cache-aside) there is nothing to protect: a plain GET, no lease.
        const got = req.load
          ? await this.#l2Call(() => l2.getOrLease(req.key, this.#leaseMs))
          : { entry: await this.#l2Call(() => l2.get(req.key)), lease: undefined };
        lease = got.lease;
        const found = await this.#fromRemote(l2, got.entry, req);
        if (found && (found.state === "fresh" || found.state === "stale-revalidate")) {
          if (lease) ctx.waitUntil(l2.releaseLease(lease).catch(() => undefined));
          const stored = this.#backfill(req.key, found, ctx);
          const served = this.#serve(found, req, ctx, [...status, this.#member(found)]);
          return { ...served, bytes: found.raw.bytes.byteLength, originLoaded: false, stored };
        }
        fallback = pickFallback(fallback, found);
        const member: CacheStatusMember = { tier: "strata-l2", fwd: found ? "stale" : "miss" };
        if (got.entry && !lease && req.load) {
          // L2 returned a copy it may not serve (too old, or invalidated), so its lookup took no lease: take one now.
          lease = await this.#l2Call(() => l2.acquireLease(req.key, this.#leaseMs)).catch(() => undefined);
        }
        if (!lease && req.load) {
          // Someone else is loading this key: wait briefly for their value instead of piling on.
          const waited = await this.#l2Call(() => l2.waitFor(req.key, { timeoutMs: this.#leaseWaitMs })).catch(() => undefined);
          const arrived = await this.#fromRemote(l2, waited, req);
          if (arrived && (arrived.state === "fresh" || arrived.state === "stale-revalidate")) {
            const stored = this.#backfill(req.key, arrived, ctx);
            const served = this.#serve(arrived, req, ctx, [...status, { ...this.#member(arrived), collapsed: true }]);
            return { ...served, bytes: arrived.raw.bytes.byteLength, originLoaded: false, stored };
          }
          member.collapsed = true;
          member.detail = "lease-wait-timeout";
        }
        status.push(member);
      } catch (error) {
        status.push({ tier: "strata-l2", fwd: "bypass", detail: error instanceof CircuitOpenError ? "circuit-open" : "error" });
      }
    }

    if (!req.load) {
      return { envelope: undefined, status, source: "none", stale: false, bytes: 0, originLoaded: false, stored: false };
    }

    let loaded: LoadedValue | null;
    const epochs = this.#invalidations.stamp();
    try {
      loaded = await req.load();
    } catch (error) {
      if (lease) ctx.waitUntil(this.#l2Call(() => (this.l2 as RedisTier).releaseLease(lease)).catch(() => undefined));
      if (fallback) {
        // stale-if-error: the origin failed, and a stale copy is within its grace window.
        const member = status.find((m) => m.tier === fallback.tier) ?? { tier: fallback.tier };
        member.fwd = "stale";
        member.detail = "origin-error";
        member.ttl = remainingTtlSeconds(fallback.envelope, this.#now());
        if (!status.includes(member)) status.push(member);
        return { envelope: fallback.envelope, status, source: fallback.tier, stale: true, bytes: fallback.raw.bytes.byteLength, originLoaded: true, stored: false };
      }
      throw error instanceof DependencyError ? error : new DependencyError("postgres", `origin: ${String(error)}`, { cause: error });
    }

    const envelope = this.#envelope(req.strategy, loaded, epochs);
    const stored = await this.#store(req, envelope, lease, ctx, status);
    return { envelope, status, source: "origin", stale: false, bytes: stored.bytes, originLoaded: true, stored: stored.l1 };
  }

  #refreshInBackground(req: ReadRequest, ctx: RequestContext): void {
    if (!req.load || this.#refreshing.has(req.key)) return;
    this.#refreshing.add(req.key);
    const load = req.load;
    const work = (async () => {
      let lease: Lease | undefined;
      if (this.l2) {
        // Across isolates too, one refresher: whoever holds the lease refreshes, the rest skip.
        const l2 = this.l2;
        lease = await this.#l2Call(() => l2.acquireLease(req.key, this.#leaseMs)).catch(() => undefined);
        if (!lease && !this.#breakerOpen()) return;
      }
      const epochs = this.#invalidations.stamp();
      const loaded = await load();
      await this.#store(req, this.#envelope(req.strategy, loaded, epochs), lease, { waitUntil: () => undefined }, []);
    })()
      .catch((error: unknown) => {
        console.warn(JSON.stringify({ level: "warn", msg: "background refresh failed", key: req.key, error: String(error) }));
      })
      .finally(() => this.#refreshing.delete(req.key));
    ctx.waitUntil(work);
  }

  /** Stores a loaded envelope: L1 at once, L2 (with the lease released in the same write) and CDN after. */
  async #store(
    req: ReadRequest,
    envelope: Envelope,
    lease: Lease | undefined,
    ctx: RequestContext,
    status: CacheStatusMember[],
  ): Promise<{ bytes: number; l1: boolean }> {
    if (envelope.negative && envelope.ttlMs <= 0) {
      if (lease) ctx.waitUntil(this.#l2Call(() => (this.l2 as RedisTier).releaseLease(lease)).catch(() => undefined));
      return { bytes: 0, l1: false };
    }
    let entry: TierEntry;
    try {
      entry = await this.#encode(req.key, envelope, req.strategy);
    } catch (error) {
      // Typically an encrypted strategy without a keyring: serve the origin's answer uncached
      // rather than fail the request or, worse, store plaintext.
      console.error(JSON.stringify({ level: "error", msg: "entry not cacheable", key: req.key, strategy: req.strategy.name, error: String(error) }));
      if (lease) ctx.waitUntil(this.#l2Call(() => (this.l2 as RedisTier).releaseLease(lease)).catch(() => undefined));
      return { bytes: 0, l1: false };
    }
    const l1 = this.#storeL1(req.key, entry, envelope);
    if (this.l2 && !this.#breakerOpen()) {
      const l2 = this.l2;
      ctx.waitUntil(this.#l2Call(() => l2.setAndRelease(req.key, entry, lease, envelope.tags)).catch(() => undefined));
      const member = status.find((m) => m.tier === "strata-l2");
      if (member) member.stored = true;
    }
    if (this.cdn) {
      const cdn = this.cdn;
      ctx.waitUntil(cdn.set(req.key, entry).catch(() => undefined));
      const member = status.find((m) => m.tier === "strata-cdn");
      if (member) member.stored = true;
    }
    return { bytes: entry.bytes.byteLength, l1 };
  }

  #backfill(key: string, found: Found, ctx: RequestContext): boolean {
    const l1 = this.#backfillL1(key, found);
    if (this.cdn && found.tier === "strata-l2") {
      // The bytes as L2 held them: already compressed/encrypted, so the CDN never sees plaintext.
      ctx.waitUntil((this.cdn as Tier).set(key, found.raw).catch(() => undefined));
    }
    return l1;
  }

  #backfillL1(key: string, found: Found): boolean {
    // L1 keeps the encoded bytes (so its byte budget measures what was stored) and the decoded
    // envelope beside them, so an L1 hit never decodes.
    return this.#storeL1(key, { bytes: found.raw.bytes, expiresAt: servableUntil(found.envelope) }, found.envelope);
  }

  #storeL1(key: string, entry: TierEntry, envelope: Envelope): boolean {
    this.#decoded.set(entry.bytes, envelope);
    return this.l1.setSync(key, entry);
  }

  #envelope(strategy: ResolvedStrategy, loaded: LoadedValue | null, epochs: Record<string, number>, ttlOverrideMs?: number): Envelope {
    const now = this.#now();
    if (!loaded) {
      return {
        negative: true,
        version: "0",
        strategyId: strategy.id,
        storedAt: now,
        ttlMs: strategy.negativeTtlMs,
        staleWhileRevalidateMs: 0,
        staleIfErrorMs: 0,
        tags: [],
        epochs,
      };
    }
    return {
      value: loaded.value,
      negative: false,
      version: loaded.version,
      strategyId: strategy.id,
      storedAt: now,
      ttlMs: ttlOverrideMs ?? strategy.ttlMs,
      staleWhileRevalidateMs: strategy.staleWhileRevalidateMs,
      staleIfErrorMs: strategy.staleIfErrorMs,
      tags: loaded.tags,
      epochs,
    };
  }

  async #encode(key: string, envelope: Envelope, strategy: ResolvedStrategy): Promise<TierEntry> {
    const bytes = await encodeEnvelope(envelope, {
      compress: strategy.compression,
      compressionThresholdBytes: strategy.compressionThresholdBytes,
      encrypt: strategy.encryption,
      keyring: this.#keyring,
      cacheKey: key,
    });
    return { bytes, expiresAt: servableUntil(envelope) };
  }

  #breakerOpen(): boolean {
    return this.#breaker?.state === "open";
  }

  #l2Call<T>(work: () => Promise<T>): Promise<T> {
    return this.#breaker ? this.#breaker.run(work) : work();
  }
}

interface BelowL1 extends ReadResult {
  bytes: number;
  originLoaded: boolean;
  /** Whether this request's answer was stored in L1 on the way back. */
  stored: boolean;
}

function pickFallback(current: Fallback, candidate: Found | undefined): Fallback {
  if (!candidate || candidate.state !== "stale-if-error") return current;
  if (!current) return candidate;
  return candidate.envelope.storedAt > current.envelope.storedAt ? candidate : current;
}
