/** @module Standard base64 ⇄ bytes with btoa/atob only, so the same code runs in workerd and Node (no Buffer). */

/** Chunked so a large input never hits the engine's argument-count limit of `String.fromCharCode(...)`. */
const CHUNK = 0x2000;

export function bytesToBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += CHUNK) {
    bin += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  }
  return btoa(bin);
}

/**
 * Decodes standard base64; the URL-safe alphabet and missing padding are accepted too because
 * secrets get pasted from many tools. Throws `SyntaxError` on anything else, so callers can
 * wrap it in a message that names the offending input without echoing it.
 */
export function base64ToBytes(text: string): Uint8Array<ArrayBuffer> {
  let normalized = text.trim().replace(/-/g, "+").replace(/_/g, "/");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(normalized)) throw new SyntaxError("not base64");
  normalized = normalized.replace(/=+$/, "");
  if (normalized.length % 4 === 1) throw new SyntaxError("not base64");
  normalized += "=".repeat((4 - (normalized.length % 4)) % 4);
  const bin = atob(normalized);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
