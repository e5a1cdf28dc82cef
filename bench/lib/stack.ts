/**
 * @module The services a benchmark run needs, started once and shared by its cases: Postgres and
 * Redis (found or started, as `npm test` does), a fresh migrated and seeded database, both bridges
 * with counting on, fauxqs with the production queues, the Lambda runner, and the worker in workerd.
 *
 * The worker runs under Miniflare rather than `wrangler dev`: wrangler dev puts its own proxy
 * worker in front, and that hop would be charged to every request class alike, hiding ratios.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import pg from "pg";
import { generateApiKey } from "../../core/auth/api-key.ts";
import { generateEncryptionKey } from "../../core/crypto/keyring.ts";
import type { ResourceType } from "../../core/types.ts";
import { migrateDatabase } from "../../db/migrate.ts";
import { seedDatabase } from "../../db/seed.ts";
import { startNeonBridge, type NeonBridge } from "../../dev/neon-bridge.ts";
import { createScratchDatabase, ensurePostgres, ensureRedis, stopChild } from "../../dev/services.ts";
import { startUpstashBridge, type UpstashBridge } from "../../dev/upstash-bridge.ts";
import { startWorkerd } from "../../dev/workerd.ts";


export interface BenchWorker {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** The colo's Cache API as the worker sees it (`caches.default`), reachable from Node. */
  cache(): Promise<Cache>;
  /** The namespace the worker's Cache API tier uses in its synthetic URLs. */
  cacheNamespace: string;
}

export interface Stack {
  databaseUrl: string;
  redisUrl: string;
  /** The worker's Upstash bridge, counting. */
  upstash: UpstashBridge;
  upstashToken: string;
  /** The worker's Neon bridge, counting. */
  neon: NeonBridge;
  /** Bridges for the cases' own isolates in this process: not counted. */
  node: { upstashUrl: string; neonUrl: string };
  sqsEndpoint: string;
  /** Every Redis key of this run starts with it; the worker, the Lambdas and the cases share it. */
  keyPrefix: string;
  /** The worker's keyring (STRATA_ENCRYPTION_KEYS / _KEY_ID), for Node isolates reading encrypted strategies. */
  encryption: { keys: string; keyId: string };
  /** An ADMIN API key (its hash is stored, as always). */
  adminKey: string;
  /** Direct Postgres access for setup and checks (never on a measured path). */
  sql: pg.Pool;
  /** The worker in workerd: built and started on first call, then shared. */
  worker(): Promise<BenchWorker>;
  /** Inserts `count` live resources of one type (a ~300-byte payload each) and returns their ids. */
  insertResources(type: ResourceType, count: number, opts?: { tags?: string[] }): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startStack(log: (line: string) => void): Promise<Stack> {
  const stops: Array<() => Promise<void>> = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch((e: unknown) => log(`stop: ${e instanceof Error ? e.message : String(e)}`));
    stops.length = 0;
  };
  try {
    const postgres = await ensurePostgres();
    stops.push(postgres.stop);
    if (postgres.origin === "pglite") {
      log("note: no PostgreSQL server found, using embedded PGlite (one session): origin figures are not comparable");
    }
    const scratch = await createScratchDatabase(postgres.url, "strata_bench");
    stops.push(scratch.drop);
    const databaseUrl = scratch.url;
    await migrateDatabase(databaseUrl);
    await seedDatabase(databaseUrl, { resources: 200 });
    const sql = new pg.Pool({ connectionString: databaseUrl, max: 4, connectionTimeoutMillis: 5000, query_timeout: 120_000 });
    stops.push(() => sql.end());
    const adminKey = await createAdminKey(sql);

    const redis = await ensureRedis();
    stops.push(redis.stop);
    const upstashToken = randomBytes(24).toString("hex");
    const upstash = await startUpstashBridge({ redisUrl: redis.url, token: upstashToken, port: 0, recordStats: true });
    stops.push(upstash.close);
    const neon = await startNeonBridge({ port: 0, exposeStats: true });
    stops.push(neon.close);
    // The cases' own isolates in this process get bridges of their own (the Lambdas have theirs in
    // their process), so the counts above are the worker's traffic alone.
    const nodeUpstash = await startUpstashBridge({ redisUrl: redis.url, token: upstashToken, port: 0 });
    stops.push(nodeUpstash.close);
    const nodeNeon = await startNeonBridge({ port: 0 });
    stops.push(nodeNeon.close);

    const runId = randomBytes(4).toString("hex");
    const keyPrefix = `strata:bench:${runId}:`;
    stops.push(() => dropKeys(redis.url, keyPrefix));
    const lambdas = await startLambdaChild(
      {
        DATABASE_URL: databaseUrl,
        REDIS_URL: redis.url,
        UPSTASH_REDIS_REST_TOKEN: upstashToken,
        AWS_REGION: "us-east-1",
        AWS_ACCESS_KEY_ID: "local",
        AWS_SECRET_ACCESS_KEY: "local",
        STRATA_KEY_PREFIX: keyPrefix,
        DEPENDENCY_TIMEOUT_MS: "5000",
      },
      log,
    );
    stops.push(lambdas.stop);
    const sqsEndpoint = lambdas.sqsEndpoint;

    let worker: Promise<BenchWorker> | undefined;
    const encryption = { keys: JSON.stringify({ bench1: generateEncryptionKey() }), keyId: "bench1" };
    const cacheNamespace = `strata-bench-${runId}`;
    const stack: Stack = {
      databaseUrl,
      redisUrl: redis.url,
      upstash,
      upstashToken,
      neon,
      node: { upstashUrl: nodeUpstash.url, neonUrl: nodeNeon.url },
      sqsEndpoint,
      keyPrefix,
      encryption,
      adminKey,
      sql,
      worker() {
        worker ??= startWorker(
          {
            DATABASE_URL: databaseUrl,
            NEON_BRIDGE_URL: neon.url,
            UPSTASH_REDIS_REST_URL: upstash.url,
            UPSTASH_REDIS_REST_TOKEN: upstashToken,
            SQS_ENDPOINT: sqsEndpoint,
            AWS_REGION: "us-east-1",
            AWS_ACCESS_KEY_ID: "local",
            AWS_SECRET_ACCESS_KEY: "local",
            DEPENDENCY_TIMEOUT_MS: "2000",
            STRATA_KEY_PREFIX: keyPrefix,
            STRATA_CACHE_NAMESPACE: cacheNamespace,
            // Strategies with encryption on (user profiles) need a keyring, as in production.
            STRATA_ENCRYPTION_KEYS: encryption.keys,
            STRATA_ENCRYPTION_KEY_ID: encryption.keyId,
          },
          cacheNamespace,
          stops,
          log,
        );
        return worker;
      },
      insertResources: (type, count, opts) => insertResources(sql, type, count, opts?.tags ?? []),
      stop,
    };
    return stack;
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Starts bench/lib/lambda-child.ts (fauxqs and the Lambdas) and waits for it to poll. */
async function startLambdaChild(env: Record<string, string>, log: (line: string) => void): Promise<{ sqsEndpoint: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ["--experimental-strip-types", join(import.meta.dirname, "lambda-child.ts")], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stderr.on("data", (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n").filter(Boolean)) log(`lambda     ${line}`);
  });
  const sqsEndpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the Lambda runner process did not start within 30 s")), 30_000);
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const ready = /ready (\S+)/.exec(out);
      if (ready?.[1]) {
        clearTimeout(timer);
        resolve(ready[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the Lambda runner process exited (${code}) before it was ready`));
    });
  });
  return { sqsEndpoint, stop: () => stopChild(child) };
}

async function createAdminKey(sql: pg.Pool): Promise<string> {
  const generated = await generateApiKey();
  const user = await sql.query<{ id: string }>(
    "insert into users (email, display_name, role) values ($1, 'Benchmark admin', 'ADMIN') returning id",
    [`bench-${randomBytes(4).toString("hex")}@strata.local`],
  );
  await sql.query("insert into api_keys (user_id, name, key_prefix, key_hash, role) values ($1, 'benchmark', $2, $3, 'ADMIN')", [
    user.rows[0]?.id,
    generated.prefix,
    generated.hash,
  ]);
  return generated.key;
}

async function insertResources(sql: pg.Pool, type: ResourceType, count: number, tags: string[]): Promise<string[]> {
  const ids: string[] = [];
  // Batches keep each statement's result small; generate_series keeps the insert in Postgres.
  for (let done = 0; done < count; done += 10_000) {
    const n = Math.min(10_000, count - done);
    const r = await sql.query<{ id: string }>(
      `insert into resources (resource_type, payload, tags)
       select $1::resource_type, jsonb_build_object('name', 'bench ' || g, 'n', g, 'notes', repeat('lorem ipsum ', 20)), $2::text[]
       from generate_series(1, $3::int) g
       returning id`,
      [type, tags, n],
    );
    for (const row of r.rows) ids.push(row.id);
  }
  return ids;
}

/** Deletes every Redis key under `prefix` (SCAN + UNLINK): what a run or a case leaves behind. */
export async function dropKeys(redisUrl: string, prefix: string): Promise<void> {
  const { Redis } = await import("ioredis");
  const redis = new Redis(redisUrl, { protocol: 2, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

async function startWorker(
  bindings: Record<string, string>,
  cacheNamespace: string,
  stops: Array<() => Promise<void>>,
  log: (line: string) => void,
): Promise<BenchWorker> {
  const worker = await startWorkerd({ entry: "bench/edge-worker.ts", bindings });
  stops.push(worker.stop);
  log(`worker     ${worker.url} (Miniflare → workerd)`);
  return { url: worker.url, cacheNamespace, cache: () => worker.cache() };
}
