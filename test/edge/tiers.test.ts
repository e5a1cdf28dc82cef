/**
 * The shared tier driver suite inside workerd: the Cache API adapter (only workerd has one), and
 * the isolate-memory and Upstash adapters as the worker runs them (@upstash/redis/cloudflare).
 */
import { Redis } from "@upstash/redis/cloudflare";
import { MemoryTier } from "../../core/tiers/memory.ts";
import { RedisTier } from "../../core/tiers/redis.ts";
import { CacheApiTier } from "../../edge/tiers/cache-api.ts";
import { defineTierSuite } from "../tier-suite.ts";
import { testEnv } from "./helpers.ts";

class Clock {
  t = Date.now();
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

defineTierSuite("Cache API (workerd)", async () => {
  const clock = new Clock();
  const cache = await caches.open(`tier-suite-${crypto.randomUUID()}`);
  return { tier: new CacheApiTier({ cache, now: clock.now }), clock, cleanup: async () => undefined };
});

defineTierSuite("isolate memory (workerd)", async () => {
  const clock = new Clock();
  return { tier: new MemoryTier({ maxSizeBytes: 64 << 20, policy: "CUSTOM", now: clock.now }), clock, cleanup: async () => undefined };
});

defineTierSuite("Upstash Redis (workerd)", async () => {
  const client = new Redis({
    url: testEnv.UPSTASH_REDIS_REST_URL,
    token: testEnv.UPSTASH_REDIS_REST_TOKEN,
    enableTelemetry: false,
    responseEncoding: false,
  });
  const keyPrefix = `${testEnv.STRATA_KEY_PREFIX}tier-suite:${crypto.randomUUID()}:`;
  return {
    tier: new RedisTier({ client, keyPrefix, timeoutMs: 5000 }),
    cleanup: async () => {
      let cursor = "0";
      do {
        const [next, keys] = await client.scan(cursor, { match: `${keyPrefix}*`, count: 500 });
        cursor = String(next);
        if (keys.length > 0) await client.del(...keys);
      } while (cursor !== "0");
    },
  };
});
