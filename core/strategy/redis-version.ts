/**
 * @module The config version in Redis: a counter that admin changes INCR after committing to
 * Postgres, and that every isolate's ConfigCache polls to know when to reload. Typed structurally
 * so @upstash/redis (or anything with get/incr) fits without core importing a client.
 */
import type { ConfigVersionSource } from "./registry.ts";

/** The Redis key holding the configuration version (an integer counter; absent until the first bump). */
export const CONFIG_VERSION_KEY = "strata:config:version";

/** The two Redis commands the version needs. */
export interface RedisLike {
  get(key: string): Promise<string | null>;
  incr(key: string): Promise<number>;
}

/** Reads the version from Redis `key` (default CONFIG_VERSION_KEY). */
export class RedisVersionSource implements ConfigVersionSource {
  readonly #redis: Pick<RedisLike, "get">;
  readonly #key: string;

  constructor(redis: Pick<RedisLike, "get">, key: string = CONFIG_VERSION_KEY) {
    this.#redis = redis;
    this.#key = key;
  }

  async current(): Promise<string | null> {
    // @upstash/redis deserializes JSON by default, so the counter comes back as a number.
    const value: unknown = await this.#redis.get(this.#key);
    if (value === null || value === undefined) return null;
    return String(value);
  }
}

/**
 * Announces a configuration change to every isolate: call after the Postgres write has committed
 * (bumping first would let an isolate reload the old rows under the new version). Returns the new
 * version.
 */
export async function bumpConfigVersion(redis: Pick<RedisLike, "incr">, key: string = CONFIG_VERSION_KEY): Promise<string> {
  return String(await redis.incr(key));
}
