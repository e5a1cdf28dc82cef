/**
 * Write-behind durability: writes acknowledged by the write path (the same core the worker runs,
 * with the worker's SQS client) survive the consumer being SIGKILLed mid-stream. The local Lambda
 * runner runs in a child process against its own fauxqs; after it is killed and restarted, every
 * resource is in Postgres at its final version, and a replayed or reordered write changes nothing.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { resolve } from "node:path";
import { Redis } from "@upstash/redis";
import { sql } from "drizzle-orm";
import { startFauxqs } from "fauxqs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CacheEngine } from "../../core/engine/engine.ts";
import { EpochStore } from "../../core/invalidation/epochs.ts";
import { EpochView } from "../../core/invalidation/view.ts";
import { MemoryTier } from "../../core/tiers/memory.ts";
import { RedisTier } from "../../core/tiers/redis.ts";
import type { ResolvedStrategy } from "../../core/types.ts";
import { RedisVersionCounter } from "../../core/write/version-counter.ts";
import { WritePath } from "../../core/write/write-path.ts";
import { ensureQueues, localSqsClient } from "../../dev/lambda-runner.ts";
import { httpDb } from "../../db/client.ts";
import { currentVersion, deleteResource, persistWrite, writeResource } from "../../db/writes.ts";
import { SqsFetchClient } from "../../edge/sqs.ts";
import { present } from "../../edge/writes.ts";
import { queueByKey, QUEUES } from "../../functions/queues.ts";

const root = resolve(import.meta.dirname, "../..");
const prefix = `strata:test:wb:${crypto.randomUUID().slice(0, 8)}:`;
const db = httpDb({ databaseUrl: inject("databaseUrl"), neonBridgeUrl: inject("neonBridgeUrl") });
const redis = new Redis({ url: inject("upstashUrl"), token: inject("upstashToken"), enableTelemetry: false, responseEncoding: false });
let sqs: { stop(): void; port: number } | undefined;
let endpoint = "";
let runner: ChildProcess | undefined;

const strategy: ResolvedStrategy = {
  id: "00000000-0000-4000-8000-000000000001",
  name: "analytics-test",
  resourceType: "ANALYTICS",
  keyPattern: "analytics:{id}",
  layerId: "00000000-0000-4000-8000-000000000002",
  behavior: "WRITE_BEHIND",
  invalidation: "TTL",
  ttlMs: 120_000,
  staleWhileRevalidateMs: 30_000,
  staleIfErrorMs: 0,
  negativeTtlMs: 1000,
  refreshAheadFraction: 0.8,
  compression: false,
  compressionThresholdBytes: 1024,
  encryption: false,
  isDefault: false,
};

function startRunner(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--experimental-strip-types", "--no-warnings", "test/fixtures/runner-process.ts"], {
    cwd: root,
    env: {
      ...process.env,
      RUNNER_QUEUES: "write-behind",
      RUNNER_VISIBILITY_SECONDS: "6",
      SQS_ENDPOINT: endpoint,
      DATABASE_URL: inject("databaseUrl"),
      NEON_BRIDGE_URL: inject("neonBridgeUrl"),
      UPSTASH_REDIS_REST_URL: inject("upstashUrl"),
      UPSTASH_REDIS_REST_TOKEN: inject("upstashToken"),
      STRATA_KEY_PREFIX: prefix,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`runner did not start: ${err}`)), 30_000);
    child.stdout?.on("data", (d: Buffer) => {
      if (d.toString().includes("ready")) {
        clearTimeout(timer);
        resolvePromise(child);
      }
    });
    child.once("exit", (code) => reject(new Error(`runner exited early (${code}): ${err}`)));
  });
}

beforeAll(async () => {
  const server = await startFauxqs({ port: 0, logger: false });
  sqs = server;
  endpoint = `http://127.0.0.1:${server.port}`;
  const client = localSqsClient(endpoint);
  // Short visibility, so messages the killed runner held come back in seconds, not minutes.
  await ensureQueues(client, QUEUES.map((q) => ({ ...q, visibilityTimeoutSeconds: 6 })));
  client.destroy();
}, 60_000);

afterAll(async () => {
  runner?.kill("SIGKILL");
  sqs?.stop();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
});

function writePath(): WritePath {
  const tier = new RedisTier({ client: redis, keyPrefix: prefix, timeoutMs: 5000 });
  const queue = new SqsFetchClient({ endpoint, region: "us-east-1", accessKeyId: "local", secretAccessKey: "local", timeoutMs: 5000 });
  const name = queueByKey("write-behind").name;
  return new WritePath({
    engine: new CacheEngine({ l1: new MemoryTier({ maxSizeBytes: 64 << 20, policy: "LRU" }), l2: tier }),
    invalidations: new EpochView({ store: new EpochStore({ client: redis, keyPrefix: prefix, timeoutMs: 5000 }) }),
    origin: {
      write: (w) => writeResource(db, w),
      delete: (type, id, ifMatch) => deleteResource(db, type, id, ifMatch),
      currentVersion: (type, id) => currentVersion(db, type, id),
    },
    versions: new RedisVersionCounter({ client: redis, keyPrefix: prefix, timeoutMs: 5000 }),
    queues: {
      writeBehind: async (m) => {
        const key = `analytics:${m.resource.id}`;
        await queue.send(name, m, { groupId: key, deduplicationId: `${key}:${m.version}` });
      },
      change: async () => undefined,
    },
    present,
    newId: () => crypto.randomUUID(),
  });
}

async function pool<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

describe("write-behind", () => {
  it("1,000 acknowledged writes survive the consumer being killed mid-stream", async () => {
    runner = await startRunner();
    const path = writePath();
    const ids = Array.from({ length: 1000 }, () => crypto.randomUUID());
    // 1,000 resources; the first 200 are written a second time, so their final version is 2.
    const writes = [...ids.map((id) => ({ id, n: 1 })), ...ids.slice(0, 200).map((id) => ({ id, n: 2 }))];
    const expected = new Map<string, number>();
    let acked = 0;
    let killed = false;
    let exited: Promise<unknown> = Promise.resolve();
    const firstRound = writes.slice(0, 1000);
    const secondRound = writes.slice(1000);
    for (const round of [firstRound, secondRound]) {
      await pool(round, 16, async ({ id, n }) => {
        const result = await path.put({ type: "ANALYTICS", id, payload: { n }, tags: [] }, strategy);
        expect(result.status).toBe(202);
        if (result.status === 202) expected.set(id, result.version);
        acked++;
        if (!killed && acked === 300) {
          killed = true;
          if (runner) exited = once(runner, "exit");
          runner?.kill("SIGKILL");
        }
      });
    }
    expect(acked).toBe(1200);
    expect(killed).toBe(true);
    await exited;
    runner = await startRunner();

    const idList = `{${ids.join(",")}}`;
    const deadline = Date.now() + 90_000;
    let done = 0;
    for (;;) {
      const rows = await db.execute(sql`select id, version from resources where id = any(${idList}::uuid[])`);
      const versions = new Map(rows.rows.map((r) => [String((r as { id: string }).id), Number((r as { version: number }).version)]));
      done = ids.filter((id) => versions.get(id) === expected.get(id)).length;
      if (done === ids.length) break;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(done).toBe(1000);
    const twice = await db.execute(sql`select count(*)::int as n from resources where id = any(${idList}::uuid[]) and version = 2 and payload->>'n' = '2'`);
    expect((twice.rows[0] as { n: number }).n).toBe(200);
  }, 180_000);

  it("a replayed or out-of-order write changes nothing", async () => {
    const id = crypto.randomUUID();
    const base = { type: "ANALYTICS" as const, id, tags: [] };
    expect(await persistWrite(db, { ...base, version: 2, payload: { v: 2 } })).toBe(true);
    expect(await persistWrite(db, { ...base, version: 2, payload: { v: 2 } })).toBe(false);
    expect(await persistWrite(db, { ...base, version: 1, payload: { v: 1 } })).toBe(false);
    expect(await persistWrite(db, { ...base, version: 3, payload: null })).toBe(true);
    const rows = await db.execute(sql`select version::int as version, payload, deleted_at is not null as deleted from resources where id = ${id}::uuid`);
    expect(rows.rows[0]).toMatchObject({ version: 3, payload: { v: 2 }, deleted: true });
  });

  it("If-Match on write-behind is decided in Redis: one of two racing writers wins", async () => {
    const path = writePath();
    const id = crypto.randomUUID();
    expect((await path.put({ type: "ANALYTICS", id, payload: { v: 0 }, tags: [] }, strategy)).status).toBe(202);
    const race = await Promise.all([1, 2].map((v) => path.put({ type: "ANALYTICS", id, payload: { v }, tags: [], ifMatch: 1 }, strategy)));
    expect(race.map((r) => r.status).sort()).toEqual([202, 412]);
    expect((await path.put({ type: "ANALYTICS", id, payload: { v: 9 }, tags: [], ifMatch: 7 }, strategy)).status).toBe(412);
  });
});
