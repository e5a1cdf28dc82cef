/**
 * @module The envelope every tier stores: a value (or a negative "not found") with its version,
 * timing windows, tags and invalidation epochs, encoded to bytes with optional gzip and
 * AES-256-GCM. Format and rationale: docs/envelope.md.
 *
 *   offset 0  magic 0x53 ("S")
 *          1  format version (1)
 *          2  flags: bit0 compressed, bit1 encrypted, bit2 negative (other bits must be 0)
 *          3  header length, uint32 big-endian
 *          7  header: UTF-8 JSON (short keys, see `WireHeader`)
 *     7 + n  body: JSON value bytes → gzip (if it shrinks) → AES-GCM ciphertext + 16-byte tag
 *
 * When encrypted, bytes [0, 7 + n) are the GCM additional data, so neither the flags nor any
 * metadata can be altered without decryption failing.
 */
import { base64ToBytes, bytesToBase64 } from "./crypto/base64.ts";
import type { Keyring } from "./crypto/keyring.ts";

export { Keyring, KeyringError, generateEncryptionKey } from "./crypto/keyring.ts";

export interface Envelope {
  /** The cached JSON value; undefined for a negative entry. */
  value?: unknown;
  /** A remembered "not found": no value, kept for the strategy's negative TTL. */
  negative: boolean;
  /** Origin version of the value (resources.version is a Postgres bigint → decimal string). */
  version: string;
  strategyId: string;
  /** Epoch ms when the value was read from the origin. */
  storedAt: number;
  /** Fresh until storedAt + ttlMs. */
  ttlMs: number;
  staleWhileRevalidateMs: number;
  staleIfErrorMs: number;
  tags: string[];
  /** Invalidation epochs observed when the entry was written (tag/strategy → epoch). */
  epochs: Record<string, number>;
  /** Set by decode: how the entry was stored (observability, tests). Ignored by encode. */
  compressed?: boolean;
  encrypted?: boolean;
  keyId?: string;
}

export interface EncodeOptions {
  /** The strategy enables compression. */
  compress: boolean;
  /** Bodies at least this many bytes are gzip-compressed when `compress` is on. */
  compressionThresholdBytes: number;
  /** The strategy enables encryption; without a keyring this throws rather than store plaintext. */
  encrypt: boolean;
  keyring?: Keyring | undefined;
  /**
   * The logical cache key the entry is stored under. When encrypting it is bound into the GCM
   * additional data (not stored), so an encrypted entry copied to another key in Redis fails to
   * decrypt instead of serving one user's value under another's key. Pass the same key to decode.
   */
  cacheKey?: string | undefined;
}

export interface DecodeOptions {
  /** Must equal `EncodeOptions.cacheKey` of the write, for encrypted envelopes. */
  cacheKey?: string | undefined;
  /**
   * The strategy encrypts: refuse a plaintext envelope. Without this, anyone able to write to
   * Redis could plant an unencrypted (hence unauthenticated) entry for an encrypted strategy.
   */
  requireEncrypted?: boolean | undefined;
}

export type EnvelopeErrorReason =
  /** Not an envelope, truncated, or a header/body that does not parse. */
  | "corrupt"
  /** An envelope from a newer writer (format version or flag bits this reader does not know). */
  | "unsupported"
  /** Encrypted under a key id the keyring does not hold. */
  | "unknown-key"
  /** Encrypted and the ring has no keys at all. */
  | "no-keyring"
  /** Plaintext envelope where `requireEncrypted` demanded an encrypted one. */
  | "unencrypted"
  /** GCM authentication failed: tampered bytes or the wrong key. */
  | "auth"
  /** Encode refused: the envelope or the options are invalid. */
  | "invalid";

/**
 * Decode failures are expected in production (rotated-out keys, old formats, a corrupt Redis
 * value): the engine treats every one as a miss and counts it by `reason`.
 */
export class EnvelopeError extends Error {
  override readonly name: string = "EnvelopeError";
  readonly reason: EnvelopeErrorReason;
  constructor(reason: EnvelopeErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
  }
}

export const ENVELOPE_MAGIC = 0x53;
export const ENVELOPE_FORMAT_VERSION = 1;
export const FLAG_COMPRESSED = 0b001;
export const FLAG_ENCRYPTED = 0b010;
export const FLAG_NEGATIVE = 0b100;
const KNOWN_FLAGS = FLAG_COMPRESSED | FLAG_ENCRYPTED | FLAG_NEGATIVE;
const PREFIX_BYTES = 7;
const IV_BYTES = 12;
const GCM_TAG_BYTES = 16;
/** Far above any real header; stops a corrupt length from making decode slice nonsense. */
const MAX_HEADER_BYTES = 1 << 20;
/**
 * Largest body that is compressed, hence the largest a header may claim to inflate to. Decode
 * preallocates the declared length, so this (with deflate's 1032:1 ratio limit) is what keeps a
 * corrupt length from allocating gigabytes in a 128 MB isolate. Larger bodies are stored raw.
 */
const MAX_INFLATED_BYTES = 64 << 20;
const MAX_DEFLATE_RATIO = 1032;

/**
 * The header as written. Short keys because it is stored with every entry in every tier;
 * zero windows and empty tags/epochs are omitted for the same reason.
 */
interface WireHeader {
  /** version */
  v: string;
  /** strategyId */
  s: string;
  /** storedAt */
  t: number;
  /** ttlMs */
  ttl: number;
  swr?: number;
  sie?: number;
  tags?: string[];
  ep?: Record<string, number>;
  /** Uncompressed body length, present when compressed: bounds and checks decompression. */
  n?: number;
  /** Key id and base64 IV, present when encrypted. */
  k?: string;
  iv?: string;
}

const utf8Encoder = new TextEncoder();
// Fatal: a flipped byte in plaintext JSON becomes an error, not a silent U+FFFD in the value.
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });
const EMPTY: Bytes = new Uint8Array(0);

/**
 * Bytes over a plain ArrayBuffer: what WebCrypto and the compression streams accept. Everything
 * this module allocates is one; input from a tier is checked once by `ownBuffer`.
 */
type Bytes = Uint8Array<ArrayBuffer>;

export async function encodeEnvelope(e: Envelope, opts: EncodeOptions): Promise<Uint8Array> {
  validateForEncode(e);
  // Checked before any work so a misconfigured encrypting strategy never produces plaintext bytes.
  if (opts.encrypt && !opts.keyring) {
    throw new EnvelopeError("invalid", "encryption is enabled for this strategy but no keyring is configured (STRATA_ENCRYPTION_KEYS / STRATA_ENCRYPTION_KEY_ID)");
  }

  let body: Bytes = EMPTY;
  if (!e.negative) {
    const json = JSON.stringify(e.value);
    // JSON.stringify returns undefined for functions/symbols: such a value cannot round-trip.
    if (typeof json !== "string") throw new EnvelopeError("invalid", "envelope value is not JSON-serialisable");
    body = utf8Encoder.encode(json);
  }

  let flags = e.negative ? FLAG_NEGATIVE : 0;
  const header: WireHeader = { v: e.version, s: e.strategyId, t: e.storedAt, ttl: e.ttlMs };
  if (e.staleWhileRevalidateMs > 0) header.swr = e.staleWhileRevalidateMs;
  if (e.staleIfErrorMs > 0) header.sie = e.staleIfErrorMs;
  if (e.tags.length > 0) header.tags = e.tags;
  if (Object.keys(e.epochs).length > 0) header.ep = e.epochs;

  if (opts.compress && body.length > 0 && body.length >= opts.compressionThresholdBytes && body.length <= MAX_INFLATED_BYTES) {
    const packed = await gzip(body);
    // Small or high-entropy bodies can grow under gzip; storing them raw is both smaller and faster to read.
    if (packed.length < body.length) {
      header.n = body.length;
      body = packed;
      flags |= FLAG_COMPRESSED;
    }
  }

  if (!opts.encrypt || !opts.keyring) {
    const out = writePrefix(flags, header, body.length);
    out.set(body, out.length - body.length);
    return out;
  }

  const { keyId, key } = opts.keyring.current();
  // A fresh random 96-bit IV per encode: with random IVs GCM stays safe far beyond the number of
  // writes a key will see between rotations.
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  header.k = keyId;
  header.iv = bytesToBase64(iv);
  flags |= FLAG_ENCRYPTED;
  const out = writePrefix(flags, header, body.length + GCM_TAG_BYTES);
  const prefixLength = out.length - body.length - GCM_TAG_BYTES;
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: additionalData(out.subarray(0, prefixLength), opts.cacheKey), tagLength: GCM_TAG_BYTES * 8 },
    key,
    body,
  );
  out.set(new Uint8Array(sealed), prefixLength);
  return out;
}

/**
 * Decodes bytes from a tier. Throws `EnvelopeError` for anything it cannot vouch for; the
 * caller treats that as a miss (and may delete the entry).
 */
export async function decodeEnvelope(input: Uint8Array, keyring?: Keyring, opts?: DecodeOptions): Promise<Envelope> {
  const bytes = ownBuffer(input);
  if (bytes.length < PREFIX_BYTES) throw new EnvelopeError("corrupt", `envelope truncated: ${bytes.length} bytes`);
  if (bytes[0] !== ENVELOPE_MAGIC) throw new EnvelopeError("corrupt", "not an envelope (bad magic byte)");
  if (bytes[1] !== ENVELOPE_FORMAT_VERSION) throw new EnvelopeError("unsupported", `unsupported envelope format version ${bytes[1]}`);
  const flags = bytes[2] ?? 0;
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new EnvelopeError("unsupported", `unknown envelope flags 0x${flags.toString(16)}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(3);
  const bodyStart = PREFIX_BYTES + headerLength;
  if (headerLength > MAX_HEADER_BYTES || bodyStart > bytes.length) {
    throw new EnvelopeError("corrupt", `envelope truncated: header of ${headerLength} bytes, ${bytes.length - PREFIX_BYTES} available`);
  }

  const negative = (flags & FLAG_NEGATIVE) !== 0;
  const compressed = (flags & FLAG_COMPRESSED) !== 0;
  const encrypted = (flags & FLAG_ENCRYPTED) !== 0;
  if (!encrypted && opts?.requireEncrypted) throw new EnvelopeError("unencrypted", "plaintext envelope for a strategy that requires encryption");
  const header = parseHeader(bytes.subarray(PREFIX_BYTES, bodyStart), compressed, encrypted);
  let body = bytes.subarray(bodyStart);

  if (encrypted) {
    const keyId = header.k as string;
    if (!keyring) throw new EnvelopeError("no-keyring", `envelope is encrypted with key id "${keyId}" but no keyring is configured`);
    const key = keyring.get(keyId);
    if (!key) throw new EnvelopeError("unknown-key", `unknown key id "${keyId}" (not in STRATA_ENCRYPTION_KEYS)`);
    let iv: Bytes;
    try {
      iv = base64ToBytes(header.iv as string);
    } catch {
      throw new EnvelopeError("corrupt", "envelope IV is not base64");
    }
    if (iv.length !== IV_BYTES) throw new EnvelopeError("corrupt", `envelope IV is ${iv.length} bytes, expected ${IV_BYTES}`);
    if (body.length < GCM_TAG_BYTES) throw new EnvelopeError("corrupt", "encrypted body shorter than the GCM tag");
    try {
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv, additionalData: additionalData(bytes.subarray(0, bodyStart), opts?.cacheKey), tagLength: GCM_TAG_BYTES * 8 },
        key,
        body,
      );
      body = new Uint8Array(plain);
    } catch (cause) {
      throw new EnvelopeError("auth", `envelope failed authentication under key id "${keyId}" (tampered, wrong key, or stored under a different cache key)`, { cause });
    }
  }

  if (compressed) body = await gunzip(body, header.n as number);

  const envelope: Envelope = {
    negative,
    version: header.v,
    strategyId: header.s,
    storedAt: header.t,
    ttlMs: header.ttl,
    staleWhileRevalidateMs: header.swr ?? 0,
    staleIfErrorMs: header.sie ?? 0,
    tags: header.tags ?? [],
    epochs: header.ep ?? {},
    compressed,
    encrypted,
  };
  if (encrypted) envelope.keyId = header.k;

  if (negative) {
    if (body.length !== 0) throw new EnvelopeError("corrupt", "negative envelope carries a body");
    return envelope;
  }
  try {
    envelope.value = JSON.parse(utf8Decoder.decode(body));
  } catch (cause) {
    throw new EnvelopeError("corrupt", "envelope body is not valid UTF-8 JSON", { cause });
  }
  return envelope;
}

/**
 * When a tier may drop the entry: the end of the last window in which it may still be served.
 * Stale-while-revalidate and stale-if-error both start when freshness ends, so the longer one
 * decides. A negative entry has no stale windows worth keeping, but its envelope says so itself
 * (the engine writes zeros), so no special case here.
 */
export function envelopeExpiresAt(e: Envelope): number {
  return e.storedAt + e.ttlMs + Math.max(e.staleWhileRevalidateMs, e.staleIfErrorMs);
}

/** GCM additional data: the envelope prefix (flags + header), then the cache key when one is bound. */
function additionalData(prefix: Bytes, cacheKey: string | undefined): Bytes {
  if (!cacheKey) return prefix;
  const key = utf8Encoder.encode(cacheKey);
  const out = new Uint8Array(prefix.length + key.length);
  out.set(prefix);
  out.set(key, prefix.length);
  return out;
}

function writePrefix(flags: number, header: WireHeader, bodyLength: number): Bytes {
  const headerBytes = utf8Encoder.encode(JSON.stringify(header));
  // One allocation for the whole envelope: the caller fills the body in place.
  const out = new Uint8Array(PREFIX_BYTES + headerBytes.length + bodyLength);
  out[0] = ENVELOPE_MAGIC;
  out[1] = ENVELOPE_FORMAT_VERSION;
  out[2] = flags;
  new DataView(out.buffer).setUint32(3, headerBytes.length);
  out.set(headerBytes, PREFIX_BYTES);
  return out;
}

function parseHeader(raw: Bytes, compressed: boolean, encrypted: boolean): WireHeader {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8Decoder.decode(raw));
  } catch (cause) {
    throw new EnvelopeError("corrupt", "envelope header is not valid UTF-8 JSON", { cause });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw corruptHeader("not an object");
  const h = parsed as Record<string, unknown>;
  if (typeof h.v !== "string") throw corruptHeader("version");
  if (typeof h.s !== "string") throw corruptHeader("strategy id");
  if (!isMillis(h.t)) throw corruptHeader("storedAt");
  if (!isMillis(h.ttl)) throw corruptHeader("ttl");
  if (h.swr !== undefined && !isMillis(h.swr)) throw corruptHeader("stale-while-revalidate");
  if (h.sie !== undefined && !isMillis(h.sie)) throw corruptHeader("stale-if-error");
  if (h.tags !== undefined && !(Array.isArray(h.tags) && h.tags.every((t) => typeof t === "string"))) throw corruptHeader("tags");
  if (h.ep !== undefined) {
    if (typeof h.ep !== "object" || h.ep === null || Array.isArray(h.ep)) throw corruptHeader("epochs");
    for (const n of Object.values(h.ep)) if (typeof n !== "number" || !Number.isFinite(n)) throw corruptHeader("epochs");
  }
  if (compressed && !isMillis(h.n)) throw corruptHeader("uncompressed length");
  if (encrypted && (typeof h.k !== "string" || typeof h.iv !== "string")) throw corruptHeader("key id / iv");
  return h as unknown as WireHeader;
}

/**
 * A view over a SharedArrayBuffer is the one input WebCrypto rejects; tiers never hand one out,
 * but copying is cheaper than misreporting it as an authentication failure.
 */
function ownBuffer(bytes: Uint8Array): Bytes {
  if (typeof SharedArrayBuffer !== "undefined" && bytes.buffer instanceof SharedArrayBuffer) return new Uint8Array(bytes);
  return bytes as Bytes;
}

function corruptHeader(field: string): EnvelopeError {
  return new EnvelopeError("corrupt", `envelope header: invalid ${field}`);
}

/** Non-negative safe integer: every duration, timestamp and length in the header. */
function isMillis(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

function validateForEncode(e: Envelope): void {
  if (e.negative ? e.value !== undefined : e.value === undefined) {
    throw new EnvelopeError("invalid", e.negative ? "a negative envelope must not carry a value" : "a positive envelope needs a value (use null for JSON null)");
  }
  if (typeof e.version !== "string" || typeof e.strategyId !== "string") throw new EnvelopeError("invalid", "version and strategyId must be strings");
  for (const [name, n] of [
    ["storedAt", e.storedAt],
    ["ttlMs", e.ttlMs],
    ["staleWhileRevalidateMs", e.staleWhileRevalidateMs],
    ["staleIfErrorMs", e.staleIfErrorMs],
  ] as const) {
    if (!isMillis(n)) throw new EnvelopeError("invalid", `${name} must be a non-negative integer, got ${String(n)}`);
  }
  // JSON would turn NaN/Infinity into null, which decode then rightly rejects as corrupt: refuse it here instead.
  for (const [scope, epoch] of Object.entries(e.epochs)) {
    if (typeof epoch !== "number" || !Number.isFinite(epoch)) throw new EnvelopeError("invalid", `epoch for "${scope}" must be a finite number`);
  }
}

async function gzip(input: Bytes): Promise<Bytes> {
  const stream = new CompressionStream("gzip");
  const writer = stream.writable.getWriter();
  // Errors surface on the readable side too; these catches only stop unhandled rejections.
  writer.write(input).catch(() => {});
  writer.close().catch(() => {});
  const chunks: Bytes[] = [];
  let total = 0;
  const reader = stream.readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.length;
  }
  return concat(chunks, total);
}

/**
 * Inflates into a buffer of the length the header promised. Output beyond it aborts at once
 * (a corrupt or hostile body cannot balloon memory), and short output is an error too; gzip's
 * own CRC-32 then covers the content.
 */
async function gunzip(input: Bytes, expectedLength: number): Promise<Bytes> {
  if (expectedLength > MAX_INFLATED_BYTES || expectedLength > input.length * MAX_DEFLATE_RATIO + 64) {
    throw new EnvelopeError("corrupt", `compressed body of ${input.length} bytes cannot inflate to the ${expectedLength} its header declares`);
  }
  const stream = new DecompressionStream("gzip");
  const writer = stream.writable.getWriter();
  writer.write(input).catch(() => {});
  writer.close().catch(() => {});
  const reader = stream.readable.getReader();
  const out = new Uint8Array(expectedLength);
  let offset = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (offset + value.length > expectedLength) {
        reader.cancel().catch(() => {});
        throw new EnvelopeError("corrupt", `compressed body inflates beyond the ${expectedLength} bytes its header declares`);
      }
      out.set(value, offset);
      offset += value.length;
    }
  } catch (cause) {
    if (cause instanceof EnvelopeError) throw cause;
    throw new EnvelopeError("corrupt", "compressed body does not inflate (corrupt gzip)", { cause });
  }
  if (offset !== expectedLength) {
    throw new EnvelopeError("corrupt", `compressed body inflates to ${offset} bytes, header declares ${expectedLength}`);
  }
  return out;
}

function concat(chunks: Bytes[], total: number): Bytes {
  if (chunks.length === 1 && chunks[0]) return chunks[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}
