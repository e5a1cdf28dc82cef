/**
 * @module Postgres for invalidation: the fan-out's catalog (strategies, key registry, tagged
 * resources, the dependency graph) and the invalidation log's request lifecycle
 * (PENDING → RUNNING → DONE | FAILED), one row per invalidation id.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import type { InvalidationCatalog, StrategyInfo } from "../core/invalidation/fanout.ts";
import type { InvalidationMode, InvalidationStatus, InvalidationType, TriggerEvent } from "../core/invalidation/types.ts";
import { resourceSlug, type ResourceType } from "../core/types.ts";
import type { HttpDb } from "./client.ts";
import { cacheInvalidationLog, cacheStrategies } from "./schema/index.ts";

/** How many keys a log row lists; the count is always exact. */
export const LOGGED_KEYS_CAP = 100;

export class DrizzleInvalidationCatalog implements InvalidationCatalog {
  readonly #db: HttpDb;

  constructor(db: HttpDb) {
    this.#db = db;
  }

  async strategies(): Promise<StrategyInfo[]> {
    const rows = await this.#db
      .select({
        id: cacheStrategies.id,
        name: cacheStrategies.strategyName,
        resourceType: cacheStrategies.resourceType,
        keyPattern: cacheStrategies.cacheKeyPattern,
        layerId: cacheStrategies.cacheLayerId,
        behavior: cacheStrategies.cacheBehavior,
        invalidation: cacheStrategies.invalidationStrategy,
        rules: cacheStrategies.invalidationRules,
      })
      .from(cacheStrategies)
      .where(eq(cacheStrategies.isActive, true));
    return rows.map(({ rules, ...s }) => {
      const depth = Number(rules?.["maxDepth"]);
      return { ...s, maxDepth: Number.isInteger(depth) && depth >= 0 ? depth : 1 };
    });
  }

  async registryKeysLike(like: string, limit: number): Promise<string[]> {
    const result = await this.#db.execute(sql`
      select cache_key from cache_key_registry where is_active and cache_key like ${like} escape '\\' limit ${limit}`);
    return result.rows.map((r) => String((r as { cache_key: string }).cache_key));
  }

  async registryKeysOfStrategies(strategyIds: readonly string[], limit: number): Promise<string[]> {
    if (strategyIds.length === 0) return [];
    const result = await this.#db.execute(sql`
      select cache_key from cache_key_registry
      where is_active and cache_strategy_id = any(${`{${strategyIds.join(",")}}`}::uuid[]) limit ${limit}`);
    return result.rows.map((r) => String((r as { cache_key: string }).cache_key));
  }

  async registryKeysOfResource(resourceId: string): Promise<string[]> {
    const result = await this.#db.execute(sql`
      select cache_key from cache_key_registry where is_active and resource_id = ${resourceId}::uuid limit 10000`);
    return result.rows.map((r) => String((r as { cache_key: string }).cache_key));
  }

  async resourceKeysWithTags(tags: readonly string[], limit: number): Promise<string[]> {
    if (tags.length === 0) return [];
    // The GIN index on tags serves `&&`.
    const result = await this.#db.execute(sql`
      select id, resource_type from resources where tags && ${pgTextArray(tags)}::text[] limit ${limit}`);
    return result.rows.map((r) => {
      const row = r as { id: string; resource_type: ResourceType };
      return `${resourceSlug(row.resource_type)}:${row.id}`;
    });
  }

  async parentsOf(childIds: readonly string[]): Promise<Array<{ childId: string; id: string; type: ResourceType }>> {
    if (childIds.length === 0) return [];
    const result = await this.#db.execute(sql`
      select d.child_id, d.parent_id, r.resource_type
      from resource_dependencies d join resources r on r.id = d.parent_id
      where d.child_id = any(${`{${childIds.join(",")}}`}::uuid[])`);
    return result.rows.map((r) => {
      const row = r as { child_id: string; parent_id: string; resource_type: ResourceType };
      return { childId: row.child_id, id: row.parent_id, type: row.resource_type };
    });
  }
}

/** A Postgres text[] literal with every element quoted, so commas or braces in a tag stay data. */
export function pgTextArray(items: readonly string[]): string {
  return `{${items.map((t) => `"${t.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(",")}}`;
}

export interface NewInvalidation {
  id: string;
  type: InvalidationType;
  mode: InvalidationMode;
  keyPattern?: string | undefined;
  triggerEvent: TriggerEvent;
  triggerResource?: { type: ResourceType; id: string } | undefined;
  reason?: string | undefined;
  triggeredBy?: string | undefined;
  /** The request as submitted (target), for GET and for the audit trail. */
  details?: Record<string, unknown> | undefined;
}

/** `POST /v1/invalidations`: the row exists (PENDING) before the message is queued. */
export async function insertPendingInvalidation(db: HttpDb, row: NewInvalidation): Promise<void> {
  await db
    .insert(cacheInvalidationLog)
    .values({
      id: row.id,
      invalidationType: row.type,
      mode: row.mode,
      status: "PENDING",
      cacheKeyPattern: row.keyPattern ?? null,
      triggerEvent: row.triggerEvent,
      triggerResourceType: row.triggerResource?.type ?? null,
      triggerResourceId: row.triggerResource?.id ?? null,
      invalidationReason: row.reason ?? null,
      triggeredBy: row.triggeredBy ?? null,
      details: row.details ?? null,
    })
    .onConflictDoNothing();
}

/**
 * The fan-out takes an invalidation: inserts its row (events have none yet) or moves a PENDING or
 * retried RUNNING one to RUNNING. Resolves false when the row is already DONE: a redelivered
 * message, whose effect must not happen twice.
 */
export async function claimInvalidation(db: HttpDb, row: NewInvalidation, requestedAt: Date): Promise<boolean> {
  const result = await db.execute(sql`
    insert into cache_invalidation_log as l
      (id, invalidation_type, mode, status, cache_key_pattern, trigger_event, trigger_resource_type, trigger_resource_id,
       invalidation_reason, triggered_by, details, requested_at, started_at)
    values (${row.id}::uuid, ${row.type}::invalidation_type, ${row.mode}::invalidation_mode, 'RUNNING', ${row.keyPattern ?? null},
       ${row.triggerEvent}::trigger_event, ${row.triggerResource?.type ?? null}::resource_type, ${row.triggerResource?.id ?? null}::uuid,
       ${row.reason ?? null}, ${row.triggeredBy ?? null}::uuid, ${row.details ? JSON.stringify(row.details) : null}::jsonb,
       least(${requestedAt.toISOString()}::timestamptz, now()), now())
    on conflict (id) do update set status = 'RUNNING', started_at = coalesce(l.started_at, greatest(now(), l.requested_at)), error = null
      where l.status <> 'DONE'
    returning id`);
  return result.rows.length > 0;
}

export interface InvalidationOutcome {
  keys: readonly string[];
  /** Merged into the row's details (next to the request as submitted). */
  details: Record<string, unknown>;
  keyPattern?: string | undefined;
  type?: InvalidationType | undefined;
}

/** Completes a RUNNING row; a row some other delivery completed first is left as it is. */
export async function finishInvalidation(db: HttpDb, id: string, outcome: InvalidationOutcome): Promise<boolean> {
  const sample = outcome.keys.slice(0, LOGGED_KEYS_CAP);
  const result = await db.execute(sql`
    update cache_invalidation_log set
      status = 'DONE',
      completed_at = greatest(now(), started_at),
      invalidated_at = greatest(now(), started_at),
      keys_invalidated_count = ${outcome.keys.length},
      invalidated_keys = ${JSON.stringify(sample)}::jsonb,
      cache_key_pattern = coalesce(${outcome.keyPattern ?? null}, cache_key_pattern),
      invalidation_type = coalesce(${outcome.type ?? null}::invalidation_type, invalidation_type),
      details = coalesce(details, '{}'::jsonb) || ${JSON.stringify(outcome.details)}::jsonb
    where id = ${id}::uuid and status <> 'DONE'
    returning id`);
  return result.rows.length > 0;
}

/** The last attempt failed: the row says why (the message itself goes to the DLQ). */
export async function failInvalidation(db: HttpDb, id: string, error: string): Promise<void> {
  await db.execute(sql`
    update cache_invalidation_log set status = 'FAILED', error = ${error.slice(0, 2000)},
      completed_at = greatest(now(), coalesce(started_at, requested_at)), started_at = coalesce(started_at, requested_at)
    where id = ${id}::uuid and status <> 'DONE'`);
}

/** A row that found nothing to do (an event no strategy listens to) is not kept. */
export async function discardInvalidation(db: HttpDb, id: string): Promise<void> {
  await db.delete(cacheInvalidationLog).where(and(eq(cacheInvalidationLog.id, id), inArray(cacheInvalidationLog.status, ["PENDING", "RUNNING"])));
}

export interface InvalidationRecord {
  id: string;
  type: InvalidationType;
  mode: InvalidationMode;
  status: InvalidationStatus;
  keyPattern: string | null;
  keysInvalidated: number;
  keys: string[];
  triggerEvent: TriggerEvent;
  triggerResource: { type: string; id: string } | null;
  reason: string | null;
  triggeredBy: string | null;
  requestedAt: string;
  startedAt: string | null;
  completedAt: string | null;
  durationMs: number | null;
  details: Record<string, unknown> | null;
  error: string | null;
}

export async function getInvalidation(db: HttpDb, id: string): Promise<InvalidationRecord | undefined> {
  const [row] = await db.select().from(cacheInvalidationLog).where(eq(cacheInvalidationLog.id, id)).limit(1);
  if (!row) return undefined;
  const iso = (v: string | Date | null): string | null => (v === null ? null : new Date(v).toISOString());
  const requested = new Date(row.requestedAt).getTime();
  const completed = row.completedAt === null ? null : new Date(row.completedAt).getTime();
  return {
    id: row.id,
    type: row.invalidationType,
    mode: row.mode,
    status: row.status,
    keyPattern: row.cacheKeyPattern,
    keysInvalidated: row.keysInvalidatedCount,
    keys: row.invalidatedKeys ?? [],
    triggerEvent: row.triggerEvent,
    triggerResource: row.triggerResourceId && row.triggerResourceType ? { type: resourceSlug(row.triggerResourceType), id: row.triggerResourceId } : null,
    reason: row.invalidationReason,
    triggeredBy: row.triggeredBy,
    requestedAt: new Date(row.requestedAt).toISOString(),
    startedAt: iso(row.startedAt),
    completedAt: iso(row.completedAt),
    durationMs: completed === null ? null : completed - requested,
    details: row.details,
    error: row.error,
  };
}
