/**
 * @module The invalidation fan-out Lambda (SQS: strata-invalidation). Each record is either an
 * invalidation request (`POST /v1/invalidations`) or a resource change event (every write). The
 * record is claimed in the invalidation log first, so a redelivered message whose invalidation is
 * DONE changes nothing; the epoch bumps carry the id too, so a crash between bump and log replays
 * nothing twice. A body that does not parse is a poison message: failed until SQS dead-letters it.
 */
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { EpochStore } from "../../core/invalidation/epochs.ts";
import { Fanout, resourceKey, type FanoutResult, type InvalidationCatalog, type StrategyInfo } from "../../core/invalidation/fanout.ts";
import { RedisKeyspace } from "../../core/invalidation/l2-keyspace.ts";
import { invalidationQueueMessageSchema, type ChangeMessage, type InvalidationMessage } from "../../core/invalidation/messages.ts";
import { RedisTier } from "../../core/tiers/redis.ts";
import { bounded } from "../../core/timeout.ts";
import {
  claimInvalidation,
  discardInvalidation,
  DrizzleInvalidationCatalog,
  failInvalidation,
  finishInvalidation,
} from "../../db/invalidation.ts";
import { functionsHttpDb } from "../db.ts";
import { loggedRecordHandler, parseRecord } from "../poison.ts";
import { dependencyTimeoutMs, functionsPurger, functionsRedis, keyPrefix } from "../deps.ts";
import { queueByKey } from "../queues.ts";


/** Strategies change rarely; one read per container per 30 s keeps events cheap. */
class CachedCatalog implements InvalidationCatalog {
  readonly #inner: InvalidationCatalog;
  #strategies: { at: number; value: Promise<StrategyInfo[]> } | undefined;
  constructor(inner: InvalidationCatalog) {
    this.#inner = inner;
  }
  strategies(): Promise<StrategyInfo[]> {
    if (!this.#strategies || Date.now() - this.#strategies.at > 30_000) {
      const value = this.#inner.strategies();
      value.catch(() => (this.#strategies = undefined));
      this.#strategies = { at: Date.now(), value };
    }
    return this.#strategies.value;
  }
  registryKeysLike = (like: string, limit: number) => this.#inner.registryKeysLike(like, limit);
  registryKeysOfStrategies = (ids: readonly string[], limit: number) => this.#inner.registryKeysOfStrategies(ids, limit);
  registryKeysOfResource = (id: string) => this.#inner.registryKeysOfResource(id);
  resourceKeysWithTags = (tags: readonly string[], limit: number) => this.#inner.resourceKeysWithTags(tags, limit);
  parentsOf = (ids: readonly string[]) => this.#inner.parentsOf(ids);
}

let fanout: Fanout | undefined;

function getFanout(): Fanout {
  if (fanout) return fanout;
  const redis = functionsRedis();
  const prefix = keyPrefix();
  const timeoutMs = dependencyTimeoutMs();
  const tier = new RedisTier({ client: redis, keyPrefix: prefix, timeoutMs });
  fanout = new Fanout({
    epochs: new EpochStore({ client: redis, keyPrefix: prefix, timeoutMs }),
    l2: new RedisKeyspace({ client: redis, tier, timeoutMs: timeoutMs * 2 }),
    catalog: new CachedCatalog(new DrizzleInvalidationCatalog(functionsHttpDb())),
    cdn: functionsPurger(),
  });
  return fanout;
}

function pg<T>(work: () => Promise<T>): Promise<T> {
  return bounded(work, dependencyTimeoutMs(), "postgres");
}

function details(result: FanoutResult): Record<string, unknown> {
  return {
    scopes: result.scopes,
    l2Unlinked: result.l2Unlinked,
    ...(result.cdn ? { cdn: result.cdn } : {}),
    ...(result.cascade ? { cascade: result.cascade } : {}),
    ...(result.replayedBumps > 0 ? { replayedBumps: result.replayedBumps } : {}),
    ...(result.limitReached ? { limitReached: true } : {}),
  };
}

async function handleInvalidation(m: InvalidationMessage, lastAttempt: boolean): Promise<void> {
  const db = functionsHttpDb();
  const t = m.target;
  const claimed = await pg(() =>
    claimInvalidation(
      db,
      {
        id: m.id,
        type: t.type,
        mode: m.mode,
        keyPattern: t.type === "SINGLE_KEY" ? t.key : t.type === "PATTERN_MATCH" ? t.pattern : undefined,
        triggerEvent: m.triggerEvent,
        triggerResource: t.type === "DEPENDENCY_CASCADE" ? t.resource : undefined,
        reason: m.reason,
        triggeredBy: m.triggeredBy,
        details: { target: t },
      },
      new Date(m.requestedAt),
    ),
  );
  if (!claimed) return;
  let result: FanoutResult;
  try {
    result = await getFanout().run({ id: m.id, target: t, mode: m.mode, reason: m.reason, triggeredBy: m.triggeredBy, triggerEvent: m.triggerEvent });
  } catch (error) {
    if (lastAttempt) await pg(() => failInvalidation(db, m.id, String(error))).catch(() => undefined);
    throw error;
  }
  await pg(() => finishInvalidation(db, m.id, { keys: result.keys, keyPattern: result.keyPattern, details: details(result) }));
}

async function handleChange(m: ChangeMessage, lastAttempt: boolean): Promise<void> {
  const db = functionsHttpDb();
  const root = resourceKey(m.resource);
  const claimed = await pg(() =>
    claimInvalidation(
      db,
      { id: m.id, type: "SINGLE_KEY", mode: "HARD", keyPattern: root, triggerEvent: m.event, triggerResource: m.resource, triggeredBy: m.triggeredBy },
      new Date(m.at),
    ),
  );
  if (!claimed) return;
  let result: FanoutResult | undefined;
  try {
    result = await getFanout().onChange({ id: m.id, event: m.event, resource: m.resource, version: m.version, ...(m.triggeredBy ? { triggeredBy: m.triggeredBy } : {}) });
  } catch (error) {
    if (lastAttempt) await pg(() => failInvalidation(db, m.id, String(error))).catch(() => undefined);
    throw error;
  }
  if (!result) {
    // No strategy listens to this change: nothing was invalidated, so nothing is logged.
    await pg(() => discardInvalidation(db, m.id));
    return;
  }
  await pg(() =>
    finishInvalidation(db, m.id, { keys: result.keys, keyPattern: result.keyPattern, type: result.type, details: { ...details(result), version: m.version } }),
  );
}

export async function processRecord(record: SQSRecord): Promise<void> {
  const message = parseRecord(record, invalidationQueueMessageSchema);
  const lastAttempt = Number(record.attributes.ApproximateReceiveCount) >= queueByKey("invalidation").maxReceiveCount;
  if (message.kind === "invalidation") await handleInvalidation(message, lastAttempt);
  else await handleChange(message, lastAttempt);
}

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  const processor = new BatchProcessor(EventType.SQS);
  return processPartialResponse(event, loggedRecordHandler("invalidation", processRecord), processor, { context, throwOnFullBatchFailure: false });
}
