/**
 * The registry sweeper Lambda against real Postgres through the Neon bridge, invoked both
 * directly and as the local runner fires it from the single schedule definition.
 */
import type { Context, ScheduledEvent } from "aws-lambda";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { loadHandlers } from "../../dev/lambda-runner.ts";
import { SCHEDULES } from "../../functions/queues.ts";
import { createMigratedDatabase, type ScratchDatabase } from "../db/helpers.ts";

let scratch: ScratchDatabase;
let client: pg.Client;
let strategyId: string;

function scheduledEvent(time: Date): ScheduledEvent {
  return {
    version: "0",
    id: crypto.randomUUID(),
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account: "000000000000",
    time: time.toISOString(),
    region: "us-east-1",
    resources: [],
    detail: {},
  };
}

async function insertKeys(prefix: string, count: number, expiresInSeconds: number): Promise<void> {
  await client.query(
    `insert into cache_key_registry (cache_key, cache_strategy_id, resource_type, created_at, expires_at)
     select $1 || g, $2, 'WORKOUT', now() - interval '1 day', now() + make_interval(secs => $3)
     from generate_series(1, $4) g`,
    [prefix, strategyId, expiresInSeconds, count],
  );
}

async function activeCount(prefix: string): Promise<number> {
  const r = await client.query<{ n: number }>(
    "select count(*)::int as n from cache_key_registry where is_active and cache_key like $1 || '%'",
    [prefix],
  );
  return r.rows[0]?.n ?? -1;
}

beforeAll(async () => {
  scratch = await createMigratedDatabase();
  process.env.DATABASE_URL = scratch.url;
  process.env.NEON_BRIDGE_URL = inject("neonBridgeUrl");
  client = new pg.Client({ connectionString: scratch.url });
  await client.connect();
  const user = await client.query<{ id: string }>(
    "insert into users (email, display_name, role) values ('sweeper@test.strata.local', 'Sweeper test', 'ADMIN') returning id",
  );
  const layer = await client.query<{ id: string }>(
    `insert into cache_layer (layer_name, display_name, technology, cache_level, max_size_bytes, default_ttl_seconds,
       eviction_policy, connection_config, created_by)
     values ('L2_REDIS', 'Redis', 'REDIS', 2, 1073741824, 3600, 'LRU', '{}', $1) returning id`,
    [user.rows[0]?.id],
  );
  const strategy = await client.query<{ id: string }>(
    `insert into cache_strategy (strategy_name, resource_type, cache_key_pattern, cache_layer_id, ttl_seconds,
       cache_behavior, invalidation_strategy, created_by)
     values ('workouts', 'WORKOUT', 'workout:{id}', $1, 300, 'READ_THROUGH', 'TTL', $2) returning id`,
    [layer.rows[0]?.id, user.rows[0]?.id],
  );
  strategyId = strategy.rows[0]?.id ?? "";
});

afterAll(async () => {
  await client?.end();
  await scratch?.drop();
});

describe("registry sweeper", () => {
  it("deactivates expired keys in batches, logs TTL_EXPIRY, and leaves live keys alone", async () => {
    const { handler } = await import("../../functions/registry-sweeper/handler.ts");
    await insertKeys("expired:", 2_345, -60);
    await insertKeys("live:", 50, 3_600);

    const result = await handler(scheduledEvent(new Date()));
    expect(result).toEqual({ deactivated: 2_345, batches: 3 });
    expect(await activeCount("expired:")).toBe(0);
    expect(await activeCount("live:")).toBe(50);

    const log = await client.query<{ n: number; keys: number; type: string; trigger: string }>(
      `select keys_invalidated_count as n, jsonb_array_length(invalidated_keys) as keys,
              invalidation_type::text as type, trigger_event::text as trigger
       from cache_invalidation_log order by invalidated_at, keys_invalidated_count desc`,
    );
    expect(log.rows.map((r) => r.n)).toEqual([1_000, 1_000, 345]);
    expect(log.rows.every((r) => r.keys === r.n && r.type === "TTL_EXPIRY" && r.trigger === "SCHEDULED")).toBe(true);

    // Each row is a finished record: DONE and HARD by default, started and completed within the
    // sweep's own statement (now(), the transaction's time, so all three instants agree).
    const lifecycle = await client.query<{ status: string; mode: string; timed: boolean; error: string | null }>(
      `select status::text as status, mode::text as mode, error,
              started_at is not null and started_at = requested_at and completed_at = started_at as timed
       from cache_invalidation_log`,
    );
    expect(lifecycle.rows).toEqual(Array.from({ length: 3 }, () => ({ status: "DONE", mode: "HARD", timed: true, error: null })));

    // Nothing left to do: no work, no empty log rows.
    expect(await handler(scheduledEvent(new Date()))).toEqual({ deactivated: 0, batches: 0 });
    expect((await client.query("select 1 from cache_invalidation_log")).rowCount).toBe(3);
  });

  it("is what the runner fires for the registry-sweeper schedule", async () => {
    await insertKeys("expired-again:", 7, -1);
    const loaded = await loadHandlers({ schedules: SCHEDULES });
    expect(loaded.missing).toEqual([]);
    const sweeper = loaded.schedules.find((s) => s.definition.name === "registry-sweeper");
    expect(sweeper).toBeDefined();
    const result = await sweeper?.handler(scheduledEvent(new Date()), {} as Context);
    expect(result).toEqual({ deactivated: 7, batches: 1 });
  });
});
