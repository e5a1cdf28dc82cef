/**
 * @module The one definition of Strata's queues and scheduled jobs. The CDK stack (infra/) and
 * the local runner (dev/lambda-runner.ts) both read it, so what runs on a laptop against fauxqs
 * has the same names, visibility timeouts, batch sizes and dead-letter rules as production.
 *
 * Handler entries are paths relative to the repository root. A queue without `handler` is
 * declared (producers can already send to it) but has no consumer yet.
 */
import { parseCron, type CronField } from "../core/cron.ts";

export interface HandlerRef {
  /** Module path relative to the repository root, e.g. `functions/warming/handler.ts`. */
  entry: string;
  /** Name of the exported handler function. */
  export: string;
  /** Lambda timeout (default 30 s). For a queue, the visibility timeout must be ≥ 6× this. */
  timeoutSeconds?: number;
  /** Lambda memory (default 256 MB). */
  memoryMb?: number;
  /** Queues this handler sends to: it gets their URLs in the environment and send rights. */
  sendsTo?: readonly QueueKey[];
}

export type QueueKey = "invalidation" | "write-behind" | "warming" | "metrics";

export interface DeadLetterDefinition {
  name: string;
  retentionSeconds: number;
}

export interface QueueDefinition {
  key: string;
  /** Full SQS queue name; FIFO queues end in `.fifo`. */
  name: string;
  fifo: boolean;
  /** FIFO only. Off where identical bodies may legitimately repeat (then producers set the id). */
  contentBasedDeduplication?: boolean;
  visibilityTimeoutSeconds: number;
  retentionSeconds: number;
  /** Records per invocation: ≤ 10 for FIFO; above 10 needs a batching window ≥ 1 s (Lambda's rules). */
  batchSize: number;
  /** How long to gather a batch before invoking; must be 0 for FIFO (Lambda rejects it there). */
  maxBatchingWindowSeconds: number;
  /** Receives before SQS moves a message to the dead-letter queue. */
  maxReceiveCount: number;
  /** Upper bound on concurrent Lambda invocations for this queue (AWS minimum 2). */
  maxConcurrency?: number;
  dlq: DeadLetterDefinition;
  handler?: HandlerRef;
}

export interface ScheduleDefinition {
  name: string;
  /** Standard 5-field cron in UTC. */
  cron: string;
  handler: HandlerRef;
  description?: string;
}

export const QUEUE_PREFIX = "strata";

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** SQS's maximum: a dead letter should outlive any investigation into why it died. */
const DLQ_RETENTION = 14 * DAY;

export const QUEUES: readonly (QueueDefinition & { key: QueueKey })[] = [
  {
    key: "invalidation",
    name: `${QUEUE_PREFIX}-invalidation`,
    fifo: false,
    visibilityTimeoutSeconds: 3 * MINUTE,
    retentionSeconds: 4 * DAY,
    batchSize: 10,
    // Short: an invalidation that waits serves stale data for that long.
    maxBatchingWindowSeconds: 0,
    maxReceiveCount: 5,
    dlq: { name: `${QUEUE_PREFIX}-invalidation-dlq`, retentionSeconds: DLQ_RETENTION },
    handler: { entry: "functions/invalidation/handler.ts", export: "handler", timeoutSeconds: 30 },
  },
  {
    key: "write-behind",
    // FIFO with the resource key as MessageGroupId: writes to one resource apply in the order they
    // were made, while different resources still proceed in parallel. fauxqs supports FIFO + DLQ.
    name: `${QUEUE_PREFIX}-write-behind.fifo`,
    fifo: true,
    // Off: A→B→A within the 5-minute dedup window would silently drop the last A and leave B
    // persisted. Producers pass a MessageDeduplicationId (e.g. the write's version) instead.
    contentBasedDeduplication: false,
    visibilityTimeoutSeconds: 3 * MINUTE,
    retentionSeconds: 4 * DAY,
    batchSize: 10,
    maxBatchingWindowSeconds: 0,
    maxReceiveCount: 5,
    dlq: { name: `${QUEUE_PREFIX}-write-behind-dlq.fifo`, retentionSeconds: DLQ_RETENTION },
    handler: { entry: "functions/write-behind/handler.ts", export: "handler", timeoutSeconds: 30, sendsTo: ["invalidation"] },
  },
  {
    key: "warming",
    name: `${QUEUE_PREFIX}-warming`,
    fifo: false,
    visibilityTimeoutSeconds: 6 * MINUTE,
    // A warming job a day late warms for traffic that has passed: let it expire instead.
    retentionSeconds: 1 * DAY,
    batchSize: 5,
    maxBatchingWindowSeconds: 2,
    // Warming is an optimisation; retrying hard against a struggling origin makes things worse.
    maxReceiveCount: 3,
    maxConcurrency: 2,
    dlq: { name: `${QUEUE_PREFIX}-warming-dlq`, retentionSeconds: 4 * DAY },
  },
  {
    key: "metrics",
    name: `${QUEUE_PREFIX}-metrics`,
    fifo: false,
    visibilityTimeoutSeconds: 3 * MINUTE,
    retentionSeconds: 1 * DAY,
    // Rollups are cheaper per record in big batches, and a few seconds of lag costs nothing.
    batchSize: 100,
    maxBatchingWindowSeconds: 5,
    maxReceiveCount: 5,
    dlq: { name: `${QUEUE_PREFIX}-metrics-dlq`, retentionSeconds: 4 * DAY },
  },
];

export const SCHEDULES: readonly ScheduleDefinition[] = [
  {
    name: "registry-sweeper",
    cron: "*/5 * * * *",
    description: "Deactivates expired cache-key-registry rows",
    handler: { entry: "functions/registry-sweeper/handler.ts", export: "handler" },
  },
];

export function queueByKey(key: QueueKey): QueueDefinition {
  const def = QUEUES.find((q) => q.key === key);
  if (!def) throw new Error(`no queue with key ${key}`);
  return def;
}

/** Environment variable through which a deployed handler learns a queue's URL. */
export function queueUrlEnvName(key: string): string {
  return `STRATA_${key.toUpperCase().replace(/[^A-Z0-9]+/g, "_")}_QUEUE_URL`;
}

export const DEFAULT_HANDLER_TIMEOUT_SECONDS = 30;
export const DEFAULT_HANDLER_MEMORY_MB = 256;

/**
 * Every rule SQS, Lambda or this project's own conventions would reject at deploy time, checked
 * up front so a bad definition fails `cdk synth` and the runner rather than CloudFormation.
 */
export function validateDefinitions(
  queues: readonly QueueDefinition[],
  schedules: readonly ScheduleDefinition[] = [],
): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const q of queues) {
    const where = `queue ${q.key}`;
    for (const name of [q.name, q.dlq.name]) {
      if (names.has(name)) problems.push(`${where}: duplicate queue name ${name}`);
      names.add(name);
      if (!/^[A-Za-z0-9_-]{1,75}(\.fifo)?$/.test(name)) problems.push(`${where}: invalid SQS name ${name}`);
      if (name.endsWith(".fifo") !== q.fifo) {
        problems.push(`${where}: ${name} must ${q.fifo ? "" : "not "}end in .fifo`);
      }
    }
    if (q.visibilityTimeoutSeconds < 0 || q.visibilityTimeoutSeconds > 43_200) {
      problems.push(`${where}: visibility timeout must be 0–43200 s`);
    }
    for (const [label, s] of [["retention", q.retentionSeconds], ["DLQ retention", q.dlq.retentionSeconds]] as const) {
      if (s < 60 || s > 14 * DAY) problems.push(`${where}: ${label} must be 60 s – 14 days`);
    }
    // Standard queues keep the original enqueue time in the DLQ, so a shorter DLQ retention
    // can expire a dead letter the moment it arrives.
    if (q.dlq.retentionSeconds < q.retentionSeconds) problems.push(`${where}: DLQ retention shorter than the queue's`);
    if (q.maxReceiveCount < 1 || q.maxReceiveCount > 1000) problems.push(`${where}: maxReceiveCount must be 1–1000`);
    if (q.maxBatchingWindowSeconds < 0 || q.maxBatchingWindowSeconds > 300) {
      problems.push(`${where}: maxBatchingWindowSeconds must be 0–300`);
    }
    if (q.fifo) {
      if (q.batchSize < 1 || q.batchSize > 10) problems.push(`${where}: FIFO batchSize must be 1–10`);
      if (q.maxBatchingWindowSeconds !== 0) problems.push(`${where}: FIFO queues cannot have a batching window`);
    } else {
      if (q.batchSize < 1 || q.batchSize > 10_000) problems.push(`${where}: batchSize must be 1–10000`);
      if (q.batchSize > 10 && q.maxBatchingWindowSeconds < 1) {
        problems.push(`${where}: batchSize above 10 needs maxBatchingWindowSeconds ≥ 1`);
      }
    }
    if (q.maxConcurrency !== undefined && (q.maxConcurrency < 2 || q.maxConcurrency > 1000)) {
      problems.push(`${where}: maxConcurrency must be 2–1000`);
    }
    if (q.handler) {
      const timeout = q.handler.timeoutSeconds ?? DEFAULT_HANDLER_TIMEOUT_SECONDS;
      // AWS's guidance for SQS event sources: otherwise a message can become visible again while
      // the invocation that received it is still running (or being retried after throttling).
      if (q.visibilityTimeoutSeconds < 6 * timeout) {
        problems.push(`${where}: visibility timeout ${q.visibilityTimeoutSeconds} s is below 6 × handler timeout ${timeout} s`);
      }
      problems.push(...validateHandler(where, q.handler));
    }
  }
  const scheduleNames = new Set<string>();
  for (const s of schedules) {
    const where = `schedule ${s.name}`;
    if (scheduleNames.has(s.name)) problems.push(`${where}: duplicate schedule name`);
    scheduleNames.add(s.name);
    try {
      toEventBridgeCron(s.cron);
    } catch (error) {
      problems.push(`${where}: ${error instanceof Error ? error.message : String(error)}`);
    }
    problems.push(...validateHandler(where, s.handler));
  }
  return problems;
}

function validateHandler(where: string, h: HandlerRef): string[] {
  const problems: string[] = [];
  const timeout = h.timeoutSeconds ?? DEFAULT_HANDLER_TIMEOUT_SECONDS;
  if (timeout < 1 || timeout > 900) problems.push(`${where}: handler timeout must be 1–900 s`);
  const memory = h.memoryMb ?? DEFAULT_HANDLER_MEMORY_MB;
  if (memory < 128 || memory > 10_240) problems.push(`${where}: handler memory must be 128–10240 MB`);
  if (!/\.(ts|mts|js|mjs)$/.test(h.entry)) problems.push(`${where}: handler entry must be a .ts/.js module`);
  if (!/^[A-Za-z_$][\w$]*$/.test(h.export)) problems.push(`${where}: invalid export name ${h.export}`);
  return problems;
}

export function assertValidDefinitions(
  queues: readonly QueueDefinition[],
  schedules: readonly ScheduleDefinition[] = [],
): void {
  const problems = validateDefinitions(queues, schedules);
  if (problems.length > 0) throw new Error(`invalid queue/schedule definitions:\n  ${problems.join("\n  ")}`);
}

/** EventBridge's cron fields (UTC); exactly one of `day` / `weekDay` is `?`. Matches CDK's CronOptions. */
export interface EventBridgeCron {
  minute: string;
  hour: string;
  day: string;
  month: string;
  weekDay: string;
  year: string;
}

const EB_WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] as const;

/**
 * Rewrites a field from its value set rather than its text: EventBridge's grammar differs in the
 * details (weekdays 1–7 from Sunday, no `/` in day-of-week, `*\/n` undocumented), and a value set
 * rendered as `*`, `start/step` or ranges and lists is valid in every field.
 */
function renderField(field: CronField, min: number, max: number, label?: (v: number) => string): string {
  const values = field.values;
  const show = label ?? String;
  if (values.length === max - min + 1) return "*";
  const first = values[0];
  const second = values[1];
  if (label === undefined && first !== undefined && second !== undefined && values.length > 2) {
    const step = second - first;
    const isProgression = values.every((v, i) => v === first + i * step);
    const last = values[values.length - 1] ?? first;
    if (isProgression && last + step > max) return `${first}/${step}`;
  }
  const parts: string[] = [];
  let i = 0;
  while (i < values.length) {
    let j = i;
    while (j + 1 < values.length && (values[j + 1] ?? 0) === (values[j] ?? 0) + 1) j++;
    const lo = values[i] ?? 0;
    const hi = values[j] ?? 0;
    parts.push(j === i ? show(lo) : j === i + 1 ? `${show(lo)},${show(hi)}` : `${show(lo)}-${show(hi)}`);
    i = j + 1;
  }
  return parts.join(",");
}

/**
 * Converts a 5-field cron to EventBridge's 6 fields (`Schedule.cron(...)` takes the parts; the
 * expression string is `cron(minute hour day month weekDay year)`). Throws when both day-of-month
 * and day-of-week are restricted: EventBridge cannot express either combination of the two.
 */
export function toEventBridgeCronParts(expr: string): EventBridgeCron {
  const cron = parseCron(expr);
  const allDays = cron.dayOfMonth.values.length === 31;
  const allWeekdays = cron.dayOfWeek.values.length === 7;
  const base = {
    minute: renderField(cron.minute, 0, 59),
    hour: renderField(cron.hour, 0, 23),
    month: renderField(cron.month, 1, 12),
    year: "*",
  };
  if (allWeekdays) return { ...base, day: renderField(cron.dayOfMonth, 1, 31), weekDay: "?" };
  if (allDays) {
    return { ...base, day: "?", weekDay: renderField(cron.dayOfWeek, 0, 6, (d) => EB_WEEKDAYS[d] ?? String(d)) };
  }
  throw new Error(
    `cron "${expr}": EventBridge cannot restrict both day-of-month and day-of-week; split it into two schedules`,
  );
}

/** The EventBridge 6-field expression, without the `cron(...)` wrapper. */
export function toEventBridgeCron(expr: string): string {
  const p = toEventBridgeCronParts(expr);
  return `${p.minute} ${p.hour} ${p.day} ${p.month} ${p.weekDay} ${p.year}`;
}
