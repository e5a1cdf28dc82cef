/**
 * @module API keys: format, generation and hashing, runtime-neutral (WebCrypto only).
 *
 * A key reads `strata_<prefix>_<secret>`. The prefix is public and indexed, so a lookup is one
 * unique-index probe; only the SHA-256 of the whole key is stored. A fast hash is enough because
 * generated secrets carry 192 random bits: there is nothing to brute-force that a slow KDF
 * would protect, and the edge must verify a key in microseconds.
 */
const KEY_PATTERN = /^strata_([a-z0-9]{8})_([A-Za-z0-9_-]{16,128})$/;
const PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

export interface ParsedApiKey {
  prefix: string;
  key: string;
}

export function parseApiKey(key: string): ParsedApiKey | null {
  const match = KEY_PATTERN.exec(key);
  return match?.[1] ? { prefix: match[1], key } : null;
}

export async function hashApiKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  return toHex(new Uint8Array(digest));
}

export interface GeneratedApiKey {
  key: string;
  prefix: string;
  hash: string;
}

export async function generateApiKey(): Promise<GeneratedApiKey> {
  const prefixBytes = crypto.getRandomValues(new Uint8Array(8));
  let prefix = "";
  for (const b of prefixBytes) prefix += PREFIX_ALPHABET[b % PREFIX_ALPHABET.length];
  const secret = toBase64Url(crypto.getRandomValues(new Uint8Array(24)));
  const key = `strata_${prefix}_${secret}`;
  return { key, prefix, hash: await hashApiKey(key) };
}

/** Compares two equal-length hex digests without an early exit, so timing reveals nothing. */
export function digestsEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

function toBase64Url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
