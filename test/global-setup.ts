/**
 * @module Starts what the suites need once per `npm test`: Postgres and Redis (found or spawned),
 * a fresh migrated database, both bridges and fauxqs. Everything it started is stopped, and the
 * database dropped, in teardown.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Socket } from "node:net";
import type { TestProject } from "vitest/node";
import { startFauxqs } from "fauxqs";
import { QUEUES } from "../functions/queues.ts";
import { ensureQueues, loadHandlers, localSqsClient, startLambdaRunner } from "../dev/lambda-runner.ts";
import { generateEncryptionKey } from "../core/crypto/keyring.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { seedDatabase } from "../db/seed.ts";
import { startFaultControl, startFaultProxy } from "../dev/fault-proxy.ts";
import { startNeonBridge } from "../dev/neon-bridge.ts";
import { createScratchDatabase, ensurePostgres, ensureRedis } from "../dev/services.ts";
import { startUpstashBridge } from "../dev/upstash-bridge.ts";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: Array<() => Promise<void>> = [];
  const teardown = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop().catch((e: unknown) => console.error("teardown:", e));
  };
  try {
    const postgres = await ensurePostgres();
    stops.push(postgres.stop);
    // A database per run keeps parallel runs and leftovers from earlier runs out of each other's way.
    const scratch = await createScratchDatabase(postgres.url, "strata_test");
    stops.push(scratch.drop);
    const databaseUrl = scratch.url;
    await migrateDatabase(databaseUrl);
    // Layers and strategies as a user gets them, plus a small resource graph; suites that need
    // exact data create their own rows with fresh ids.
    await seedDatabase(databaseUrl, { resources: 200 });

    const redis = await ensureRedis();
    stops.push(redis.stop);

    const upstashToken = randomBytes(24).toString("hex");
    const upstash = await startUpstashBridge({ redisUrl: redis.url, token: upstashToken, port: 0 });
    stops.push(upstash.close);
    // Stats on: suites count origin queries at the last hop before Postgres.
    const neon = await startNeonBridge({ port: 0, exposeStats: true });
    stops.push(neon.close);
    const sqs = await startFauxqs({ port: 0, logger: false });
    stops.push(async () => sqs.stop());
    const sqsEndpoint = `http://127.0.0.1:${sqs.port}`;
    // The production queues exist from the start, as they do after `cdk deploy`.
    const sqsClient = localSqsClient(sqsEndpoint);
    await ensureQueues(sqsClient, QUEUES);
    sqsClient.destroy();

    const blackhole = await startBlackhole();
    stops.push(blackhole.stop);

    // A second path to the same Postgres and Redis through fault proxies, for the suites that
    // stop or hang a dependency (test/edge/failures.test.ts) without disturbing the others.
    const db = new URL(databaseUrl);
    const pgProxy = await startFaultProxy({ target: { host: db.hostname, port: Number(db.port || 5432) } });
    stops.push(pgProxy.close);
    const redisTarget = new URL(redis.url);
    const redisProxy = await startFaultProxy({ target: { host: redisTarget.hostname, port: Number(redisTarget.port || 6379) } });
    stops.push(redisProxy.close);
    const faultUpstash = await startUpstashBridge({
      redisUrl: `redis://127.0.0.1:${redisProxy.port}`,
      token: upstashToken,
      port: 0,
      commandTimeoutMs: 10_000,
    });
    stops.push(faultUpstash.close);
    const control = await startFaultControl({ postgres: pgProxy, redis: redisProxy });
    stops.push(control.close);
    const faultDb = new URL(databaseUrl);
    faultDb.port = String(pgProxy.port);
    project.provide("faultControlUrl", control.url);
    project.provide("faultDatabaseUrl", faultDb.toString());
    project.provide("faultUpstashUrl", faultUpstash.url);

    // The invalidation and write-behind Lambdas consume the production queues for the worker's
    // suites, as deployed: handlers in this process, configured from env the way a Lambda is.
    const runId = randomBytes(4).toString("hex");
    Object.assign(process.env, {
      DATABASE_URL: databaseUrl,
      NEON_BRIDGE_URL: neon.url,
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN: upstashToken,
      SQS_ENDPOINT: sqsEndpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
      STRATA_KEY_PREFIX: `strata:test:${runId}:`,
      DEPENDENCY_TIMEOUT_MS: "5000",
    });
    const handlers = await loadHandlers({ queues: QUEUES });
    const runner = await startLambdaRunner({ sqsEndpoint, queues: handlers.queues, waitTimeSeconds: 1 });
    stops.push(runner.stop);

    project.provide("databaseUrl", databaseUrl);
    project.provide("blackholePort", blackhole.port);
    project.provide("runId", runId);
    project.provide("encryptionKeys", JSON.stringify({ t1: generateEncryptionKey() }));
    project.provide("redisUrl", redis.url);
    project.provide("upstashUrl", upstash.url);
    project.provide("upstashToken", upstashToken);
    project.provide("neonBridgeUrl", neon.url);
    project.provide("sqsEndpoint", sqsEndpoint);
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}

/** A TCP server that accepts connections and never answers: the shape of a hung dependency. */
async function startBlackhole(): Promise<{ port: number; stop: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
