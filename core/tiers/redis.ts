/**
 * @module Upstash Redis as a Strata tier ("strata-l2"), shared by every isolate and process, plus the cross-isolate
 * half of stampede protection: a lease (SET NX PX with a random token) lets one loader go to the origin while the
 * others wait briefly for L2.
 *
 * Round trips are the cost model: a hit is one GET; a miss is one `getOrLease` (a Lua script that reads the value
 * and, if there is none, takes the lease) and one `setAndRelease` (a script that stores the value and drops the
 * lease only if it is still ours). Scripts go by EVALSHA; a NOSCRIPT answer (first use after a script flush or on a
 * fresh server) costs one extra EVAL.
 *
 * Key layout under the prefix (default "strata:v1:"): values at `<prefix>v:<key>`, leases at `<prefix>lease:<key>`.
 * Separate namespaces so that no cache key, whatever it spells, can land on another key's lease. Both keys of a
 * script are in one logical database (Upstash); on a sharded Redis Cluster they would need a shared hash tag.
 *
 * Stored value: `s1:<expiresAt>:<base64 bytes>` (expiresAt in epoch ms, empty for never). @upstash/redis speaks
 * JSON and by default JSON-parses every string it reads, so raw base64 could come back as a number, `true` or
 * `null` ("1234", "true" and "null" are all valid base64); the leading `s` makes every stored value unparseable as
 * JSON, so it comes back exactly as written. The expiry travels in the value so a read returns the entry's own
 * deadline rather than one reconstructed from a TTL, and the scripts can check it against the caller's clock.
 */
import type { CircuitBreaker } from "../circuit-breaker.ts";
import type { Tier, TierEntry } from "../tier.ts";
import { LuaScript, toHex } from "../redis-script.ts";
import { bounded, DependencyError } from "../timeout.ts";

/**
 * The subset of @upstash/redis's `Redis` this tier uses, written so the real client (auto-pipelining or not) is
 * assignable as is. Results are `unknown` on purpose: the client JSON-parses what it can, so every result is
 * checked before use.
 */
export interface RedisLike {
  get(key: string): Promise<unknown>;
  set(key: string, value: string, opts?: { px: number } | { px: number; nx: true }): Promise<unknown>;
  del(...keys: string[]): Promise<number>;
  eval(script: string, keys: string[], args: string[]): Promise<unknown>;
  evalsha(sha1: string, keys: string[], args: string[]): Promise<unknown>;
}

export interface RedisTierOptions {
  client: RedisLike;
  /** Namespace of every key this tier touches; tests isolate by it. Default "strata:v1:". */
  keyPrefix?: string;
  /** Bound on each remote call (the NOSCRIPT retry included); default 1000 ms. */
  timeoutMs?: number;
  /** Epoch-ms clock for expiry decisions; injectable for tests. Defaults to Date.now. */
  now?: () => number;
  /**
   * When given, every remote call goes through it: failures and timeouts count against Redis, and while it is
   * open calls fail at once with CircuitOpenError (a DependencyError) without touching the network.
   */
  breaker?: CircuitBreaker;
}

/** Permission to load `key` from the origin, held until `expiresAt` unless released or superseded. */
export interface Lease {
  /** The cache key (unprefixed). */
  readonly key: string;
  readonly token: string;
  /** Local-clock estimate of when Redis drops the lease: send time + leaseMs (Redis starts counting later). */
  readonly expiresAt: number;
}

export interface LeaseLookup {
  /** The live value, when there is one (then there is never a lease). */
  entry?: TierEntry;
  /** Present when the value was absent and this caller won the lease. Neither field: someone else holds it. */
  lease?: Lease;
}

export interface WaitOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /**
   * First interval between polls (default 10 ms); each next one is 1.5× longer, up to `maxPollMs`. Every poll is
   * one Redis command and Upstash bills per command, so a waiter backs off (about ten polls in its first second);
   * but the first polls come early, because a typical load lands within tens of ms and readers of a
   * just-invalidated hot key wait for exactly that.
   */
  pollMs?: number;
  /** Longest interval between polls (default max(pollMs, 200 ms)); equal to pollMs for a fixed rate. */
  maxPollMs?: number;
}

export interface TakeOverOptions extends WaitOptions {
  /** Lease duration taken when the previous holder turns out to be gone. */
  leaseMs: number;
}

export type WaitResult =
  /** The value appeared. */
  | { status: "hit"; entry: TierEntry }
  /** The holder went away without storing a value and this caller took over the lease. */
  | { status: "lease"; lease: Lease }
  | { status: "timeout" };

export const DEFAULT_KEY_PREFIX = "strata:v1:";
export const DEFAULT_REDIS_TIMEOUT_MS = 1000;
const DEFAULT_POLL_MS = 10;
const DEFAULT_MAX_POLL_MS = 200;

/** Version tag of the stored value format; bump it (and the Lua pattern) together. */
const VALUE_TAG = "s1:";

/**
 * Read-or-lease. KEYS[1] value, KEYS[2] lease; ARGV[1] now (caller's epoch ms), ARGV[2] lease token, ARGV[3] lease
 * ms. Returns the stored string when it is live by the caller's clock. Otherwise, with ARGV[3] > 0: 1 when this
 * call took the lease (SET NX PX), 0 when someone else holds it; with ARGV[3] = 0 (poll only): 0 when a lease is
 * held, -1 when none is. A value past its expiresAt, or not in our format, counts as absent: Redis may keep it a
 * moment longer than the caller's clock says (PX is rounded up, clocks differ), and answering "absent, no lease"
 * for it would leave the caller waiting for a loader that nobody started.
 */
const LOOKUP_SCRIPT = `local v = redis.call('GET', KEYS[1])
if v then
  local exp = string.match(v, '^s1:([^:]*):')
  if exp and (exp == '' or (tonumber(exp) or 0) > tonumber(ARGV[1])) then return v end
end
local ms = tonumber(ARGV[3])
if ms > 0 then
  if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ms) then return 1 end
  return 0
end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
return -1`;

/**
 * Store-and-release. KEYS[1] value, KEYS[2] lease, KEYS[3..] tag index sets; ARGV[1] stored string, ARGV[2] PX
 * ('' = no expiry, <= 0 = the entry is already dead: delete any older value instead), ARGV[3] lease token ('' =
 * none), ARGV[4] the cache key (member of the tag sets). The value is written whether or not the lease is still ours
 * (it is fresh from the origin either way); the lease is deleted only if it still holds our token, so a loader whose
 * lease expired cannot release the next holder's. Each tag set lives at least as long as its longest-lived member,
 * so the fan-out finds every L2 entry of a tag without scanning. Returns 1 when the lease was released.
 */
const STORE_SCRIPT = `local px = ARGV[2]
if px == '' then
  redis.call('SET', KEYS[1], ARGV[1])
elseif tonumber(px) > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', px)
else
  redis.call('DEL', KEYS[1])
end
if px == '' or tonumber(px) > 0 then
  for i = 3, #KEYS do
    redis.call('SADD', KEYS[i], ARGV[4])
    local left = redis.call('PTTL', KEYS[i])
    if px == '' then
      redis.call('PERSIST', KEYS[i])
    elseif (left >= 0 and left < tonumber(px)) or (left == -1 and redis.call('SCARD', KEYS[i]) == 1) then
      -- Extend to this member's lifetime; a set with no TTL and one member was just created by the SADD above.
      redis.call('PEXPIRE', KEYS[i], px)
    end
  end
end
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) == ARGV[3] then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0`;

/** Compare-and-delete. KEYS[1] lease; ARGV[1] token. Returns 1 when the lease was ours and is now gone. */
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

const LOOKUP = new LuaScript(LOOKUP_SCRIPT);
const STORE = new LuaScript(STORE_SCRIPT);
const RELEASE = new LuaScript(RELEASE_SCRIPT);

/** The scripts as sent, for tests and for anyone preloading them (SCRIPT LOAD). */
export const REDIS_TIER_SCRIPTS = { lookup: LOOKUP_SCRIPT, store: STORE_SCRIPT, release: RELEASE_SCRIPT } as const;

export class RedisTier implements Tier {
  readonly id = "strata-l2" as const;
  readonly keyPrefix: string;
  private readonly client: RedisLike;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly breaker: CircuitBreaker | undefined;

  constructor(options: RedisTierOptions) {
    this.client = options.client;
    this.keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS;
    this.now = options.now ?? Date.now;
    this.breaker = options.breaker;
  }

  /** The Redis key holding `key`'s value. */
  valueKey(key: string): string {
    return `${this.keyPrefix}v:${key}`;
  }

  /** The Redis set indexing the keys stored with `tag` (for the invalidation fan-out). */
  tagKey(tag: string): string {
    return `${this.keyPrefix}tag:${tag}`;
  }

  /** The Redis key holding `key`'s lease. */
  leaseKey(key: string): string {
    return `${this.keyPrefix}lease:${key}`;
  }

  /** One GET. */
  async get(key: string): Promise<TierEntry | undefined> {
    const raw = await this.call(() => this.client.get(this.valueKey(key)));
    return decodeValue(raw, this.now(), key);
  }

  /**
   * One SET (or DEL when the entry is already expired, so an older value is not served on). With tags, one script
   * that also adds the key to each tag's index set.
   */
  async set(key: string, entry: TierEntry, tags: readonly string[] = []): Promise<void> {
    if (tags.length > 0) {
      await this.store(key, entry, "", tags);
      return;
    }
    const px = pxFor(entry.expiresAt, this.now());
    const valueKey = this.valueKey(key);
    if (px === "") {
      const value = encodeValue(entry);
      await this.call(() => this.client.set(valueKey, value));
    } else if (px <= 0) {
      await this.call(() => this.client.del(valueKey));
    } else {
      const value = encodeValue(entry);
      await this.call(() => this.client.set(valueKey, value, { px }));
    }
  }

  /** One DEL of the value; a lease on the key (a load in progress) is left to its holder. */
  async delete(key: string): Promise<void> {
    await this.call(() => this.client.del(this.valueKey(key)));
  }

  /**
   * One round trip: the live value if there is one, else an attempt at the lease for `leaseMs`. Both fields absent
   * means another loader holds the lease: wait for it (`waitFor`) or serve stale.
   */
  async getOrLease(key: string, leaseMs: number): Promise<LeaseLookup> {
    const ms = leaseMillis(leaseMs);
    const now = this.now();
    const token = newToken();
    const result = await this.script(LOOKUP, [this.valueKey(key), this.leaseKey(key)], [String(now), token, String(ms)]);
    if (typeof result === "string") {
      const entry = decodeValue(result, now, key);
      return entry === undefined ? {} : { entry };
    }
    if (result === 1) return { lease: { key, token, expiresAt: now + ms } };
    if (result === 0) return {};
    throw unexpected(key, result);
  }

  /**
   * One SET NX PX: the lease alone, without reading the value — for refreshing a value that is still servable
   * (stale-while-revalidate, refresh-ahead) where only one isolate should go to the origin.
   */
  async acquireLease(key: string, leaseMs: number): Promise<Lease | undefined> {
    const ms = leaseMillis(leaseMs);
    const now = this.now();
    const token = newToken();
    const result = await this.call(() => this.client.set(this.leaseKey(key), token, { px: ms, nx: true }));
    return result === "OK" ? { key, token, expiresAt: now + ms } : undefined;
  }

  /**
   * One round trip: stores `entry` (PX until its expiresAt; an already-expired entry deletes the value instead)
   * and, when `lease` is given, releases it if it still holds our token. Resolves true when the lease was released,
   * false when there was none or it had expired or been taken over (the value is stored either way).
   */
  async setAndRelease(key: string, entry: TierEntry, lease?: Lease, tags: readonly string[] = []): Promise<boolean> {
    if (lease === undefined) {
      await this.set(key, entry, tags);
      return false;
    }
    if (lease.key !== key) throw new RangeError(`lease for ${JSON.stringify(lease.key)} used for ${JSON.stringify(key)}`);
    return this.store(key, entry, lease.token, tags);
  }

  private async store(key: string, entry: TierEntry, token: string, tags: readonly string[]): Promise<boolean> {
    const px = pxFor(entry.expiresAt, this.now());
    // No point shipping bytes the script will not write.
    const value = px !== "" && px <= 0 ? "" : encodeValue(entry);
    const keys = [this.valueKey(key), this.leaseKey(key), ...tags.map((t) => this.tagKey(t))];
    const result = await this.script(STORE, keys, [value, String(px), token, key]);
    return result === 1;
  }

  /** One round trip: deletes the lease only if it still holds our token (a failed load gives way at once). */
  async releaseLease(lease: Lease): Promise<boolean> {
    const result = await this.script(RELEASE, [this.leaseKey(lease.key)], [lease.token]);
    return result === 1;
  }

  /**
   * For callers that lost the lease: polls until the value appears (resolves with it) or `timeoutMs` passes
   * (resolves undefined). Resolves undefined early, too, when nobody holds the lease any more and there is still no
   * value — the holder failed and released it, or its lease ran out — since waiting on would be for nothing. Each
   * poll is one command (GET, plus EXISTS on the lease when the value is absent, in one script). The first poll is
   * after `pollMs`: the caller has just looked. A failed poll rejects with that call's DependencyError.
   */
  async waitFor(key: string, options: WaitOptions): Promise<TierEntry | undefined> {
    const result = await this.poll(key, options, 0);
    return result.status === "hit" ? result.entry : undefined;
  }

  /**
   * `waitFor` for callers that want to load themselves if the holder gives up: a poll that finds neither the value
   * nor anyone's lease takes the lease (atomically, so of many waiters exactly one does) and resolves "lease"; the
   * other waiters keep polling for that new holder's value.
   */
  async waitForValueOrLease(key: string, options: TakeOverOptions): Promise<WaitResult> {
    const result = await this.poll(key, options, leaseMillis(options.leaseMs));
    // With a lease duration the script takes an absent lease rather than report its absence.
    if (result.status === "released") throw unexpected(key, -1);
    return result;
  }

  private async poll(key: string, options: WaitOptions, leaseMs: number): Promise<WaitResult | { status: "released" }> {
    let interval = options.pollMs ?? DEFAULT_POLL_MS;
    if (!(interval > 0)) throw new RangeError(`pollMs must be > 0, got ${interval}`);
    const maxInterval = Math.max(interval, options.maxPollMs ?? DEFAULT_MAX_POLL_MS);
    const keys = [this.valueKey(key), this.leaseKey(key)];
    // Waiting is real time (the sleeps are), whatever clock the tier judges expiry by.
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) return { status: "timeout" };
      await sleep(Math.min(interval, remaining));
      interval = Math.min(interval * 1.5, maxInterval);
      const now = this.now();
      const token = leaseMs > 0 ? newToken() : "";
      const result = await this.script(LOOKUP, keys, [String(now), token, String(leaseMs)]);
      if (typeof result === "string") {
        const entry = decodeValue(result, now, key);
        if (entry !== undefined) return { status: "hit", entry };
        continue;
      }
      if (result === 1) return { status: "lease", lease: { key, token, expiresAt: now + leaseMs } };
      if (result === -1) return { status: "released" };
      if (result !== 0) throw unexpected(key, result);
    }
  }

  private call<T>(work: () => Promise<T>): Promise<T> {
    const attempt = (): Promise<T> => bounded(work, this.timeoutMs, "redis");
    return this.breaker === undefined ? attempt() : this.breaker.run(attempt);
  }

  /** EVALSHA, falling back to EVAL on NOSCRIPT, both within one timeout (and one breaker admission). */
  private script(script: LuaScript, keys: string[], args: string[]): Promise<unknown> {
    return this.call(() => script.run(this.client, keys, args));
  }
}

/** `s1:<expiresAt>:<base64>`; see the module comment for why. */
export function encodeValue(entry: TierEntry): string {
  const { expiresAt } = entry;
  if (Number.isNaN(expiresAt)) throw new RangeError("expiresAt must be an epoch-ms number or Infinity");
  return `${VALUE_TAG}${expiresAt === Infinity ? "" : String(expiresAt)}:${toBase64(entry.bytes)}`;
}

/**
 * The entry, or undefined when absent, expired at `now`, or not in our format (the next write replaces it, as the
 * Lua lookup treats it the same way). A well-formed header over an undecodable body is corruption, not a miss.
 */
export function decodeValue(raw: unknown, now: number, key: string): TierEntry | undefined {
  if (typeof raw !== "string" || !raw.startsWith(VALUE_TAG)) return undefined;
  const sep = raw.indexOf(":", VALUE_TAG.length);
  if (sep < 0) return undefined;
  const expText = raw.slice(VALUE_TAG.length, sep);
  const expiresAt = expText === "" ? Infinity : Number(expText);
  // NaN (a garbled header) fails this too.
  if (!(expiresAt > now)) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(raw.slice(sep + 1));
  } catch (error) {
    throw new DependencyError("redis", `redis returned a corrupt value for ${JSON.stringify(key)}`, { cause: error });
  }
  return { bytes, expiresAt };
}

/** '' for no expiry, else whole ms until expiresAt rounded up (<= 0: already dead). */
function pxFor(expiresAt: number, now: number): number | "" {
  if (Number.isNaN(expiresAt)) throw new RangeError("expiresAt must be an epoch-ms number or Infinity");
  if (expiresAt === Infinity) return "";
  return Math.ceil(expiresAt - now);
}

function leaseMillis(leaseMs: number): number {
  if (!(leaseMs >= 1) || !Number.isFinite(leaseMs)) throw new RangeError(`leaseMs must be a finite number >= 1, got ${leaseMs}`);
  return Math.ceil(leaseMs);
}

/** 128 random bits: a token nobody else will hold by chance. */
function newToken(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(16)));
}

function unexpected(key: string, result: unknown): DependencyError {
  return new DependencyError("redis", `unexpected script result for ${JSON.stringify(key)}: ${JSON.stringify(result)}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Native where the runtime has it (TC39 Uint8Array base64: workerd has it, Node 24 not yet), else table-driven. */
interface Base64Native {
  toBase64?: () => string;
}
interface Base64NativeCtor {
  fromBase64?: (text: string) => Uint8Array;
}

const B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_CODES = new TextEncoder().encode(B64_ALPHABET);
const PAD = 61; // "="
const ASCII = new TextDecoder();

/**
 * Fills ASCII codes into a byte array and decodes it once: about 20× faster in Node than btoa over a
 * String.fromCharCode binary string, which dominated a 64 KiB store (2.2 ms → 0.1 ms).
 */
function toBase64(bytes: Uint8Array): string {
  const native = (bytes as Uint8Array & Base64Native).toBase64;
  if (native !== undefined) return native.call(bytes);
  const len = bytes.length;
  const out = new Uint8Array(Math.ceil(len / 3) * 4);
  const codes = B64_CODES;
  let i = 0;
  let o = 0;
  // Indexes below are in range by construction; the assertions only tell noUncheckedIndexedAccess so.
  for (; i + 2 < len; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = codes[n >>> 18]!;
    out[o++] = codes[(n >>> 12) & 63]!;
    out[o++] = codes[(n >>> 6) & 63]!;
    out[o++] = codes[n & 63]!;
  }
  if (i < len) {
    const twoLeft = i + 1 < len;
    const n = (bytes[i]! << 16) | (twoLeft ? bytes[i + 1]! << 8 : 0);
    out[o++] = codes[n >>> 18]!;
    out[o++] = codes[(n >>> 12) & 63]!;
    out[o++] = twoLeft ? codes[(n >>> 6) & 63]! : PAD;
    out[o++] = PAD;
  }
  return ASCII.decode(out);
}

/** atob validates the alphabet and padding (it throws on anything else), so corruption cannot pass as data. */
function fromBase64(text: string): Uint8Array {
  const native = (Uint8Array as typeof Uint8Array & Base64NativeCtor).fromBase64;
  if (native !== undefined) return native.call(Uint8Array, text);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
