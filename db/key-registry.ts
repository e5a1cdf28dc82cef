/**
 * @module The Postgres side of the key registry buffer: one upsert statement per batch. Counts
 * add up, timestamps only move forward, and a re-registered key becomes active again.
 */
import { sql } from "drizzle-orm";
import type { RegistryDelta, RegistrySink } from "../core/key-registry.ts";
import type { HttpDb } from "./client.ts";

export function keyRegistrySink(db: HttpDb): RegistrySink {
  return {
    async upsert(rows: readonly RegistryDelta[]): Promise<void> {
      if (rows.length === 0) return;
      const payload = JSON.stringify(
        rows.map((r) => ({
          cache_key: r.cacheKey,
          cache_strategy_id: r.strategyId,
          resource_type: r.resourceType,
          resource_id: r.resourceId,
          data_size_bytes: r.dataSizeBytes,
          hit_count: r.hits,
          miss_count: r.misses,
          last_accessed: new Date(r.lastAccessed).toISOString(),
          expires_at: new Date(r.expiresAt ?? r.lastAccessed).toISOString(),
        })),
      );
      // created_at is set to the earlier of now and expiry-1ms so the expires-after-created CHECK
      // holds even for an entry that is already past its window when the batch lands.
      await db.execute(sql`
        insert into cache_key_registry as r
          (cache_key, cache_strategy_id, resource_type, resource_id, data_size_bytes, hit_count, miss_count,
           last_accessed, expires_at, created_at, is_active)
        select x.cache_key, x.cache_strategy_id, x.resource_type::resource_type, x.resource_id,
               coalesce(x.data_size_bytes, 0), x.hit_count, x.miss_count, x.last_accessed, x.expires_at,
               least(now(), x.expires_at - interval '1 millisecond'), x.expires_at > now()
        from jsonb_to_recordset(${payload}::jsonb) as x(
          cache_key varchar, cache_strategy_id uuid, resource_type text, resource_id uuid,
          data_size_bytes bigint, hit_count bigint, miss_count bigint, last_accessed timestamptz, expires_at timestamptz)
        on conflict (cache_key) do update set
          cache_strategy_id = excluded.cache_strategy_id,
          data_size_bytes = case when excluded.data_size_bytes > 0 then excluded.data_size_bytes else r.data_size_bytes end,
          hit_count = r.hit_count + excluded.hit_count,
          miss_count = r.miss_count + excluded.miss_count,
          last_accessed = greatest(r.last_accessed, excluded.last_accessed),
          expires_at = greatest(r.expires_at, excluded.expires_at),
          is_active = greatest(r.expires_at, excluded.expires_at) > now()
      `);
    },
  };
}
