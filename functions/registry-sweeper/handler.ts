/**
 * @module Scheduled sweep of the cache key registry: rows past `expires_at` are marked inactive
 * and each batch is recorded in the invalidation log as TTL_EXPIRY, so the registry reflects
 * what the tiers can still serve and the log explains why keys left it.
 */
import type { ScheduledEvent } from "aws-lambda";
import { sql } from "drizzle-orm";
import { functionsHttpDb } from "../db.ts";

/** Rows per statement: bounds the JSON key list written to one log row and the lock footprint. */
const BATCH = 1_000;
/** Batches per invocation, so one run stays well inside the Lambda timeout; the next run continues. */
const MAX_BATCHES = 20;

export interface SweepResult {
  deactivated: number;
  batches: number;
}

export async function sweepExpiredKeys(now: Date = new Date()): Promise<SweepResult> {
  const db = functionsHttpDb();
  let deactivated = 0;
  let batches = 0;
  while (batches < MAX_BATCHES) {
    // One statement deactivates and logs, so a crash can never leave one without the other.
    // SKIP LOCKED lets two overlapping sweeps split the work instead of waiting on each other.
    const result = await db.execute(sql`
      with due as (
        select id from cache_key_registry
        where is_active and expires_at <= ${now.toISOString()}::timestamptz
        order by expires_at
        limit ${BATCH}
        for update skip locked
      ), expired as (
        update cache_key_registry r set is_active = false
        from due where r.id = due.id
        returning r.cache_key
      ), logged as (
        insert into cache_invalidation_log
          (invalidation_type, invalidated_keys, keys_invalidated_count, trigger_event, invalidation_reason,
           started_at, completed_at)
        select 'TTL_EXPIRY', jsonb_agg(cache_key), count(*), 'SCHEDULED',
               'registry sweep: entries past expires_at', now(), now()
        from expired having count(*) > 0
        returning keys_invalidated_count
      )
      select coalesce((select keys_invalidated_count from logged), 0)::int as n
    `);
    const n = Number((result.rows[0] as { n: number | string } | undefined)?.n ?? 0);
    if (n === 0) break;
    deactivated += n;
    batches++;
    if (n < BATCH) break;
  }
  return { deactivated, batches };
}

export async function handler(event: ScheduledEvent): Promise<SweepResult> {
  const result = await sweepExpiredKeys(event.time ? new Date(event.time) : new Date());
  console.log(JSON.stringify({ level: "info", msg: "registry sweep", ...result }));
  return result;
}
