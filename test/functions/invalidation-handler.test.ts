/**
 * The fan-out Lambda under real SQS semantics (its own fauxqs, the local runner, real Redis and
 * Postgres): a poison message in a batch ends in the DLQ while its neighbours are processed once;
 * the same invalidation delivered twice has one effect and one log row.
 */
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { Redis } from "@upstash/redis";
import type { SQSEvent } from "aws-lambda";
import { sql } from "drizzle-orm";
import { startFauxqs } from "fauxqs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { EpochStore } from "../../core/invalidation/epochs.ts";
import type { InvalidationMessage } from "../../core/invalidation/messages.ts";
import { ensureQueues, localSqsClient, startLambdaRunner, type LambdaRunner } from "../../dev/lambda-runner.ts";
import { httpDb } from "../../db/client.ts";
import { queueByKey } from "../../functions/queues.ts";

const prefix = `strata:test:fanout:${crypto.randomUUID().slice(0, 8)}:`;
const db = httpDb({ databaseUrl: inject("databaseUrl"), neonBridgeUrl: inject("neonBridgeUrl") });
const redis = new Redis({ url: inject("upstashUrl"), token: inject("upstashToken"), enableTelemetry: false });
const def = { ...queueByKey("invalidation"), visibilityTimeoutSeconds: 1, maxReceiveCount: 2 };
let server: { stop(): void; port: number };
let client: SQSClient;
let runner: LambdaRunner;
let urls: Map<string, string>;
const batches: number[] = [];

beforeAll(async () => {
  // Configured the way a Lambda is: from env, read at first use.
  Object.assign(process.env, {
    DATABASE_URL: inject("databaseUrl"),
    NEON_BRIDGE_URL: inject("neonBridgeUrl"),
    UPSTASH_REDIS_REST_URL: inject("upstashUrl"),
    UPSTASH_REDIS_REST_TOKEN: inject("upstashToken"),
    STRATA_KEY_PREFIX: prefix,
  });
  server = await startFauxqs({ port: 0, logger: false });
  const endpoint = `http://127.0.0.1:${server.port}`;
  client = localSqsClient(endpoint);
  urls = await ensureQueues(client, [def]);
  const { handler } = await import("../../functions/invalidation/handler.ts");
  runner = await startLambdaRunner({
    sqsEndpoint: endpoint,
    waitTimeSeconds: 1,
    log: () => undefined,
    queues: [
      {
        definition: def,
        handler: async (event: SQSEvent, context) => {
          batches.push(event.Records.length);
          return handler(event, context);
        },
      },
    ],
  });
}, 60_000);

afterAll(async () => {
  await runner?.stop();
  client?.destroy();
  server?.stop();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
});

function message(key: string, id = crypto.randomUUID()): InvalidationMessage {
  return { v: 1, kind: "invalidation", id, target: { type: "SINGLE_KEY", key }, mode: "HARD", triggerEvent: "MANUAL", requestedAt: new Date().toISOString() };
}

async function send(bodies: unknown[]): Promise<void> {
  await client.send(
    new SendMessageBatchCommand({
      QueueUrl: urls.get(def.name),
      Entries: bodies.map((b, i) => ({ Id: String(i), MessageBody: typeof b === "string" ? b : JSON.stringify(b) })),
    }),
  );
}

async function row(id: string): Promise<{ status: string; keys_invalidated_count: number; n: number } | undefined> {
  const result = await db.execute(sql`select status, keys_invalidated_count, (select count(*)::int from cache_invalidation_log where id = ${id}::uuid) as n
    from cache_invalidation_log where id = ${id}::uuid`);
  return result.rows[0] as { status: string; keys_invalidated_count: number; n: number } | undefined;
}

/** How many bumps the journal holds for `key`'s scope. */
async function bumpsOf(key: string): Promise<number> {
  const { entries } = await new EpochStore({ client: redis, keyPrefix: prefix }).follow("", 10_000);
  return entries.filter((e) => e.scopes.includes(`k:${key}`)).length;
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function dlqMessages(): Promise<string[]> {
  const got = await client.send(new ReceiveMessageCommand({ QueueUrl: urls.get(def.dlq.name), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 30 }));
  return (got.Messages ?? []).map((m) => m.Body ?? "");
}

describe("invalidation fan-out Lambda", () => {
  it("a poison message ends in the DLQ; the rest of its batch is processed once", async () => {
    const good = [message(`poison-batch-a-${prefix}`), message(`poison-batch-b-${prefix}`)];
    const poison = '{"v":1,"kind":"invalidation","id":"not-a-uuid"}';
    await send([good[0], poison, good[1]]);
    for (const m of good) {
      const r = await until(async () => {
        const x = await row(m.id);
        return x?.status === "DONE" ? x : undefined;
      });
      expect(r).toMatchObject({ status: "DONE", keys_invalidated_count: 1, n: 1 });
    }
    expect(batches).toContain(3);
    const dead = await until(async () => {
      const d = await dlqMessages();
      return d.length > 0 ? d : undefined;
    });
    expect(dead).toEqual([poison]);
    // The good ones were not re-run when the poison one was retried.
    for (const m of good) expect(await bumpsOf((m.target as { key: string }).key)).toBe(1);
    const attrs = await client.send(new GetQueueAttributesCommand({ QueueUrl: urls.get(def.name), AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }));
    expect(attrs.Attributes).toMatchObject({ ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "0" });
  });

  it("the same invalidation delivered twice: one effect, one log row", async () => {
    const m = message(`dup-${prefix}`);
    await send([m]);
    await until(async () => ((await row(m.id))?.status === "DONE" ? true : undefined));
    const before = batches.length;
    await send([m]);
    await until(async () => (batches.length > before ? true : undefined));
    // Give the second delivery time to (not) act.
    await new Promise((r) => setTimeout(r, 300));
    expect(await row(m.id)).toMatchObject({ status: "DONE", n: 1, keys_invalidated_count: 1 });
    expect(await bumpsOf(`dup-${prefix}`)).toBe(1);
  });
});
