/**
 * What the remote tiers actually hold, read back from real Redis: encrypted strategies never
 * store plaintext, compressed strategies store fewer bytes than the JSON, and the counters the
 * isolate flushes add up to the requests made.
 */
import { Redis } from "@upstash/redis/cloudflare";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { decodeEnvelope } from "../../core/envelope.ts";
import { Keyring } from "../../core/crypto/keyring.ts";
import { hourBucket, metricsKey } from "../../core/metrics.ts";
import { RedisTier } from "../../core/tiers/redis.ts";
import { cacheKeyRegistry, resources } from "../../db/schema/index.ts";
import { flushIsolate, isolateState } from "../../edge/cache.ts";
import { call, db, testEnv } from "./helpers.ts";

const redis = () => new Redis({ url: testEnv.UPSTASH_REDIS_REST_URL, token: testEnv.UPSTASH_REDIS_REST_TOKEN, enableTelemetry: false });
const l2 = () => new RedisTier({ client: redis(), keyPrefix: testEnv.STRATA_KEY_PREFIX });

async function l2Bytes(key: string): Promise<Uint8Array> {
  for (let i = 0; i < 100; i++) {
    const entry = await l2().get(key);
    if (entry) return entry.bytes;
    await new Promise((r) => setTimeout(r, 20)); // the L2 write runs in waitUntil
  }
  throw new Error(`${key} never reached L2`);
}

function contains(haystack: Uint8Array, needle: string): boolean {
  return new TextDecoder("latin1").decode(haystack).includes(needle);
}

describe("what Redis holds", () => {
  it("holds no plaintext of an encrypted strategy (user-profile)", async () => {
    const id = crypto.randomUUID();
    const marker = `secret-marker-${crypto.randomUUID()}`;
    await db().insert(resources).values({ id, resourceType: "USER_PROFILE", payload: { displayName: marker, email: `${marker}@example.com` } });
    const res = await call(`/v1/resources/user-profile/${id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toMatch(/^private/);
    expect(JSON.stringify(await res.json())).toContain(marker);

    const bytes = await l2Bytes(`user-profile:${id}`);
    expect(contains(bytes, marker)).toBe(false);
    expect(contains(bytes, "displayName")).toBe(false);
    // …and it is the value, encrypted under the worker's key.
    const keyring = await Keyring.fromBindings(testEnv.STRATA_ENCRYPTION_KEYS, testEnv.STRATA_ENCRYPTION_KEY_ID);
    const envelope = await decodeEnvelope(bytes, keyring, { cacheKey: `user-profile:${id}` });
    expect(envelope.encrypted).toBe(true);
    expect(JSON.stringify(envelope.value)).toContain(marker);
  });

  it("holds fewer bytes than the JSON for a compressed strategy (workout)", async () => {
    const id = crypto.randomUUID();
    const steps = Array.from({ length: 120 }, (_, i) => ({ step: i, exercise: "goblet squat", reps: 12, restSeconds: 60 }));
    await db().insert(resources).values({ id, resourceType: "WORKOUT", payload: { name: "Volume day", steps } });
    const res = await call(`/v1/resources/workout/${id}`);
    const jsonBytes = new TextEncoder().encode(JSON.stringify(await res.json())).byteLength;
    expect(jsonBytes).toBeGreaterThan(5_000);
    const bytes = await l2Bytes(`workout:${id}`);
    expect(bytes.byteLength).toBeLessThan(jsonBytes / 4);
    const envelope = await decodeEnvelope(bytes);
    expect(envelope.compressed).toBe(true);
    expect(envelope.encrypted).toBe(false);
  });
});

describe("counters", () => {
  it("flushes counters to Redis that match the requests made (L1 hits + misses = requests)", async () => {
    // MEDIA is read by no other suite, so its counters are this test's alone.
    const ids = await Promise.all(
      [1, 2, 3].map(async (n) => {
        const id = crypto.randomUUID();
        await db().insert(resources).values({ id, resourceType: "MEDIA", payload: { url: `https://cdn.example/${n}.jpg` } });
        return id;
      }),
    );
    await call(`/v1/resources/media/${ids[0]}`); // builds the engine
    await flushIsolate(testEnv); // start from a clean slate
    const strategyId = isolateState()?.config.peek()?.forResourceType("MEDIA")?.id;
    expect(strategyId).toBeTruthy();
    const hashKey = metricsKey(testEnv.STRATA_KEY_PREFIX ?? "", hourBucket(Date.now()), "L1_APPLICATION", strategyId ?? "");
    const before = (await redis().hgetall<Record<string, number>>(hashKey)) ?? {};

    let requests = 0;
    for (const id of ids) {
      for (let i = 0; i < 4; i++) {
        expect((await call(`/v1/resources/media/${id}`)).status).toBe(200);
        requests++;
      }
    }
    await call(`/v1/resources/media/${crypto.randomUUID()}`); // a 404 is a request too
    requests++;
    await flushIsolate(testEnv);

    const after = (await redis().hgetall<Record<string, number>>(hashKey)) ?? {};
    const delta = (f: string) => Number(after[f] ?? 0) - Number(before[f] ?? 0);
    expect(delta("hits") + delta("misses")).toBe(requests);
    expect(delta("misses")).toBe(3); // ids[1], ids[2] cold, and the unknown id (ids[0] was warmed)
    expect(delta("hits")).toBe(requests - 3);
    const latencyFields = Object.keys(after).filter((f) => f.startsWith("lat_le_"));
    expect(latencyFields.length).toBeGreaterThan(0);
    expect(await redis().ttl(hashKey)).toBeGreaterThan(3600);
    const index = await redis().smembers(`${testEnv.STRATA_KEY_PREFIX}metrics:index:${hourBucket(Date.now())}`);
    expect(index).toContain(hashKey);
  });

  it("upserts the key registry in batches: one row per key with hit and miss counts", async () => {
    const id = crypto.randomUUID();
    await db().insert(resources).values({ id, resourceType: "MEDIA", payload: { url: "https://cdn.example/x.jpg" } });
    for (let i = 0; i < 5; i++) await call(`/v1/resources/media/${id}`);
    await flushIsolate(testEnv);
    const [row] = await db().select().from(cacheKeyRegistry).where(eq(cacheKeyRegistry.cacheKey, `media:${id}`));
    expect(row).toMatchObject({ resourceType: "MEDIA", resourceId: id, hitCount: 4, missCount: 1, isActive: true });
    expect(row?.dataSizeBytes).toBeGreaterThan(0);
    expect(new Date(row?.expiresAt ?? 0).getTime()).toBeGreaterThan(Date.now());
  });
});
