/**
 * @module The fan-out's view of L2: SCAN for patterns, the tag index sets, UNLINK in batches.
 * Works on cache keys; the Redis key layout (`<prefix>v:<key>`, `<prefix>tag:<tag>`) is the
 * Redis tier's, reused here so the two cannot disagree.
 */
import type { RedisTier } from "../tiers/redis.ts";
import { bounded } from "../timeout.ts";
import type { L2Keyspace } from "./fanout.ts";

/** The subset of @upstash/redis this needs (the real client is assignable). */
export interface KeyspaceClient {
  scan(cursor: string | number, opts: { match: string; count: number }): Promise<[string | number, string[]]>;
  smembers(key: string): Promise<unknown[]>;
  unlink(...keys: string[]): Promise<number>;
  del(...keys: string[]): Promise<number>;
}

export interface RedisKeyspaceOptions {
  client: KeyspaceClient;
  tier: Pick<RedisTier, "valueKey" | "tagKey" | "keyPrefix">;
  /** Bound on each Redis call (default 5 s: a SCAN page over a large keyspace is slower than a GET). */
  timeoutMs?: number;
  /** Keys examined per SCAN page (default 1000). */
  scanCount?: number;
}

export class RedisKeyspace implements L2Keyspace {
  readonly #client: KeyspaceClient;
  readonly #tier: RedisKeyspaceOptions["tier"];
  readonly #timeoutMs: number;
  readonly #scanCount: number;

  constructor(opts: RedisKeyspaceOptions) {
    this.#client = opts.client;
    this.#tier = opts.tier;
    this.#timeoutMs = opts.timeoutMs ?? 5_000;
    this.#scanCount = opts.scanCount ?? 1_000;
  }

  async scan(glob: string, limit: number): Promise<string[]> {
    const valuePrefix = this.#tier.valueKey("");
    // The prefix is ours, not the user's: escape it so a prefix with glob characters matches literally.
    const match = escapeGlob(valuePrefix) + glob;
    const found = new Set<string>();
    let cursor: string | number = "0";
    do {
      const [next, keys]: [string | number, string[]] = await bounded(
        () => this.#client.scan(cursor, { match, count: this.#scanCount }),
        this.#timeoutMs,
        "redis",
      );
      for (const k of keys) if (typeof k === "string" && k.startsWith(valuePrefix)) found.add(k.slice(valuePrefix.length));
      cursor = String(next);
    } while (cursor !== "0" && found.size < limit);
    return [...found].slice(0, limit);
  }

  async tagMembers(tag: string): Promise<string[]> {
    const members = await bounded(() => this.#client.smembers(this.#tier.tagKey(tag)), this.#timeoutMs, "redis");
    // The client JSON-parses members that look like JSON ("123"); keys are strings, so turn them back.
    return members.map((m) => (typeof m === "string" ? m : JSON.stringify(m)));
  }

  async unlink(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    return bounded(() => this.#client.unlink(...keys.map((k) => this.#tier.valueKey(k))), this.#timeoutMs, "redis");
  }

  async dropTags(tags: readonly string[]): Promise<void> {
    if (tags.length === 0) return;
    await bounded(() => this.#client.del(...tags.map((t) => this.#tier.tagKey(t))), this.#timeoutMs, "redis");
  }
}

export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
