/**
 * @module Lua scripts sent by EVALSHA, falling back to EVAL on NOSCRIPT (first use after a script
 * flush, or a fresh server). Shared by the Redis tier and the invalidation epoch store.
 */
import { joined } from "./joined.ts";

/** What a script call needs from the Redis client (the @upstash/redis `Redis` is assignable). */
export interface ScriptClient {
  eval(script: string, keys: string[], args: string[]): Promise<unknown>;
  evalsha(sha1: string, keys: string[], args: string[]): Promise<unknown>;
}

/** A script and its SHA-1, computed once per isolate (Web Crypto has no synchronous digest). */
export class LuaScript {
  readonly text: string;
  #sha: string | undefined;
  #pending: Promise<string> | undefined;

  constructor(text: string) {
    this.text = text;
  }

  sha1(): string | Promise<string> {
    if (this.#sha !== undefined) return this.#sha;
    this.#pending ??= crypto.subtle.digest("SHA-1", new TextEncoder().encode(this.text)).then((digest) => {
      this.#sha = toHex(new Uint8Array(digest));
      return this.#sha;
    });
    // The first digest may be awaited by several requests at once (core/joined.ts).
    return joined(this.#pending);
  }

  /** One round trip normally; two on NOSCRIPT. The caller bounds it (timeout, breaker). */
  async run(client: ScriptClient, keys: string[], args: string[]): Promise<unknown> {
    const sha = await this.sha1();
    try {
      return await client.evalsha(sha, keys, args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return await client.eval(this.text, keys, args);
    }
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.toUpperCase().includes("NOSCRIPT");
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += HEX[b] ?? "";
  return out;
}
