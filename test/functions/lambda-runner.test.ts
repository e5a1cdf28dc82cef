/**
 * The local event source mapping against a real fauxqs: partial batch failures, redelivery,
 * dead-lettering, the SQSEvent shape, FIFO ordering, batching, schedules and SQS outages.
 */
import { createHash } from "node:crypto";
import { createServer } from "node:net";
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { ScheduledEvent, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { startFauxqs, type FauxqsServer } from "fauxqs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  ensureQueues,
  interpretBatchResponse,
  localSqsClient,
  startLambdaRunner,
  type LambdaRunner,
  type LambdaRunnerOptions,
  type SqsHandler,
} from "../../dev/lambda-runner.ts";
import type { QueueDefinition, ScheduleDefinition } from "../../functions/queues.ts";

let server: FauxqsServer;
let endpoint: string;
let sqs: SQSClient;
const runners: LambdaRunner[] = [];
let seq = 0;

beforeAll(async () => {
  server = await startFauxqs({ port: 0, logger: false });
  endpoint = `http://127.0.0.1:${server.port}`;
  sqs = localSqsClient(endpoint);
});

afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()));
});

afterAll(async () => {
  sqs.destroy();
  await server.stop();
});

/** Short visibility timeouts keep redelivery and dead-lettering to a second or two. */
function testQueue(overrides: Partial<QueueDefinition> = {}): QueueDefinition {
  const n = ++seq;
  const fifo = overrides.fifo ?? false;
  const suffix = fifo ? ".fifo" : "";
  return {
    key: `t${n}`,
    name: `test-${n}${suffix}`,
    fifo,
    visibilityTimeoutSeconds: 1,
    retentionSeconds: 600,
    batchSize: 10,
    maxBatchingWindowSeconds: 0,
    maxReceiveCount: 2,
    dlq: { name: `test-${n}-dlq${suffix}`, retentionSeconds: 900 },
    ...overrides,
  };
}

async function start(
  opts: Partial<LambdaRunnerOptions> & Pick<LambdaRunnerOptions, "queues">,
): Promise<{ runner: LambdaRunner; logs: string[] }> {
  const logs: string[] = [];
  const runner = await startLambdaRunner({
    sqsEndpoint: endpoint,
    waitTimeSeconds: 1,
    log: (line) => logs.push(line),
    ...opts,
  });
  runners.push(runner);
  return { runner, logs };
}

async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function sendBatch(url: string, entries: readonly Omit<SendMessageBatchRequestEntry, "Id">[]): Promise<void> {
  // One request: fauxqs then hands the whole batch to a single receive.
  const out = await sqs.send(
    new SendMessageBatchCommand({ QueueUrl: url, Entries: entries.map((e, i) => ({ Id: `e${i}`, ...e })) }),
  );
  expect(out.Failed ?? []).toEqual([]);
}

async function queueDepth(url: string): Promise<{ visible: number; inFlight: number }> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return {
    visible: Number(out.Attributes?.ApproximateNumberOfMessages),
    inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible),
  };
}

async function drain(url: string): Promise<{ body: string; receiveCount: string | undefined; groupId: string | undefined }[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageSystemAttributeNames: ["All"] }),
  );
  return (out.Messages ?? []).map((m) => ({
    body: m.Body ?? "",
    receiveCount: m.Attributes?.ApproximateReceiveCount,
    groupId: m.Attributes?.MessageGroupId,
  }));
}

/** Records every invocation; `decide` returns the handler's response (or throws). */
function recorder(decide: (event: SQSEvent, call: number) => Promise<SQSBatchResponse | void> | SQSBatchResponse | void) {
  const calls: SQSEvent[] = [];
  const handler: SqsHandler = async (event) => {
    calls.push(structuredClone(event));
    return decide(event, calls.length);
  };
  const bodies = (i: number): string[] => (calls[i]?.Records ?? []).map((r) => r.body);
  const counts = (i: number): string[] => (calls[i]?.Records ?? []).map((r) => r.attributes.ApproximateReceiveCount);
  return { calls, handler, bodies, counts };
}

describe("ensureQueues", () => {
  it("creates the DLQ and the queue with its redrive policy, idempotently, and applies edits", async () => {
    const def = testQueue({ maxReceiveCount: 4, visibilityTimeoutSeconds: 7 });
    const urls = await ensureQueues(sqs, [def]);
    expect(await ensureQueues(sqs, [def])).toEqual(urls);
    const url = urls.get(def.name);
    expect(url).toBeDefined();
    expect(urls.get(def.dlq.name)).toBeDefined();
    const attrs = async () =>
      (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }))).Attributes ?? {};
    const before = await attrs();
    expect(before.VisibilityTimeout).toBe("7");
    expect(before.MessageRetentionPeriod).toBe("600");
    const redrive = JSON.parse(before.RedrivePolicy ?? "{}") as { deadLetterTargetArn: string; maxReceiveCount: unknown };
    expect(redrive.deadLetterTargetArn).toMatch(new RegExp(`:${def.dlq.name}$`));
    expect(Number(redrive.maxReceiveCount)).toBe(4);

    await ensureQueues(sqs, [{ ...def, visibilityTimeoutSeconds: 9 }]);
    expect((await attrs()).VisibilityTimeout).toBe("9");
  });

  it("creates FIFO queues with a FIFO DLQ and content-based deduplication off", async () => {
    const def = testQueue({ fifo: true });
    const urls = await ensureQueues(sqs, [def]);
    const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: urls.get(def.name), AttributeNames: ["All"] }));
    expect(out.Attributes?.FifoQueue).toBe("true");
    expect(out.Attributes?.ContentBasedDeduplication).toBe("false");
    const dlq = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: urls.get(def.dlq.name), AttributeNames: ["All"] }));
    expect(dlq.Attributes?.FifoQueue).toBe("true");
  });
});

describe("event source mapping", () => {
  it("deletes the successes of a partial batch failure, redelivers the failure, then dead-letters it", async () => {
    const def = testQueue({ maxReceiveCount: 2 });
    const urls = await ensureQueues(sqs, [def]);
    const url = urls.get(def.name) ?? "";
    await sendBatch(url, [{ MessageBody: "a" }, { MessageBody: "b" }, { MessageBody: "c" }]);
    const rec = recorder((event) => ({
      batchItemFailures: event.Records.filter((r) => r.body === "b").map((r) => ({ itemIdentifier: r.messageId })),
    }));
    const { logs } = await start({ queues: [{ definition: def, handler: rec.handler }] });

    const dead = await waitFor(async () => {
      const got = await drain(urls.get(def.dlq.name) ?? "");
      return got.length > 0 ? got : undefined;
    }, "b in the DLQ");
    expect(dead.map((m) => m.body)).toEqual(["b"]);

    expect(rec.calls).toHaveLength(2);
    expect(rec.bodies(0)).toEqual(["a", "b", "c"]);
    expect(rec.counts(0)).toEqual(["1", "1", "1"]);
    // Only the failed message comes back, with its receive count incremented.
    expect(rec.bodies(1)).toEqual(["b"]);
    expect(rec.counts(1)).toEqual(["2"]);
    expect(rec.calls[1]?.Records[0]?.messageId).toBe(rec.calls[0]?.Records[1]?.messageId);

    // a and c were deleted, not merely hidden: nothing is left in flight to reappear.
    await sleep(1200);
    expect(rec.calls).toHaveLength(2);
    expect(await queueDepth(url)).toEqual({ visible: 0, inFlight: 0 });
    expect(logs.some((l) => l.includes("moves to") && l.includes(def.dlq.name))).toBe(true);
  });

  it("redelivers the whole batch when the handler throws", async () => {
    const def = testQueue({ maxReceiveCount: 3 });
    const urls = await ensureQueues(sqs, [def]);
    const url = urls.get(def.name) ?? "";
    await sendBatch(url, [{ MessageBody: "a" }, { MessageBody: "b" }, { MessageBody: "c" }]);
    const rec = recorder((_event, call) => {
      if (call === 1) throw new Error("database down");
    });
    const { logs } = await start({ queues: [{ definition: def, handler: rec.handler }] });

    await waitFor(() => rec.calls.length >= 2 || undefined, "the redelivery");
    expect(rec.bodies(1).sort()).toEqual(["a", "b", "c"]);
    expect(rec.counts(1)).toEqual(["2", "2", "2"]);
    expect(rec.calls[1]?.Records.map((r) => r.messageId).sort()).toEqual(rec.calls[0]?.Records.map((r) => r.messageId).sort());
    await waitFor(async () => {
      const d = await queueDepth(url);
      return d.visible === 0 && d.inFlight === 0 ? true : undefined;
    }, "the queue to empty");
    expect(logs.some((l) => l.includes("handler threw Error: database down"))).toBe(true);
    expect(await drain(urls.get(def.dlq.name) ?? "")).toEqual([]);
  });

  it("fails the whole batch when an itemIdentifier is not in the batch", async () => {
    const def = testQueue({ maxReceiveCount: 3 });
    const urls = await ensureQueues(sqs, [def]);
    await sendBatch(urls.get(def.name) ?? "", [{ MessageBody: "a" }, { MessageBody: "b" }]);
    const rec = recorder((_event, call) => (call === 1 ? { batchItemFailures: [{ itemIdentifier: "no-such-id" }] } : undefined));
    await start({ queues: [{ definition: def, handler: rec.handler }] });
    await waitFor(() => rec.calls.length >= 2 || undefined, "the redelivery");
    expect(rec.bodies(1).sort()).toEqual(["a", "b"]);
    expect(rec.counts(1)).toEqual(["2", "2"]);
  });

  it("treats a handler that outlives its timeout as failed, even if it later succeeds", async () => {
    const def = testQueue({ maxReceiveCount: 3 });
    const urls = await ensureQueues(sqs, [def]);
    await sendBatch(urls.get(def.name) ?? "", [{ MessageBody: "slow" }]);
    const rec = recorder(async (_event, call) => {
      if (call === 1) await sleep(1500);
    });
    const { logs } = await start({ queues: [{ definition: def, handler: rec.handler }] });
    await waitFor(() => rec.calls.length >= 2 || undefined, "the redelivery");
    expect(rec.counts(1)).toEqual(["2"]);
    expect(logs.some((l) => l.includes("handler timed out after 1000 ms"))).toBe(true);
    await waitFor(() => logs.some((l) => l.includes("finally resolved; result ignored")) || undefined, "the late result");
  });

  it("builds the SQSEvent Lambda would", async () => {
    const def = testQueue();
    const urls = await ensureQueues(sqs, [def]);
    const sentAt = Date.now();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: urls.get(def.name),
        MessageBody: '{"key":"users:1"}',
        MessageAttributes: {
          tenant: { DataType: "String", StringValue: "acme" },
          attempt: { DataType: "Number", StringValue: "3" },
          blob: { DataType: "Binary", BinaryValue: new Uint8Array([1, 2, 255]) },
        },
      }),
    );
    let remainingMs = -1;
    let functionName = "";
    const rec = recorder(() => undefined);
    await start({
      queues: [
        {
          definition: def,
          handler: async (event, context) => {
            remainingMs = context.getRemainingTimeInMillis();
            functionName = context.functionName;
            return rec.handler(event, context);
          },
        },
      ],
    });
    await waitFor(() => rec.calls[0], "the invocation");
    const record = rec.calls[0]?.Records[0];
    expect(record).toMatchObject({
      body: '{"key":"users:1"}',
      eventSource: "aws:sqs",
      eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${def.name}`,
      awsRegion: "us-east-1",
      md5OfBody: createHash("md5").update('{"key":"users:1"}').digest("hex"),
      messageAttributes: {
        tenant: { stringValue: "acme", stringListValues: [], binaryListValues: [], dataType: "String" },
        attempt: { stringValue: "3", stringListValues: [], binaryListValues: [], dataType: "Number" },
        blob: { binaryValue: Buffer.from([1, 2, 255]).toString("base64"), dataType: "Binary" },
      },
    });
    expect(record?.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(record?.receiptHandle).toBeTruthy();
    expect(record?.md5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
    expect(record?.attributes.ApproximateReceiveCount).toBe("1");
    expect(record?.attributes.SenderId).toBeTruthy();
    expect(Number(record?.attributes.SentTimestamp)).toBeGreaterThanOrEqual(sentAt - 1000);
    expect(Number(record?.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(
      Number(record?.attributes.SentTimestamp),
    );
    expect(functionName).toBe(def.key);
    expect(remainingMs).toBeGreaterThan(0);
    expect(remainingMs).toBeLessThanOrEqual(1000);
  });

  it("keeps FIFO groups in order across a failure and dead-letters into the FIFO DLQ", async () => {
    const def = testQueue({ fifo: true, maxReceiveCount: 2 });
    const urls = await ensureQueues(sqs, [def]);
    const entry = (body: string, group: string, i: number): Omit<SendMessageBatchRequestEntry, "Id"> => ({
      MessageBody: body,
      MessageGroupId: group,
      MessageDeduplicationId: `${body}-${i}`,
    });
    await sendBatch(urls.get(def.name) ?? "", [
      entry("g1-1", "g1", 1),
      entry("g1-2", "g1", 2),
      entry("g1-3", "g1", 3),
      entry("g2-1", "g2", 4),
      entry("poison", "g3", 5),
    ]);
    const processed: string[] = [];
    let failedOnce = false;
    const rec = recorder((event) => {
      const failures: { itemIdentifier: string }[] = [];
      const brokenGroups = new Set<string>();
      for (const r of event.Records) {
        const group = r.attributes.MessageGroupId ?? "";
        const fail = r.body === "poison" || (r.body === "g1-2" && !failedOnce) || brokenGroups.has(group);
        if (r.body === "g1-2") failedOnce = true;
        if (fail) {
          // What a FIFO consumer must do: fail the rest of the group after its first failure.
          brokenGroups.add(group);
          failures.push({ itemIdentifier: r.messageId });
        } else processed.push(r.body);
      }
      return { batchItemFailures: failures };
    });
    await start({ queues: [{ definition: def, handler: rec.handler }] });

    const dead = await waitFor(async () => {
      const got = await drain(urls.get(def.dlq.name) ?? "");
      return got.length > 0 ? got : undefined;
    }, "poison in the FIFO DLQ");
    expect(dead).toEqual([expect.objectContaining({ body: "poison", groupId: "g3" })]);
    await waitFor(() => processed.length === 4 || undefined, "every good message");
    expect(processed.filter((b) => b.startsWith("g1"))).toEqual(["g1-1", "g1-2", "g1-3"]);
    expect(processed).toContain("g2-1");
    const first = rec.calls[0]?.Records[0];
    expect(first?.attributes.MessageGroupId).toBeDefined();
    expect(first?.attributes.SequenceNumber).toMatch(/^\d+$/);
    expect(first?.attributes.MessageDeduplicationId).toBeDefined();
  });

  it("gathers a batch across receives for up to the batching window, past 10 records", async () => {
    const def = testQueue({ batchSize: 15, maxBatchingWindowSeconds: 2, visibilityTimeoutSeconds: 5 });
    const urls = await ensureQueues(sqs, [def]);
    const url = urls.get(def.name) ?? "";
    const bodies = Array.from({ length: 15 }, (_, i) => `m${i}`);
    await sendBatch(url, bodies.slice(0, 10).map((b) => ({ MessageBody: b })));
    const rec = recorder(() => undefined);
    await start({ queues: [{ definition: def, handler: rec.handler }] });
    await sleep(300);
    await sendBatch(url, bodies.slice(10).map((b) => ({ MessageBody: b })));
    await waitFor(() => rec.calls[0], "the invocation");
    expect(rec.bodies(0).sort()).toEqual([...bodies].sort());
  });

  it("invokes at once without a batching window", async () => {
    const def = testQueue({ batchSize: 10, maxBatchingWindowSeconds: 0 });
    const urls = await ensureQueues(sqs, [def]);
    const rec = recorder(() => undefined);
    await start({ queues: [{ definition: def, handler: rec.handler }] });
    const sent = Date.now();
    await sendBatch(urls.get(def.name) ?? "", [{ MessageBody: "x" }]);
    await waitFor(() => rec.calls[0], "the invocation");
    expect(Date.now() - sent).toBeLessThan(900);
  });

  it("stop() aborts the long poll promptly and waits for a running handler", async () => {
    const def = testQueue({ visibilityTimeoutSeconds: 5 });
    const urls = await ensureQueues(sqs, [def]);
    const url = urls.get(def.name) ?? "";
    let finished = false;
    const rec = recorder(async () => {
      await sleep(400);
      finished = true;
    });
    const { runner } = await start({ queues: [{ definition: def, handler: rec.handler }], waitTimeSeconds: 20 });
    await sendBatch(url, [{ MessageBody: "x" }]);
    await waitFor(() => rec.calls[0], "the invocation");
    await runner.stop();
    expect(finished).toBe(true);
    // The finished handler's delete still went through.
    expect(await queueDepth(url)).toEqual({ visible: 0, inFlight: 0 });

    const idle = await start({ queues: [{ definition: testQueue(), handler: rec.handler }], waitTimeSeconds: 20 });
    await sleep(200);
    const t0 = Date.now();
    await idle.runner.stop();
    expect(Date.now() - t0).toBeLessThan(500);
  });
});

describe("schedules", () => {
  const schedule = (name: string, cron = "* * * * *"): ScheduleDefinition => ({
    name,
    cron,
    handler: { entry: "unused.ts", export: "handler" },
  });

  it("fires on the cron schedule with an EventBridge-shaped event", async () => {
    // Put the injected clock 300 ms before a minute boundary so `* * * * *` fires almost at once.
    const boundary = Math.ceil((Date.now() + 1000) / 60_000) * 60_000;
    const offset = boundary - 300 - Date.now();
    const events: ScheduledEvent[] = [];
    await start({
      queues: [],
      now: () => new Date(Date.now() + offset),
      schedules: [{ definition: schedule("every-minute"), handler: async (e) => void events.push(e) }],
    });
    await waitFor(() => events[0], "the scheduled run", 3000);
    expect(events[0]).toMatchObject({
      version: "0",
      "detail-type": "Scheduled Event",
      source: "aws.events",
      region: "us-east-1",
      time: new Date(boundary).toISOString().replace(".000Z", "Z"),
      resources: [expect.stringMatching(/:rule\/every-minute$/)],
      detail: {},
    });
    await sleep(500);
    expect(events).toHaveLength(1);
  });

  it("logs a failing scheduled run and keeps going", async () => {
    const boundary = Math.ceil((Date.now() + 1000) / 60_000) * 60_000;
    const offset = boundary - 200 - Date.now();
    let calls = 0;
    const { logs } = await start({
      queues: [],
      now: () => new Date(Date.now() + offset),
      schedules: [
        {
          definition: schedule("broken"),
          handler: async () => {
            calls++;
            throw new Error("sweep failed");
          },
        },
      ],
    });
    await waitFor(() => logs.find((l) => l.includes("schedule broken: failed")), "the failure log", 3000);
    expect(calls).toBe(1);
  });

  it("fireSchedule runs a handler now and returns its result", async () => {
    const { runner } = await start({
      queues: [],
      schedules: [
        { definition: schedule("sweeper", "0 0 1 1 *"), handler: async (e) => ({ swept: 3, type: e["detail-type"] }) },
        {
          definition: schedule("broken", "0 0 1 1 *"),
          handler: async () => {
            throw new Error("nope");
          },
        },
      ],
    });
    await expect(runner.fireSchedule("sweeper")).resolves.toEqual({ swept: 3, type: "Scheduled Event" });
    await expect(runner.fireSchedule("broken")).rejects.toThrow("nope");
    await expect(runner.fireSchedule("missing")).rejects.toThrow(/no schedule named missing/);
  });
});

describe("SQS outages", () => {
  async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
      const s = createServer();
      s.once("error", reject);
      s.listen(0, "127.0.0.1", () => {
        const address = s.address();
        const port = typeof address === "object" && address ? address.port : 0;
        s.close(() => resolve(port));
      });
    });
  }

  it("survives SQS being down, backs off, and recovers when it comes up", async () => {
    const port = await freePort();
    const def = testQueue();
    const rec = recorder(() => undefined);
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    try {
      const { logs } = await start({
        sqsEndpoint: `http://127.0.0.1:${port}`,
        queues: [{ definition: def, handler: rec.handler }],
        minBackoffMs: 50,
        maxBackoffMs: 200,
        requestTimeoutMs: 1000,
      });
      await waitFor(() => logs.filter((l) => l.includes("failed")).length >= 3 || undefined, "repeated failures");
      expect(logs.some((l) => /retrying in \d+ ms/.test(l))).toBe(true);

      const late = await startFauxqs({ port, logger: false });
      try {
        const lateSqs = localSqsClient(`http://127.0.0.1:${port}`);
        try {
          // The runner creates the queue itself once SQS answers.
          const url = await waitFor(async () => {
            try {
              return (await ensureQueues(lateSqs, [def])).get(def.name);
            } catch {
              return undefined;
            }
          }, "the queue");
          await lateSqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "after the outage" }));
          await waitFor(() => rec.calls[0], "the invocation");
          expect(rec.bodies(0)).toEqual(["after the outage"]);
          expect(logs.some((l) => l.includes("SQS reachable again"))).toBe(true);
        } finally {
          lateSqs.destroy();
        }
        await Promise.all(runners.splice(0).map((r) => r.stop()));
      } finally {
        await late.stop();
      }
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });
});

describe("interpretBatchResponse", () => {
  const ids = ["a", "b", "c"];
  it.each([
    [undefined, { kind: "all-succeeded" }],
    [null, { kind: "all-succeeded" }],
    [{}, { kind: "all-succeeded" }],
    [{ batchItemFailures: null }, { kind: "all-succeeded" }],
    [{ batchItemFailures: [] }, { kind: "all-succeeded" }],
    [{ batchItemFailures: [{ itemIdentifier: "b" }] }, { kind: "partial", failed: new Set(["b"]) }],
    [{ batchItemFailures: "b" }, { kind: "all-failed", reason: expect.stringMatching(/not an array/) }],
    [{ batchItemFailures: [{ itemIdentifier: "" }] }, { kind: "all-failed", reason: expect.stringMatching(/invalid/) }],
    [{ batchItemFailures: [{ itemIdentifier: null }] }, { kind: "all-failed", reason: expect.stringMatching(/invalid/) }],
    [{ batchItemFailures: [{ id: "b" }] }, { kind: "all-failed", reason: expect.stringMatching(/invalid/) }],
    [{ batchItemFailures: [{ itemIdentifier: "z" }] }, { kind: "all-failed", reason: expect.stringMatching(/not in the batch/) }],
  ])("%j", (response, expected) => {
    expect(interpretBatchResponse(response, ids)).toEqual(expected);
  });
});
