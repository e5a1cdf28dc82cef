/**
 * @module A local stand-in for Lambda's SQS event source mapping and EventBridge cron rules.
 *
 * Each queue gets one poller: long-poll up to `batchSize` messages (gathering for up to the
 * batching window), invoke the handler with a real `SQSEvent`, then act on the outcome the way
 * Lambda does with `ReportBatchItemFailures`:
 * - resolved, no `batchItemFailures` → every message is deleted;
 * - `batchItemFailures` naming records → all others are deleted, the named ones are left alone;
 * - threw, timed out, or named an id that is not in the batch → nothing is deleted.
 * Messages left alone reappear after the visibility timeout, and SQS itself (fauxqs here) moves
 * them to the dead-letter queue once their receive count passes `maxReceiveCount`.
 *
 * One invocation per queue at a time. Lambda runs several concurrently (up to maxConcurrency), so
 * races between invocations do not show up here; in exchange FIFO order is trivially kept.
 * fauxqs returns at most one message per FIFO message group per receive (real SQS returns
 * several), so locally a FIFO batch holds one record per group.
 */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
  type Message,
  type QueueAttributeName,
} from "@aws-sdk/client-sqs";
import type {
  Context,
  ScheduledEvent,
  SQSBatchResponse,
  SQSEvent,
  SQSMessageAttributes,
  SQSRecord,
  SQSRecordAttributes,
} from "aws-lambda";
import {
  DEFAULT_HANDLER_MEMORY_MB,
  DEFAULT_HANDLER_TIMEOUT_SECONDS,
  type HandlerRef,
  type QueueDefinition,
  type ScheduleDefinition,
} from "../functions/queues.ts";
import { nextRun, parseCron } from "../core/cron.ts";

// `void`: a handler that returns nothing; Lambda treats that as full success.
export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void | undefined>;
export type ScheduledHandler = (event: ScheduledEvent, context: Context) => Promise<unknown>;

export interface RunnerQueue {
  definition: QueueDefinition;
  handler: SqsHandler;
}

export interface RunnerSchedule {
  definition: ScheduleDefinition;
  handler: ScheduledHandler;
}

export interface LambdaRunnerOptions {
  sqsEndpoint: string;
  region?: string;
  queues: readonly RunnerQueue[];
  schedules?: readonly RunnerSchedule[];
  log?: (line: string) => void;
  /** Clock for cron schedules (tests shift it); timers still run on real time. */
  now?: () => Date;
  /** Long-poll wait per ReceiveMessage, 0–20 s (Lambda uses 20). Lower it in tests for quick stops. */
  waitTimeSeconds?: number;
  /** Bound on each SQS call on top of its long-poll wait. */
  requestTimeoutMs?: number;
  /** Back-off after a failed SQS call: starts at min, doubles up to max. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface LambdaRunner {
  /** Stops polling and timers (aborting any long poll) and waits for running invocations. */
  stop(): Promise<void>;
  /** Invokes a schedule's handler now, as EventBridge would; rejects with the handler's error. */
  fireSchedule(name: string): Promise<unknown>;
}

export interface QueueEndpoints {
  url: string;
  arn: string;
  dlqUrl: string;
  dlqArn: string;
}

/** fauxqs's account id; ARNs of the local fake resources use it too. */
const LOCAL_ACCOUNT = "000000000000";
const DEFAULT_REGION = "us-east-1";

export function localSqsClient(endpoint: string, region = DEFAULT_REGION, requestTimeoutMs = 25_000): SQSClient {
  return new SQSClient({
    endpoint,
    region,
    // The emulator accepts any signature; static values keep the SDK away from the credential chain.
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    requestHandler: { requestTimeout: requestTimeoutMs, connectionTimeout: 2_000 },
    // The runner's loops back off on their own; SDK retries would only hide an outage for longer.
    maxAttempts: 1,
  });
}

/** SQS error codes arrive bare or in the query-protocol spelling (`AWS.SimpleQueueService.<Code>`). */
function errorName(error: unknown): string {
  return error instanceof Error ? error.name.replace(/^AWS\.SimpleQueueService\./, "") : "";
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

function isQueueMissing(error: unknown): boolean {
  const name = errorName(error);
  return name === "QueueDoesNotExist" || name === "NonExistentQueue";
}

async function createOrUpdateQueue(
  sqs: SQSClient,
  name: string,
  attributes: Partial<Record<QueueAttributeName, string>>,
  abortSignal?: AbortSignal,
): Promise<{ url: string; arn: string }> {
  let url: string;
  try {
    const created = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }), { abortSignal });
    if (!created.QueueUrl) throw new Error(`CreateQueue ${name} returned no QueueUrl`);
    url = created.QueueUrl;
  } catch (error) {
    // CreateQueue is idempotent only for identical attributes; an edited definition updates in place.
    if (errorName(error) !== "QueueNameExists") throw error;
    const found = await sqs.send(new GetQueueUrlCommand({ QueueName: name }), { abortSignal });
    if (!found.QueueUrl) throw new Error(`GetQueueUrl ${name} returned no QueueUrl`);
    url = found.QueueUrl;
    const { FifoQueue: _immutable, ...settable } = attributes;
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: settable }), { abortSignal });
  }
  const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }), {
    abortSignal,
  });
  const arn = attrs.Attributes?.QueueArn;
  if (!arn) throw new Error(`GetQueueAttributes ${name} returned no QueueArn`);
  return { url, arn };
}

/** Creates (or updates) the dead-letter queue, then the queue with its redrive policy. */
export async function ensureQueue(
  sqs: SQSClient,
  def: QueueDefinition,
  abortSignal?: AbortSignal,
): Promise<QueueEndpoints> {
  const fifo: Partial<Record<QueueAttributeName, string>> = def.fifo ? { FifoQueue: "true" } : {};
  const dlq = await createOrUpdateQueue(
    sqs,
    def.dlq.name,
    { ...fifo, MessageRetentionPeriod: String(def.dlq.retentionSeconds) },
    abortSignal,
  );
  const main = await createOrUpdateQueue(
    sqs,
    def.name,
    {
      ...fifo,
      ...(def.fifo ? { ContentBasedDeduplication: String(def.contentBasedDeduplication ?? false) } : {}),
      VisibilityTimeout: String(def.visibilityTimeoutSeconds),
      MessageRetentionPeriod: String(def.retentionSeconds),
      ReceiveMessageWaitTimeSeconds: "20",
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: String(def.maxReceiveCount) }),
    },
    abortSignal,
  );
  return { url: main.url, arn: main.arn, dlqUrl: dlq.url, dlqArn: dlq.arn };
}

/** Idempotently creates every queue and its DLQ; the map is keyed by queue name (DLQs included). */
export async function ensureQueues(sqs: SQSClient, defs: readonly QueueDefinition[]): Promise<Map<string, string>> {
  const urls = new Map<string, string>();
  for (const def of defs) {
    const endpoints = await ensureQueue(sqs, def);
    urls.set(def.name, endpoints.url);
    urls.set(def.dlq.name, endpoints.dlqUrl);
  }
  return urls;
}

function toMessageAttributes(message: Message): SQSMessageAttributes {
  const out: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    out[name] = {
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined ? { binaryValue: Buffer.from(value.BinaryValue).toString("base64") } : {}),
      // Lambda always sends both lists, empty: they are reserved by SQS and never populated.
      stringListValues: [],
      binaryListValues: [],
      dataType: value.DataType ?? "String",
    };
  }
  return out;
}

/** Shapes one received message the way Lambda's event source mapping hands it to a function. */
export function toSqsRecord(message: Message, eventSourceARN: string, awsRegion: string): SQSRecord {
  const a = message.Attributes ?? {};
  const now = String(Date.now());
  const attributes: SQSRecordAttributes = {
    ApproximateReceiveCount: a.ApproximateReceiveCount ?? "1",
    SentTimestamp: a.SentTimestamp ?? now,
    SenderId: a.SenderId ?? LOCAL_ACCOUNT,
    ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? now,
  };
  if (a.AWSTraceHeader !== undefined) attributes.AWSTraceHeader = a.AWSTraceHeader;
  if (a.SequenceNumber !== undefined) attributes.SequenceNumber = a.SequenceNumber;
  if (a.MessageGroupId !== undefined) attributes.MessageGroupId = a.MessageGroupId;
  if (a.MessageDeduplicationId !== undefined) attributes.MessageDeduplicationId = a.MessageDeduplicationId;
  if (a.DeadLetterQueueSourceArn !== undefined) attributes.DeadLetterQueueSourceArn = a.DeadLetterQueueSourceArn;
  const record: SQSRecord = {
    messageId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    attributes,
    messageAttributes: toMessageAttributes(message),
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN,
    awsRegion,
  };
  if (message.MD5OfMessageAttributes !== undefined) record.md5OfMessageAttributes = message.MD5OfMessageAttributes;
  return record;
}

export type BatchOutcome =
  | { kind: "all-succeeded" }
  | { kind: "partial"; failed: ReadonlySet<string> }
  | { kind: "all-failed"; reason: string };

/**
 * Lambda's reading of a handler's result under ReportBatchItemFailures: an empty or missing
 * response (or list) is full success; a malformed list, or an id that is empty or not in the
 * batch, fails the whole batch.
 */
export function interpretBatchResponse(response: unknown, messageIds: readonly string[]): BatchOutcome {
  if (response === undefined || response === null || typeof response !== "object") return { kind: "all-succeeded" };
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { kind: "all-succeeded" };
  if (!Array.isArray(failures)) return { kind: "all-failed", reason: "batchItemFailures is not an array" };
  if (failures.length === 0) return { kind: "all-succeeded" };
  const known = new Set(messageIds);
  const failed = new Set<string>();
  for (const item of failures as unknown[]) {
    const id = typeof item === "object" && item !== null ? (item as { itemIdentifier?: unknown }).itemIdentifier : undefined;
    if (typeof id !== "string" || id === "") {
      return { kind: "all-failed", reason: `invalid itemIdentifier ${JSON.stringify(id)}` };
    }
    if (!known.has(id)) return { kind: "all-failed", reason: `itemIdentifier ${id} is not in the batch` };
    failed.add(id);
  }
  return { kind: "partial", failed };
}

function makeContext(functionName: string, timeoutMs: number, memoryMb: number, region: string): Context {
  const deadline = Date.now() + timeoutMs;
  const awsRequestId = randomUUID();
  const ignored = (): void => {};
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${region}:${LOCAL_ACCOUNT}:function:${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${awsRequestId}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: ignored,
    fail: ignored,
    succeed: ignored,
  };
}

type Invocation<T> = { kind: "returned"; value: T } | { kind: "threw"; error: unknown } | { kind: "timed-out" };

/** Runs a handler under Lambda's timeout. A timed-out handler cannot be killed: it runs on, ignored. */
async function invokeWithTimeout<T>(run: () => Promise<T>, timeoutMs: number, onLate: (settled: string) => void): Promise<Invocation<T>> {
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const work = Promise.resolve()
    .then(run)
    .then(
      (value): Invocation<T> => {
        if (timedOut) onLate("resolved");
        return { kind: "returned", value };
      },
      (error: unknown): Invocation<T> => {
        if (timedOut) onLate(`rejected (${describe(error)})`);
        return { kind: "threw", error };
      },
    );
  const deadline = new Promise<Invocation<T>>((resolveDeadline) => {
    timer = setTimeout(() => {
      timedOut = true;
      resolveDeadline({ kind: "timed-out" });
    }, timeoutMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolveSleep) => {
    if (signal.aborted) return resolveSleep();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolveSleep();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** EventBridge writes times without milliseconds. */
function eventTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Longest single timer. setTimeout overflows past ~24.8 days, and re-checking the clock every few
 * hours keeps a far-off run on time across suspend/resume.
 */
const MAX_TIMER_MS = 6 * 60 * 60 * 1000;

export async function startLambdaRunner(opts: LambdaRunnerOptions): Promise<LambdaRunner> {
  const region = opts.region ?? DEFAULT_REGION;
  const log = opts.log ?? ((line: string) => console.log(`[lambda-runner] ${line}`));
  const now = opts.now ?? (() => new Date());
  const waitTimeSeconds = Math.max(0, Math.min(20, opts.waitTimeSeconds ?? 20));
  const requestTimeoutMs = opts.requestTimeoutMs ?? 5_000;
  const minBackoffMs = opts.minBackoffMs ?? 250;
  const maxBackoffMs = opts.maxBackoffMs ?? 10_000;
  const sqs = localSqsClient(opts.sqsEndpoint, region, waitTimeSeconds * 1000 + requestTimeoutMs);
  const stopping = new AbortController();
  const inFlight = new Set<Promise<unknown>>();

  const track = <T>(p: Promise<T>): Promise<T> => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => {});
    return p;
  };

  /** Every SQS call is bounded, and aborted at once by stop(). */
  const callSignal = (waitSeconds = 0): AbortSignal =>
    AbortSignal.any([stopping.signal, AbortSignal.timeout(waitSeconds * 1000 + requestTimeoutMs)]);

  for (const q of opts.queues) {
    // The first messages of a batch would become visible again before the handler even sees them.
    if (q.definition.maxBatchingWindowSeconds >= q.definition.visibilityTimeoutSeconds) {
      log(`warning: ${q.definition.name}: batching window is not shorter than the visibility timeout`);
    }
  }

  const firstAttempts: Promise<void>[] = [];
  const pollers = opts.queues.map((q) => {
    let attempted = (): void => {};
    firstAttempts.push(new Promise<void>((r) => (attempted = r)));
    return pollQueue(q, () => attempted());
  });
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  const schedules = new Map((opts.schedules ?? []).map((s) => [s.definition.name, s] as const));
  for (const s of schedules.values()) planSchedule(s, undefined);

  /** `attempted` fires after the first try at creating the queue, whether or not SQS answered. */
  async function pollQueue(q: RunnerQueue, attempted: () => void): Promise<void> {
    const def = q.definition;
    let endpoints: QueueEndpoints | undefined;
    let backoffMs = minBackoffMs;
    let failing = false;
    const recover = async (error: unknown, what: string): Promise<void> => {
      if (isQueueMissing(error)) endpoints = undefined;
      log(`${def.name}: ${what} failed (${describe(error)}); retrying in ${backoffMs} ms`);
      failing = true;
      await sleep(backoffMs, stopping.signal);
      backoffMs = Math.min(maxBackoffMs, backoffMs * 2);
    };
    while (!stopping.signal.aborted) {
      try {
        // Created here rather than up front so the runner survives starting before SQS does, or
        // SQS restarting with an empty state.
        endpoints ??= await ensureQueue(sqs, def, callSignal());
        attempted();
      } catch (error) {
        attempted();
        if (stopping.signal.aborted) break;
        await recover(error, "creating the queue");
        continue;
      }
      let messages: Message[];
      try {
        messages = await receiveBatch(def, endpoints.url);
      } catch (error) {
        if (stopping.signal.aborted) break;
        await recover(error, "receive");
        continue;
      }
      if (failing) log(`${def.name}: SQS reachable again`);
      failing = false;
      backoffMs = minBackoffMs;
      // Messages received while stopping are left to reappear after their visibility timeout.
      if (messages.length === 0 || stopping.signal.aborted) continue;
      try {
        await track(invokeQueueHandler(q, endpoints, messages));
      } catch (error) {
        // Only a bug in the runner lands here; the poller must outlive it like Lambda's would.
        log(`${def.name}: runner error after invoking (${describe(error)})`);
      }
    }
  }

  async function receive(url: string, max: number, waitSeconds: number): Promise<Message[]> {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: waitSeconds,
        // Both spellings: the legacy one is what older SQS-compatible servers understand.
        AttributeNames: ["All"],
        MessageSystemAttributeNames: ["All"],
        MessageAttributeNames: ["All"],
      }),
      { abortSignal: callSignal(waitSeconds) },
    );
    return out.Messages ?? [];
  }

  /** Lambda's batching: invoke on a full batch, or once the window since the first message closes. */
  async function receiveBatch(def: QueueDefinition, url: string): Promise<Message[]> {
    const batch = await receive(url, Math.min(10, def.batchSize), waitTimeSeconds);
    if (batch.length === 0 || def.maxBatchingWindowSeconds <= 0) return batch;
    const windowEnds = Date.now() + def.maxBatchingWindowSeconds * 1000;
    while (batch.length < def.batchSize && !stopping.signal.aborted) {
      const remainingMs = windowEnds - Date.now();
      if (remainingMs <= 0) break;
      try {
        // WaitTimeSeconds is whole seconds: under a second left, short-poll with small pauses.
        const waitSeconds = Math.min(waitTimeSeconds, Math.floor(remainingMs / 1000));
        const more = await receive(url, Math.min(10, def.batchSize - batch.length), waitSeconds);
        batch.push(...more);
        if (more.length === 0 && waitSeconds === 0) await sleep(Math.min(remainingMs, 100), stopping.signal);
      } catch (error) {
        // What was already received must still be handled; the next loop will surface the outage.
        if (!stopping.signal.aborted) log(`${def.name}: receive while batching failed (${describe(error)})`);
        break;
      }
    }
    return batch;
  }

  async function invokeQueueHandler(q: RunnerQueue, endpoints: QueueEndpoints, messages: Message[]): Promise<void> {
    const def = q.definition;
    const records = messages.map((m) => toSqsRecord(m, endpoints.arn, region));
    const ids = records.map((r) => r.messageId);
    const timeoutMs = handlerTimeoutMs(def.handler, def.visibilityTimeoutSeconds);
    const context = makeContext(def.key, timeoutMs, def.handler?.memoryMb ?? DEFAULT_HANDLER_MEMORY_MB, region);
    const started = Date.now();
    const result = await invokeWithTimeout(
      () => q.handler({ Records: records }, context),
      timeoutMs,
      (settled) => log(`${def.name}: timed-out invocation ${context.awsRequestId} finally ${settled}; result ignored`),
    );
    const tookMs = Date.now() - started;

    let outcome: BatchOutcome;
    if (result.kind === "threw") outcome = { kind: "all-failed", reason: `handler threw ${describe(result.error)}` };
    else if (result.kind === "timed-out") outcome = { kind: "all-failed", reason: `handler timed out after ${timeoutMs} ms` };
    else outcome = interpretBatchResponse(result.value, ids);

    const failed: ReadonlySet<string> =
      outcome.kind === "all-failed" ? new Set(ids) : outcome.kind === "partial" ? outcome.failed : new Set();
    const summary = `${def.name}: ${records.length} record(s) in ${tookMs} ms`;
    if (outcome.kind === "all-failed") log(`${summary}: batch failed, ${outcome.reason}`);
    else log(`${summary}: ${records.length - failed.size} ok, ${failed.size} failed`);
    for (const r of records) {
      if (!failed.has(r.messageId)) continue;
      const receives = Number(r.attributes.ApproximateReceiveCount);
      const fate =
        receives >= def.maxReceiveCount
          ? `moves to ${def.dlq.name} on its next receive`
          : `retried after ${def.visibilityTimeoutSeconds} s`;
      log(`${def.name}: message ${r.messageId} failed (receive ${receives}/${def.maxReceiveCount}); ${fate}`);
    }
    if (def.fifo && outcome.kind === "partial") warnOnFifoReorder(def, records, failed);

    const toDelete = records.filter((r) => !failed.has(r.messageId));
    await deleteRecords(def, endpoints.url, toDelete);
  }

  /** A FIFO handler must fail everything after a group's first failure, or the group reorders. */
  function warnOnFifoReorder(def: QueueDefinition, records: readonly SQSRecord[], failed: ReadonlySet<string>): void {
    const brokenGroups = new Set<string>();
    for (const r of records) {
      const group = r.attributes.MessageGroupId ?? "";
      if (failed.has(r.messageId)) brokenGroups.add(group);
      else if (brokenGroups.has(group)) {
        log(`warning: ${def.name}: message ${r.messageId} succeeded after an earlier failure in group ${group}; order is lost`);
      }
    }
  }

  async function deleteRecords(def: QueueDefinition, url: string, records: readonly SQSRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += 10) {
      const chunk = records.slice(i, i + 10);
      try {
        const out = await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: url,
            Entries: chunk.map((r, j) => ({ Id: `m${i + j}`, ReceiptHandle: r.receiptHandle })),
          }),
          // Not tied to stop(): a finished invocation's deletes should land even while stopping.
          { abortSignal: AbortSignal.timeout(requestTimeoutMs) },
        );
        for (const f of out.Failed ?? []) log(`${def.name}: delete ${f.Id} failed (${f.Code}: ${f.Message ?? ""})`);
      } catch (error) {
        // As with Lambda: an undeleted message is simply delivered again (at-least-once).
        log(`${def.name}: deleting ${chunk.length} message(s) failed (${describe(error)}); they will be redelivered`);
      }
    }
  }

  function scheduledEvent(def: ScheduleDefinition, time: Date): ScheduledEvent {
    return {
      version: "0",
      id: randomUUID(),
      "detail-type": "Scheduled Event",
      source: "aws.events",
      account: LOCAL_ACCOUNT,
      time: eventTime(time),
      region,
      resources: [`arn:aws:events:${region}:${LOCAL_ACCOUNT}:rule/${def.name}`],
      detail: {},
    };
  }

  async function runSchedule(s: RunnerSchedule, time: Date): Promise<unknown> {
    const def = s.definition;
    const timeoutMs = handlerTimeoutMs(def.handler);
    const context = makeContext(def.name, timeoutMs, def.handler.memoryMb ?? DEFAULT_HANDLER_MEMORY_MB, region);
    const started = Date.now();
    const result = await invokeWithTimeout(
      () => s.handler(scheduledEvent(def, time), context),
      timeoutMs,
      (settled) => log(`schedule ${def.name}: timed-out invocation finally ${settled}`),
    );
    const tookMs = Date.now() - started;
    if (result.kind === "returned") {
      log(`schedule ${def.name}: ok in ${tookMs} ms`);
      return result.value;
    }
    const error = result.kind === "threw" ? result.error : new Error(`handler timed out after ${timeoutMs} ms`);
    log(`schedule ${def.name}: failed in ${tookMs} ms (${describe(error)})`);
    throw error;
  }

  /** `after` is the previous planned time: planning from it, not the clock, can never fire one slot twice. */
  function planSchedule(s: RunnerSchedule, after: Date | undefined): void {
    if (stopping.signal.aborted) return;
    const clock = now();
    const from = after && after > clock ? after : clock;
    const at = nextRun(parseCron(s.definition.cron), from);
    const arm = (): void => {
      const delay = at.getTime() - now().getTime();
      if (delay > 0) {
        timers.set(s.definition.name, setTimeout(arm, Math.min(delay, MAX_TIMER_MS)));
        return;
      }
      track(runSchedule(s, at)).catch(() => {
        // Logged by runSchedule; a failing cron job must not take the runner down.
      });
      planSchedule(s, at);
    };
    arm();
  }

  // Callers may send right after start: wait until each queue exists (or SQS was found down).
  await Promise.all(firstAttempts);

  return {
    async stop(): Promise<void> {
      stopping.abort();
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      await Promise.allSettled(pollers);
      await Promise.allSettled([...inFlight]);
      sqs.destroy();
    },
    fireSchedule(name: string): Promise<unknown> {
      const s = schedules.get(name);
      if (!s) return Promise.reject(new Error(`no schedule named ${name}`));
      return track(runSchedule(s, now()));
    },
  };
}

/**
 * The deployed function's timeout (as infra/ sets it), never past the visibility timeout: beyond
 * it the message is visible again and belongs to the next receive. A definition without a handler
 * reference (ad-hoc consumers, tests) is bounded by the visibility timeout alone.
 */
function handlerTimeoutMs(handler: HandlerRef | undefined, visibilityTimeoutSeconds?: number): number {
  const lambdaTimeout = handler
    ? (handler.timeoutSeconds ?? DEFAULT_HANDLER_TIMEOUT_SECONDS)
    : (visibilityTimeoutSeconds ?? DEFAULT_HANDLER_TIMEOUT_SECONDS);
  const bound = visibilityTimeoutSeconds === undefined ? lambdaTimeout : Math.min(lambdaTimeout, visibilityTimeoutSeconds);
  return bound * 1000;
}

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

async function importHandler<T>(ref: HandlerRef, root: string): Promise<T | undefined> {
  const file = isAbsolute(ref.entry) ? ref.entry : resolve(root, ref.entry);
  if (!existsSync(file)) return undefined;
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const fn = mod[ref.export];
  if (typeof fn !== "function") throw new Error(`${ref.entry} has no exported function "${ref.export}"`);
  return fn as T;
}

export interface LoadedHandlers {
  queues: RunnerQueue[];
  schedules: RunnerSchedule[];
  /** Entries named in the definitions whose files do not exist yet. */
  missing: string[];
}

/** Imports every handler the definitions name and that exists; entries are relative to `root` (the repo). */
export async function loadHandlers(defs: {
  queues?: readonly QueueDefinition[];
  schedules?: readonly ScheduleDefinition[];
  root?: string;
}): Promise<LoadedHandlers> {
  const root = defs.root ?? REPO_ROOT;
  const loaded: LoadedHandlers = { queues: [], schedules: [], missing: [] };
  for (const definition of defs.queues ?? []) {
    if (!definition.handler) continue;
    const handler = await importHandler<SqsHandler>(definition.handler, root);
    if (handler) loaded.queues.push({ definition, handler });
    else loaded.missing.push(definition.handler.entry);
  }
  for (const definition of defs.schedules ?? []) {
    const handler = await importHandler<ScheduledHandler>(definition.handler, root);
    if (handler) loaded.schedules.push({ definition, handler });
    else loaded.missing.push(definition.handler.entry);
  }
  return loaded;
}
