/**
 * @module AES-256-GCM keys for envelope encryption, read from two secret bindings:
 * `STRATA_ENCRYPTION_KEYS` (JSON object, key id → base64 of 32 random bytes) and
 * `STRATA_ENCRYPTION_KEY_ID` (the id new writes use). Keeping old ids in the object is what makes
 * rotation safe: entries written under them stay readable until they expire.
 */
import { base64ToBytes, bytesToBase64 } from "./base64.ts";

export const KEYS_BINDING = "STRATA_ENCRYPTION_KEYS";
export const KEY_ID_BINDING = "STRATA_ENCRYPTION_KEY_ID";

/** Key ids travel in every envelope header, so they are short and need no escaping. */
const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const KEY_BYTES = 32;

/** The bindings are present but unusable. Messages name the binding and key id, never key material. */
export class KeyringError extends Error {
  override readonly name: string = "KeyringError";
}

export class Keyring {
  /** The key id every new encrypted envelope is written with. */
  readonly currentKeyId: string;
  /** Every key id the ring can decrypt, current one included. */
  readonly keyIds: readonly string[];
  readonly #keys: ReadonlyMap<string, CryptoKey>;
  readonly #current: CryptoKey;

  private constructor(keys: ReadonlyMap<string, CryptoKey>, currentKeyId: string) {
    const current = keys.get(currentKeyId);
    if (!current) throw new KeyringError(`${KEY_ID_BINDING} names key "${currentKeyId}", which ${KEYS_BINDING} does not contain`);
    this.#keys = keys;
    this.#current = current;
    this.currentKeyId = currentKeyId;
    this.keyIds = [...keys.keys()];
  }

  /**
   * Builds the ring from the two bindings. Both unset → undefined (encryption not configured;
   * an encrypting strategy then fails closed in `encodeEnvelope`). Exactly one set, bad JSON, a
   * malformed id or a key that is not 32 bytes → `KeyringError`.
   *
   * The result is memoised on the binding strings: a worker calls this per request with the same
   * env, and importing keys costs far more than a string comparison.
   */
  static async fromBindings(keysJson: string | undefined, currentKeyId: string | undefined): Promise<Keyring | undefined> {
    const hasKeys = keysJson !== undefined && keysJson.trim() !== "";
    const hasId = currentKeyId !== undefined && currentKeyId.trim() !== "";
    if (!hasKeys && !hasId) return undefined;
    if (!hasKeys) throw new KeyringError(`${KEY_ID_BINDING} is set but ${KEYS_BINDING} is not`);
    if (!hasId) throw new KeyringError(`${KEYS_BINDING} is set but ${KEY_ID_BINDING} is not`);
    if (memo && memo.keysJson === keysJson && memo.currentKeyId === currentKeyId) return memo.ring;
    const ring = Keyring.#build(keysJson, currentKeyId.trim());
    memo = { keysJson, currentKeyId, ring };
    // A failed build must not stick: the next call (e.g. after a secret is fixed) retries.
    ring.catch(() => {
      if (memo?.ring === ring) memo = undefined;
    });
    return ring;
  }

  /** Builds a ring from raw key bytes (tests, tools). Same validation as `fromBindings`. */
  static async fromRawKeys(keys: Readonly<Record<string, Uint8Array<ArrayBuffer>>>, currentKeyId: string): Promise<Keyring> {
    const imported = new Map<string, CryptoKey>();
    for (const [id, raw] of Object.entries(keys)) imported.set(id, await importKey(id, raw));
    return new Keyring(imported, currentKeyId);
  }

  /** The key new writes use. */
  current(): { keyId: string; key: CryptoKey } {
    return { keyId: this.currentKeyId, key: this.#current };
  }

  /** The key for an id read from an envelope, or undefined when the ring no longer (or never) had it. */
  get(keyId: string): CryptoKey | undefined {
    return this.#keys.get(keyId);
  }

  static async #build(keysJson: string, currentKeyId: string): Promise<Keyring> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(keysJson);
    } catch {
      // The parser's message may quote the input, i.e. key material: say only what is wrong.
      throw new KeyringError(`${KEYS_BINDING} is not valid JSON (expected {"<keyId>": "<base64 of 32 bytes>", ...})`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new KeyringError(`${KEYS_BINDING} must be a JSON object {"<keyId>": "<base64 of 32 bytes>", ...}`);
    }
    const entries = Object.entries(parsed);
    if (entries.length === 0) throw new KeyringError(`${KEYS_BINDING} holds no keys`);
    const raw: Record<string, Uint8Array<ArrayBuffer>> = {};
    for (const [id, value] of entries) {
      if (typeof value !== "string") throw new KeyringError(`${KEYS_BINDING}["${safeId(id)}"] must be a base64 string`);
      try {
        raw[id] = base64ToBytes(value);
      } catch {
        throw new KeyringError(`${KEYS_BINDING}["${safeId(id)}"] is not valid base64`);
      }
    }
    return Keyring.fromRawKeys(raw, currentKeyId);
  }
}

let memo: { keysJson: string; currentKeyId: string; ring: Promise<Keyring> } | undefined;

async function importKey(id: string, raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  if (!KEY_ID_PATTERN.test(id)) {
    throw new KeyringError(`${KEYS_BINDING}: key id "${safeId(id)}" must be 1-64 characters of A-Z a-z 0-9 . _ -`);
  }
  if (raw.length !== KEY_BYTES) {
    throw new KeyringError(`${KEYS_BINDING}["${id}"] must decode to ${KEY_BYTES} bytes (AES-256), got ${raw.length}`);
  }
  // Non-extractable: once imported, no code path can read the key back out of the isolate.
  return crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
}

/** Ids are echoed in errors; cap and strip them so a pasted secret in the id slot is not logged whole. */
function safeId(id: string): string {
  const clean = id.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > 24 ? `${clean.slice(0, 8)}…` : clean;
}

/** A fresh key as the binding expects it: base64 of 32 random bytes (docs, `wrangler secret put`, dev). */
export function generateEncryptionKey(): string {
  return bytesToBase64(crypto.getRandomValues(new Uint8Array(KEY_BYTES)));
}
