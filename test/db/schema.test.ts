/**
 * Every table's constraints, exercised against a freshly migrated database:
 * each CHECK, enum, unique, NOT NULL and FK rejects a violating row with the
 * right SQLSTATE (and, where Postgres reports one, the right constraint name),
 * and a valid row is accepted. The last test reads every constraint and enum
 * from the catalog and fails for any that no test here saw reject a row.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  SQLSTATE,
  type Row,
  type ScratchDatabase,
  createMigratedDatabase,
  expectPgError,
  insert,
  json,
  rejectedBy,
} from "./helpers.ts";

const { checkViolation, invalidTextRepresentation, uniqueViolation, foreignKeyViolation, notNullViolation, restrictViolation } =
  SQLSTATE;
const restrictedDelete = [foreignKeyViolation, restrictViolation];

let scratch: ScratchDatabase;
let client: pg.Client;
let adminId: string;
let layerId: string;
let strategyId: string;

const MISSING_ID = "00000000-0000-4000-8000-000000000000";
const HOUR_MS = 3_600_000;
const at = (offsetHours: number): Date => new Date(Date.parse("2026-06-01T12:00:00Z") + offsetHours * HOUR_MS);

let counter = 0;
const uniq = (): string => `${process.pid}-${++counter}`;

const userRow = (over: Row = {}): Row => ({ email: `user-${uniq()}@strata.test`, display_name: "Test User", ...over });
const keyRow = (userId: string, over: Row = {}): Row => {
  const n = uniq().replace(/\D/g, "").padStart(8, "0").slice(-8);
  return {
    user_id: userId,
    name: "ci key",
    // The key format's prefix: exactly 8 of [a-z0-9] (core/auth/api-key.ts).
    key_prefix: `k${n.slice(-7)}`,
    key_hash: n.padEnd(64, "a"),
    role: "OPERATOR",
    ...over,
  };
};
const layerRow = (over: Row = {}): Row => ({
  layer_name: "L1_APPLICATION",
  display_name: "Isolate memory",
  technology: "MEMORY",
  cache_level: 1,
  max_size_bytes: 67_108_864,
  default_ttl_seconds: 60,
  eviction_policy: "LRU",
  connection_config: json({ maxEntries: 1000 }),
  created_by: adminId,
  ...over,
});
const strategyRow = (over: Row = {}): Row => ({
  strategy_name: `strategy-${uniq()}`,
  resource_type: "WORKOUT",
  cache_key_pattern: "workout:{id}",
  cache_layer_id: layerId,
  ttl_seconds: 3600,
  cache_behavior: "READ_THROUGH",
  invalidation_strategy: "EVENT_DRIVEN",
  created_by: adminId,
  ...over,
});
const keyRegistryRow = (over: Row = {}): Row => ({
  cache_key: `workout:${uniq()}`,
  cache_strategy_id: strategyId,
  resource_type: "WORKOUT",
  expires_at: new Date(Date.now() + HOUR_MS),
  ...over,
});
const metricRow = (over: Row = {}): Row => ({
  cache_layer_id: layerId,
  metric_type: "LATENCY",
  metric_value: 1.25,
  metric_unit: "ms",
  metric_date: "2026-06-01",
  metric_hour: counter++ % 24,
  ...over,
});
const invalidationRow = (over: Row = {}): Row => ({
  invalidation_type: "PATTERN_MATCH",
  cache_key_pattern: "workout:*",
  trigger_event: "RESOURCE_UPDATED",
  ...over,
});
const alertRow = (over: Row = {}): Row => ({
  cache_layer_id: layerId,
  alert_type: "LOW_HIT_RATE",
  severity: "WARNING",
  alert_message: "Hit rate fell below 85% for 10 minutes",
  threshold_value: 85,
  actual_value: 71.5,
  created_by: adminId,
  triggered_at: at(0),
  ...over,
});
const warmingRow = (over: Row = {}): Row => ({
  cache_strategy_id: strategyId,
  job_name: "nightly warm",
  warming_type: "SCHEDULED",
  scheduled_at: at(0),
  created_by: adminId,
  ...over,
});
const usageRow = (over: Row = {}): Row => ({
  cache_strategy_id: strategyId,
  resource_type: "WORKOUT",
  access_pattern: `read-heavy-${uniq()}`,
  peak_hour_start: 17,
  peak_hour_end: 21,
  average_hit_rate: 91.5,
  peak_hit_rate: 97.25,
  optimal_ttl_seconds: 7200,
  daily_requests: 1_000_000,
  daily_cache_hits: 915_000,
  analysis_date: "2026-06-01",
  ...over,
});
const recommendationRow = (over: Row = {}): Row => ({
  cache_strategy_id: strategyId,
  recommendation_type: "TTL_ADJUSTMENT",
  priority: "HIGH",
  recommendation_description: "Raise the TTL: 80% of entries expire unread.",
  current_configuration: json({ ttlSeconds: 3600 }),
  recommended_configuration: json({ ttlSeconds: 14400 }),
  estimated_improvement: 6.5,
  improvement_metric: "hit_rate_pct",
  created_by: adminId,
  created_at: at(0),
  ...over,
});
const resourceRow = (over: Row = {}): Row => ({
  resource_type: "EXERCISE",
  payload: json({ name: "Goblet Squat", primaryMuscles: ["quadriceps"] }),
  ...over,
});

const add = (table: string, row: Row) => insert(client, table, row);

beforeAll(async () => {
  scratch = await createMigratedDatabase();
  client = new pg.Client({ connectionString: scratch.url });
  await client.connect();
  adminId = String((await add("users", userRow({ role: "ADMIN" }))).id);
  layerId = String((await add("cache_layer", layerRow())).id);
  strategyId = String((await add("cache_strategy", strategyRow())).id);
});

afterAll(async () => {
  await client?.end();
  await scratch?.drop();
});

describe("users", () => {
  it("accepts a valid user with defaults", async () => {
    const row = await add("users", userRow());
    expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(row.role).toBe("VIEWER");
    expect(row.is_active).toBe(true);
    expect(row.created_at).toBeInstanceOf(Date);
  });

  it("rejects duplicate emails", async () => {
    const email = `dup-${uniq()}@strata.test`;
    await add("users", userRow({ email }));
    await expectPgError(add("users", userRow({ email })), uniqueViolation, "users_email_key");
  });

  it("rejects malformed or non-lower-case emails", async () => {
    await expectPgError(add("users", userRow({ email: "Mixed@Strata.Test" })), checkViolation, "users_email_format");
    await expectPgError(add("users", userRow({ email: "no-at-sign" })), checkViolation, "users_email_format");
    await expectPgError(add("users", userRow({ email: "@strata.test" })), checkViolation, "users_email_format");
  });

  it("rejects unknown roles, missing and blank names, and updated_at before created_at", async () => {
    await expectPgError(add("users", userRow({ role: "ROOT" })), invalidTextRepresentation);
    await expectPgError(add("users", userRow({ display_name: null })), notNullViolation);
    await expectPgError(add("users", userRow({ display_name: "  " })), checkViolation, "users_display_name_not_blank");
    await expectPgError(
      add("users", userRow({ created_at: at(1), updated_at: at(0) })),
      checkViolation,
      "users_updated_after_created",
    );
  });
});

describe("api_keys", () => {
  it("accepts a valid key and cascades when its user is deleted", async () => {
    const owner = await add("users", userRow());
    const key = await add("api_keys", keyRow(String(owner.id)));
    expect(key.revoked_at).toBeNull();
    await client.query("DELETE FROM users WHERE id = $1", [owner.id]);
    const { rowCount } = await client.query("SELECT 1 FROM api_keys WHERE id = $1", [key.id]);
    expect(rowCount).toBe(0);
  });

  it("rejects an unknown owner, unknown role and missing role", async () => {
    await expectPgError(add("api_keys", keyRow(MISSING_ID)), foreignKeyViolation, "api_keys_user_id_users_id_fk");
    await expectPgError(add("api_keys", keyRow(adminId, { role: "SUPERUSER" })), invalidTextRepresentation);
    await expectPgError(add("api_keys", keyRow(adminId, { role: null })), notNullViolation);
  });

  it("keeps prefixes and hashes unique", async () => {
    const first = await add("api_keys", keyRow(adminId));
    await expectPgError(
      add("api_keys", keyRow(adminId, { key_prefix: String(first.key_prefix) })),
      uniqueViolation,
      "api_keys_key_prefix_key",
    );
    await expectPgError(
      add("api_keys", keyRow(adminId, { key_hash: String(first.key_hash) })),
      uniqueViolation,
      "api_keys_key_hash_key",
    );
  });

  it("stores only a lower-case SHA-256 hex digest and a prefix of the key format", async () => {
    await expectPgError(add("api_keys", keyRow(adminId, { key_hash: "A".repeat(64) })), checkViolation, "api_keys_key_hash_hex");
    await expectPgError(add("api_keys", keyRow(adminId, { key_hash: "z".repeat(64) })), checkViolation, "api_keys_key_hash_hex");
    await expectPgError(add("api_keys", keyRow(adminId, { key_hash: "abc" })), checkViolation, "api_keys_key_hash_hex");
    for (const prefix of ["abc1234", "abcd12345", "ABCD1234", "abcd_123", "abcd-123", "abcd 123"]) {
      await expectPgError(add("api_keys", keyRow(adminId, { key_prefix: prefix })), checkViolation, "api_keys_key_prefix_format");
    }
    await expectPgError(add("api_keys", keyRow(adminId, { name: "" })), checkViolation, "api_keys_name_not_blank");
  });

  it("rejects revocation before creation and accepts a later one", async () => {
    await expectPgError(
      add("api_keys", keyRow(adminId, { created_at: at(1), revoked_at: at(0) })),
      checkViolation,
      "api_keys_revoked_after_created",
    );
    const revoked = await add("api_keys", keyRow(adminId, { created_at: at(0), revoked_at: at(2) }));
    expect(revoked.revoked_at).toEqual(at(2));
  });
});

describe("cache_layer", () => {
  it("accepts a valid layer whose TTL exceeds the seed's SMALLINT", async () => {
    const row = await add(
      "cache_layer",
      layerRow({
        layer_name: "L3_DATABASE",
        technology: "DATABASE",
        cache_level: 3,
        default_ttl_seconds: 86_400,
        max_size_bytes: 21_474_836_480,
        eviction_policy: "TTL",
        description: "d".repeat(500),
      }),
    );
    expect(row.is_distributed).toBe(false);
    expect(row.compression_enabled).toBe(false);
    expect(row.encryption_enabled).toBe(false);
    expect(row.is_active).toBe(true);
    expect(row.default_ttl_seconds).toBe(86_400);
  });

  it("keeps layer names unique and within the enum", async () => {
    await expectPgError(add("cache_layer", layerRow()), uniqueViolation, "cache_layer_layer_name_key");
    await expectPgError(add("cache_layer", layerRow({ layer_name: "L6_MOON" })), invalidTextRepresentation);
    await expectPgError(add("cache_layer", layerRow({ layer_name: "L2_REDIS", technology: "ETCD" })), invalidTextRepresentation);
    await expectPgError(add("cache_layer", layerRow({ layer_name: "L2_REDIS", eviction_policy: "MRU" })), invalidTextRepresentation);
  });

  it("enforces the seed's CHECKs", async () => {
    const l2 = (over: Row): Row => layerRow({ layer_name: "L2_REDIS", ...over });
    await expectPgError(add("cache_layer", l2({ cache_level: 0 })), checkViolation, "cache_layer_cache_level_range");
    await expectPgError(add("cache_layer", l2({ cache_level: 11 })), checkViolation, "cache_layer_cache_level_range");
    await expectPgError(add("cache_layer", l2({ max_size_bytes: 0 })), checkViolation, "cache_layer_max_size_positive");
    await expectPgError(add("cache_layer", l2({ default_ttl_seconds: 0 })), checkViolation, "cache_layer_default_ttl_positive");
    await expectPgError(add("cache_layer", l2({ description: "d".repeat(501) })), checkViolation, "cache_layer_description_length");
  });

  it("enforces the added CHECKs, NOT NULLs and FKs", async () => {
    const l2 = (over: Row): Row => layerRow({ layer_name: "L2_REDIS", ...over });
    await expectPgError(add("cache_layer", l2({ display_name: " " })), checkViolation, "cache_layer_display_name_not_blank");
    await expectPgError(add("cache_layer", l2({ connection_config: json([1]) })), checkViolation, "cache_layer_connection_config_object");
    await expectPgError(
      add("cache_layer", l2({ created_at: at(1), updated_at: at(0) })),
      checkViolation,
      "cache_layer_updated_after_created",
    );
    await expectPgError(add("cache_layer", l2({ connection_config: null })), notNullViolation);
    await expectPgError(add("cache_layer", l2({ created_by: null })), notNullViolation);
    await expectPgError(add("cache_layer", l2({ created_by: MISSING_ID })), foreignKeyViolation, "cache_layer_created_by_users_id_fk");
    await expectPgError(add("cache_layer", l2({ updated_by: MISSING_ID })), foreignKeyViolation, "cache_layer_updated_by_users_id_fk");
  });

  it("will not delete a user who created a layer, nor a layer a strategy uses", async () => {
    await expectPgError(client.query("DELETE FROM users WHERE id = $1", [adminId]), restrictedDelete);
    await expectPgError(
      client.query("DELETE FROM cache_layer WHERE id = $1", [layerId]),
      restrictedDelete,
      "cache_strategy_cache_layer_id_cache_layer_id_fk",
    );
  });
});

describe("cache_strategy", () => {
  it("accepts a valid strategy with a TTL over 9.1 hours", async () => {
    const row = await add(
      "cache_strategy",
      strategyRow({
        ttl_seconds: 86_400,
        cache_behavior: "REFRESH_AHEAD",
        invalidation_strategy: "DEPENDENCY_BASED",
        warming_enabled: true,
        warming_strategy: json({ source: "top-by-hits", limit: 100 }),
        strategy_configuration: json({ staleWhileRevalidateSeconds: 60, refreshAheadFraction: 0.8 }),
      }),
    );
    expect(row.ttl_seconds).toBe(86_400);
    expect(row.enable_compression).toBe(false);
  });

  it("keeps strategy names unique", async () => {
    const name = `unique-${uniq()}`;
    await add("cache_strategy", strategyRow({ strategy_name: name }));
    await expectPgError(add("cache_strategy", strategyRow({ strategy_name: name })), uniqueViolation, "cache_strategy_strategy_name_key");
  });

  it("rejects values outside the enums", async () => {
    await expectPgError(add("cache_strategy", strategyRow({ resource_type: "RECIPE" })), invalidTextRepresentation);
    await expectPgError(add("cache_strategy", strategyRow({ cache_behavior: "WRITE_AROUND" })), invalidTextRepresentation);
    await expectPgError(add("cache_strategy", strategyRow({ invalidation_strategy: "RANDOM" })), invalidTextRepresentation);
  });

  it("enforces CHECKs, NOT NULLs and FKs", async () => {
    await expectPgError(add("cache_strategy", strategyRow({ ttl_seconds: 0 })), checkViolation, "cache_strategy_ttl_positive");
    await expectPgError(add("cache_strategy", strategyRow({ strategy_name: "" })), checkViolation, "cache_strategy_name_not_blank");
    await expectPgError(
      add("cache_strategy", strategyRow({ cache_key_pattern: " " })),
      checkViolation,
      "cache_strategy_key_pattern_not_blank",
    );
    await expectPgError(
      add("cache_strategy", strategyRow({ warming_enabled: true })),
      checkViolation,
      "cache_strategy_warming_configured",
    );
    await expectPgError(
      add("cache_strategy", strategyRow({ strategy_configuration: json("fast") })),
      checkViolation,
      "cache_strategy_configuration_object",
    );
    await expectPgError(
      add("cache_strategy", strategyRow({ invalidation_rules: json([]) })),
      checkViolation,
      "cache_strategy_invalidation_rules_object",
    );
    await expectPgError(
      add("cache_strategy", strategyRow({ warming_strategy: json(["top-by-hits"]) })),
      checkViolation,
      "cache_strategy_warming_strategy_object",
    );
    await expectPgError(
      add("cache_strategy", strategyRow({ created_at: at(1), updated_at: at(0) })),
      checkViolation,
      "cache_strategy_updated_after_created",
    );
    await expectPgError(add("cache_strategy", strategyRow({ cache_key_pattern: null })), notNullViolation);
    await expectPgError(
      add("cache_strategy", strategyRow({ cache_layer_id: MISSING_ID })),
      foreignKeyViolation,
      "cache_strategy_cache_layer_id_cache_layer_id_fk",
    );
    await expectPgError(
      add("cache_strategy", strategyRow({ created_by: MISSING_ID })),
      foreignKeyViolation,
      "cache_strategy_created_by_users_id_fk",
    );
    await expectPgError(
      add("cache_strategy", strategyRow({ updated_by: MISSING_ID })),
      foreignKeyViolation,
      "cache_strategy_updated_by_users_id_fk",
    );
  });
});

describe("cache_key_registry", () => {
  it("accepts a valid key with counters beyond SMALLINT and BIGINT sizes", async () => {
    const row = await add(
      "cache_key_registry",
      keyRegistryRow({ hit_count: "5000000000", miss_count: 40_000, data_size_bytes: "3000000000", key_metadata: json({ v: 3 }) }),
    );
    expect(row.hit_count).toBe("5000000000");
    expect(row.is_active).toBe(true);
  });

  it("keeps cache keys unique", async () => {
    const key = `workout:dup-${uniq()}`;
    await add("cache_key_registry", keyRegistryRow({ cache_key: key }));
    await expectPgError(add("cache_key_registry", keyRegistryRow({ cache_key: key })), uniqueViolation, "cache_key_registry_cache_key_key");
  });

  it("enforces CHECKs, enum, NOT NULLs and FK", async () => {
    await expectPgError(add("cache_key_registry", keyRegistryRow({ hit_count: -1 })), checkViolation, "cache_key_registry_hit_count_nonnegative");
    await expectPgError(add("cache_key_registry", keyRegistryRow({ miss_count: -1 })), checkViolation, "cache_key_registry_miss_count_nonnegative");
    await expectPgError(
      add("cache_key_registry", keyRegistryRow({ data_size_bytes: -1 })),
      checkViolation,
      "cache_key_registry_data_size_nonnegative",
    );
    await expectPgError(
      add("cache_key_registry", keyRegistryRow({ created_at: at(1), expires_at: at(0) })),
      checkViolation,
      "cache_key_registry_expires_after_created",
    );
    await expectPgError(add("cache_key_registry", keyRegistryRow({ cache_key: "" })), checkViolation, "cache_key_registry_key_not_blank");
    await expectPgError(
      add("cache_key_registry", keyRegistryRow({ key_metadata: json([]) })),
      checkViolation,
      "cache_key_registry_metadata_object",
    );
    await expectPgError(add("cache_key_registry", keyRegistryRow({ resource_type: "PODCAST" })), invalidTextRepresentation);
    await expectPgError(add("cache_key_registry", keyRegistryRow({ expires_at: null })), notNullViolation);
    await expectPgError(
      add("cache_key_registry", keyRegistryRow({ cache_strategy_id: MISSING_ID })),
      foreignKeyViolation,
      "cache_key_registry_cache_strategy_id_cache_strategy_id_fk",
    );
  });

  it("drops a strategy's keys with the strategy", async () => {
    const strategy = await add("cache_strategy", strategyRow());
    const key = await add("cache_key_registry", keyRegistryRow({ cache_strategy_id: String(strategy.id) }));
    await client.query("DELETE FROM cache_strategy WHERE id = $1", [strategy.id]);
    expect((await client.query("SELECT 1 FROM cache_key_registry WHERE id = $1", [key.id])).rowCount).toBe(0);
  });
});

describe("cache_metrics", () => {
  it("accepts valid layer-wide and per-strategy metrics", async () => {
    await add("cache_metrics", metricRow({ metric_type: "HIT_RATE", metric_value: 100, metric_unit: "percent", metric_hour: null }));
    const row = await add(
      "cache_metrics",
      metricRow({ cache_strategy_id: strategyId, metric_type: "THROUGHPUT", metric_value: 125_000, metric_unit: "req/s" }),
    );
    expect(Number(row.metric_value)).toBe(125_000);
  });

  it("enforces cache_metric_period, also when strategy and hour are NULL", async () => {
    const period = metricRow({ metric_type: "EVICTION_COUNT", metric_unit: "count", metric_date: "2026-06-02", metric_hour: null });
    await add("cache_metrics", period);
    await expectPgError(add("cache_metrics", period), uniqueViolation, "cache_metric_period");
    const hourly = metricRow({ cache_strategy_id: strategyId, metric_date: "2026-06-02", metric_hour: 7 });
    await add("cache_metrics", hourly);
    await expectPgError(add("cache_metrics", hourly), uniqueViolation, "cache_metric_period");
    // A different hour of the same day is a different period.
    await add("cache_metrics", { ...hourly, metric_hour: 8 });
  });

  it("enforces CHECKs, enum, NOT NULLs and FKs", async () => {
    await expectPgError(add("cache_metrics", metricRow({ metric_hour: 24 })), checkViolation, "cache_metrics_hour_range");
    await expectPgError(add("cache_metrics", metricRow({ metric_hour: -1 })), checkViolation, "cache_metrics_hour_range");
    await expectPgError(add("cache_metrics", metricRow({ metric_value: -0.5 })), checkViolation, "cache_metrics_value_nonnegative");
    await expectPgError(
      add("cache_metrics", metricRow({ metric_type: "ERROR_RATE", metric_value: 100.01, metric_unit: "percent" })),
      checkViolation,
      "cache_metrics_rate_percentage",
    );
    await expectPgError(add("cache_metrics", metricRow({ metric_unit: "" })), checkViolation, "cache_metrics_unit_not_blank");
    await expectPgError(
      add("cache_metrics", metricRow({ additional_dimensions: json(["eu"]) })),
      checkViolation,
      "cache_metrics_dimensions_object",
    );
    await expectPgError(add("cache_metrics", metricRow({ metric_type: "CPU" })), invalidTextRepresentation);
    await expectPgError(add("cache_metrics", metricRow({ metric_date: null })), notNullViolation);
    await expectPgError(
      add("cache_metrics", metricRow({ cache_layer_id: MISSING_ID })),
      foreignKeyViolation,
      "cache_metrics_cache_layer_id_cache_layer_id_fk",
    );
    await expectPgError(
      add("cache_metrics", metricRow({ cache_strategy_id: MISSING_ID })),
      foreignKeyViolation,
      "cache_metrics_cache_strategy_id_cache_strategy_id_fk",
    );
  });
});

describe("cache_invalidation_log", () => {
  it("accepts a valid entry and outlives the user who triggered it", async () => {
    const operator = await add("users", userRow({ role: "OPERATOR" }));
    const row = await add(
      "cache_invalidation_log",
      invalidationRow({
        invalidation_type: "DEPENDENCY_CASCADE",
        cache_key_pattern: null,
        invalidated_keys: json(["workout:1", "program:7"]),
        keys_invalidated_count: 100_000,
        trigger_resource_id: MISSING_ID,
        trigger_resource_type: "EXERCISE",
        triggered_by: String(operator.id),
      }),
    );
    await client.query("DELETE FROM users WHERE id = $1", [operator.id]);
    const { rows } = await client.query("SELECT triggered_by FROM cache_invalidation_log WHERE id = $1", [row.id]);
    expect(rows[0]?.triggered_by).toBeNull();
  });

  it("takes an insert that names none of the request columns as a complete, hard invalidation", async () => {
    const before = new Date(Date.now() - 60_000);
    const row = await add("cache_invalidation_log", invalidationRow());
    expect(row.status).toBe("DONE");
    expect(row.mode).toBe("HARD");
    expect(row.requested_at).toBeInstanceOf(Date);
    expect((row.requested_at as Date).getTime()).toBeGreaterThan(before.getTime());
    expect(row).toMatchObject({ started_at: null, completed_at: null, details: null, error: null });
  });

  it("tracks an asynchronous request from PENDING through RUNNING to DONE or FAILED", async () => {
    const request = await add(
      "cache_invalidation_log",
      invalidationRow({
        invalidation_type: "TAG_BASED",
        cache_key_pattern: "program:7",
        trigger_event: "MANUAL",
        status: "PENDING",
        mode: "SOFT",
        requested_at: at(0),
      }),
    );
    expect(request).toMatchObject({ status: "PENDING", mode: "SOFT", requested_at: at(0), started_at: null });
    const step = (set: string, values: unknown[]) =>
      client.query(`UPDATE cache_invalidation_log SET ${set} WHERE id = $1 RETURNING *`, [request.id, ...values]);
    await step("status = 'RUNNING', started_at = $2", [at(0)]);
    // A failure must say why, also when a running request is moved to FAILED.
    await expectPgError(step("status = 'FAILED', completed_at = $2", [at(1)]), checkViolation, "cache_invalidation_log_error_required");
    const done = await step("status = 'DONE', completed_at = $2, keys_invalidated_count = 3, details = $3", [
      at(1),
      JSON.stringify({ tiers: { L1_APPLICATION: "ok", L2_REDIS: "ok" } }),
    ]);
    expect(done.rows[0]).toMatchObject({
      status: "DONE",
      started_at: at(0),
      completed_at: at(1),
      details: { tiers: { L1_APPLICATION: "ok", L2_REDIS: "ok" } },
    });

    const failed = await add(
      "cache_invalidation_log",
      invalidationRow({
        status: "FAILED",
        requested_at: at(0),
        started_at: at(1),
        completed_at: at(2),
        error: "e".repeat(2000),
      }),
    );
    expect(failed.error).toHaveLength(2000);
    // Failed before it ever started (e.g. the queue refused the message): no started_at needed.
    await add(
      "cache_invalidation_log",
      invalidationRow({ status: "FAILED", requested_at: at(0), completed_at: at(1), error: "enqueue failed" }),
    );
  });

  it("rejects values outside the enums", async () => {
    await expectPgError(add("cache_invalidation_log", invalidationRow({ invalidation_type: "NUKE" })), invalidTextRepresentation);
    await expectPgError(add("cache_invalidation_log", invalidationRow({ trigger_event: "COSMIC_RAY" })), invalidTextRepresentation);
    await expectPgError(
      add("cache_invalidation_log", invalidationRow({ trigger_resource_id: MISSING_ID, trigger_resource_type: "BLOG" })),
      invalidTextRepresentation,
    );
    await expectPgError(add("cache_invalidation_log", invalidationRow({ status: "CANCELLED" })), invalidTextRepresentation);
    await expectPgError(add("cache_invalidation_log", invalidationRow({ mode: "MEDIUM" })), invalidTextRepresentation);
  });

  it("keeps the request's times ordered, its details an object and its error bounded and present on failure", async () => {
    await expectPgError(
      add("cache_invalidation_log", invalidationRow({ requested_at: at(1), started_at: at(0) })),
      checkViolation,
      "cache_invalidation_log_started_after_requested",
    );
    await expectPgError(
      add("cache_invalidation_log", invalidationRow({ requested_at: at(0), started_at: at(2), completed_at: at(1) })),
      checkViolation,
      "cache_invalidation_log_completed_after_started",
    );
    await expectPgError(
      add("cache_invalidation_log", invalidationRow({ details: json(["L1_APPLICATION", "L2_REDIS"]) })),
      checkViolation,
      "cache_invalidation_log_details_object",
    );
    await expectPgError(
      add("cache_invalidation_log", invalidationRow({ status: "FAILED", error: "e".repeat(2001) })),
      checkViolation,
      "cache_invalidation_log_error_length",
    );
    await expectPgError(
      add("cache_invalidation_log", invalidationRow({ status: "FAILED", requested_at: at(0), completed_at: at(1) })),
      checkViolation,
      "cache_invalidation_log_error_required",
    );
    await expectPgError(add("cache_invalidation_log", invalidationRow({ status: null })), notNullViolation);
    await expectPgError(add("cache_invalidation_log", invalidationRow({ mode: null })), notNullViolation);
    await expectPgError(add("cache_invalidation_log", invalidationRow({ requested_at: null })), notNullViolation);
  });

  it("enforces CHECKs, NOT NULLs and FK", async () => {
    await expectPgError(
      add("cache_invalidation_log", invalidationRow({ invalidation_reason: "r".repeat(1001) })),
      checkViolation,
      "cache_invalidation_log_reason_length",
    );
    await expectPgError(
      add("cache_invalidation_log", invalidationRow({ keys_invalidated_count: -1 })),
      checkViolation,
      "cache_invalidation_log_count_nonnegative",
    );
    await expectPgError(
      add("cache_invalidation_log", invalidationRow({ invalidated_keys: json(["a", "b"]), keys_invalidated_count: 1 })),
      checkViolation,
      "cache_invalidation_log_keys_array",
    );
    await expectPgError(
      add("cache_invalidation_log", invalidationRow({ invalidated_keys: json({ a: 1 }), keys_invalidated_count: 1 })),
      checkViolation,
      "cache_invalidation_log_keys_array",
    );
    await expectPgError(
      add("cache_invalidation_log", invalidationRow({ invalidation_type: "SINGLE_KEY", cache_key_pattern: null })),
      checkViolation,
      "cache_invalidation_log_pattern_required",
    );
    await expectPgError(
      add("cache_invalidation_log", invalidationRow({ trigger_resource_id: MISSING_ID })),
      checkViolation,
      "cache_invalidation_log_resource_typed",
    );
    await expectPgError(add("cache_invalidation_log", invalidationRow({ trigger_event: null })), notNullViolation);
    await expectPgError(
      add("cache_invalidation_log", invalidationRow({ triggered_by: MISSING_ID })),
      foreignKeyViolation,
      "cache_invalidation_log_triggered_by_users_id_fk",
    );
  });
});

describe("cache_performance_alert", () => {
  it("accepts an alert through its lifecycle", async () => {
    const row = await add("cache_performance_alert", alertRow({ cache_strategy_id: strategyId, alert_context: json({ window: "10m" }) }));
    expect(row.alert_status).toBe("ACTIVE");
    await client.query(
      "UPDATE cache_performance_alert SET alert_status = 'ACKNOWLEDGED', acknowledged_by = $2, acknowledged_at = $3 WHERE id = $1",
      [row.id, adminId, at(1)],
    );
    await client.query("UPDATE cache_performance_alert SET alert_status = 'RESOLVED', resolved_at = $2 WHERE id = $1", [row.id, at(2)]);
    // Resolving without anyone acknowledging is fine too (auto-resolved).
    await add("cache_performance_alert", alertRow({ alert_status: "RESOLVED", resolved_at: at(3) }));
  });

  it("rejects values outside the enums", async () => {
    await expectPgError(add("cache_performance_alert", alertRow({ alert_type: "DISK_FULL" })), invalidTextRepresentation);
    await expectPgError(add("cache_performance_alert", alertRow({ severity: "APOCALYPTIC" })), invalidTextRepresentation);
    await expectPgError(add("cache_performance_alert", alertRow({ alert_status: "SNOOZED" })), invalidTextRepresentation);
  });

  it("keeps timestamps in lifecycle order and in step with the status", async () => {
    await expectPgError(
      add("cache_performance_alert", alertRow({ alert_status: "RESOLVED", resolved_at: at(-1) })),
      checkViolation,
      "cache_performance_alert_resolved_after_triggered",
    );
    await expectPgError(
      add("cache_performance_alert", alertRow({ alert_status: "ACKNOWLEDGED", acknowledged_at: at(-1) })),
      checkViolation,
      "cache_performance_alert_acknowledged_after_triggered",
    );
    await expectPgError(
      add("cache_performance_alert", alertRow({ alert_status: "RESOLVED" })),
      checkViolation,
      "cache_performance_alert_status_timestamps",
    );
    await expectPgError(
      add("cache_performance_alert", alertRow({ alert_status: "ACKNOWLEDGED" })),
      checkViolation,
      "cache_performance_alert_status_timestamps",
    );
    await expectPgError(
      add("cache_performance_alert", alertRow({ resolved_at: at(1) })),
      checkViolation,
      "cache_performance_alert_status_timestamps",
    );
    await expectPgError(
      add("cache_performance_alert", alertRow({ acknowledged_by: adminId })),
      checkViolation,
      "cache_performance_alert_acknowledger_has_time",
    );
  });

  it("enforces message length, NOT NULLs and FKs", async () => {
    await expectPgError(add("cache_performance_alert", alertRow({ alert_message: "" })), checkViolation, "cache_performance_alert_message_length");
    await expectPgError(
      add("cache_performance_alert", alertRow({ alert_message: "m".repeat(1001) })),
      checkViolation,
      "cache_performance_alert_message_length",
    );
    await expectPgError(add("cache_performance_alert", alertRow({ alert_context: json(1) })), checkViolation, "cache_performance_alert_context_object");
    await expectPgError(add("cache_performance_alert", alertRow({ threshold_value: null })), notNullViolation);
    await expectPgError(
      add("cache_performance_alert", alertRow({ cache_layer_id: MISSING_ID })),
      foreignKeyViolation,
      "cache_performance_alert_cache_layer_id_cache_layer_id_fk",
    );
    await expectPgError(
      add("cache_performance_alert", alertRow({ cache_strategy_id: MISSING_ID })),
      foreignKeyViolation,
      "cache_performance_alert_cache_strategy_id_cache_strategy_id_fk",
    );
    await expectPgError(
      add("cache_performance_alert", alertRow({ created_by: MISSING_ID })),
      foreignKeyViolation,
      "cache_performance_alert_created_by_users_id_fk",
    );
    await expectPgError(
      add(
        "cache_performance_alert",
        alertRow({ alert_status: "ACKNOWLEDGED", acknowledged_by: MISSING_ID, acknowledged_at: at(1) }),
      ),
      foreignKeyViolation,
      "cache_performance_alert_acknowledged_by_users_id_fk",
    );
  });
});

describe("cache_warming_job", () => {
  it("accepts jobs in every state with consistent fields", async () => {
    const pending = await add("cache_warming_job", warmingRow());
    expect(pending.job_status).toBe("PENDING");
    expect(Number(pending.progress_percentage)).toBe(0);
    await add("cache_warming_job", warmingRow({ warming_type: "ON_DEMAND", job_status: "RUNNING", started_at: at(0), total_keys: 100_000, warmed_keys: 40_000, progress_percentage: 40 }));
    await add(
      "cache_warming_job",
      warmingRow({
        warming_type: "POST_INVALIDATION",
        job_status: "COMPLETED",
        started_at: at(0),
        completed_at: at(12),
        duration_seconds: 43_200,
        total_keys: 50_000,
        warmed_keys: 49_990,
        failed_keys: 10,
        progress_percentage: 100,
      }),
    );
    await add("cache_warming_job", warmingRow({ warming_type: "PREDICTIVE", job_status: "FAILED", completed_at: at(1), failure_reason: "origin timeout" }));
    await add("cache_warming_job", warmingRow({ warming_type: "RECOVERY", job_status: "CANCELLED", completed_at: at(1) }));
  });

  it("rejects values outside the enums", async () => {
    await expectPgError(add("cache_warming_job", warmingRow({ warming_type: "LAZY" })), invalidTextRepresentation);
    await expectPgError(add("cache_warming_job", warmingRow({ job_status: "PAUSED" })), invalidTextRepresentation);
  });

  it("keeps counters consistent: warmed + failed <= total, none negative, progress 0-100", async () => {
    await expectPgError(
      add("cache_warming_job", warmingRow({ total_keys: 10, warmed_keys: 8, failed_keys: 3 })),
      checkViolation,
      "cache_warming_job_counts_within_total",
    );
    await expectPgError(
      add("cache_warming_job", warmingRow({ total_keys: 2_000_000_000, warmed_keys: 2_000_000_000, failed_keys: 2_000_000_000 })),
      checkViolation,
      "cache_warming_job_counts_within_total",
    );
    await expectPgError(add("cache_warming_job", warmingRow({ failed_keys: -1 })), checkViolation, "cache_warming_job_counts_nonnegative");
    await expectPgError(add("cache_warming_job", warmingRow({ progress_percentage: 100.5 })), checkViolation, "cache_warming_job_progress_range");
    await expectPgError(add("cache_warming_job", warmingRow({ progress_percentage: -1 })), checkViolation, "cache_warming_job_progress_range");
  });

  it("keeps timestamps ordered and in step with the status", async () => {
    await expectPgError(
      add("cache_warming_job", warmingRow({ job_status: "COMPLETED", started_at: at(2), completed_at: at(1) })),
      checkViolation,
      "cache_warming_job_completed_after_started",
    );
    await expectPgError(add("cache_warming_job", warmingRow({ job_status: "RUNNING" })), checkViolation, "cache_warming_job_status_timestamps");
    await expectPgError(add("cache_warming_job", warmingRow({ started_at: at(0) })), checkViolation, "cache_warming_job_status_timestamps");
    await expectPgError(
      add("cache_warming_job", warmingRow({ job_status: "FAILED", completed_at: at(1) })),
      checkViolation,
      "cache_warming_job_status_timestamps",
    );
    await expectPgError(
      add("cache_warming_job", warmingRow({ job_status: "COMPLETED", completed_at: at(1) })),
      checkViolation,
      "cache_warming_job_status_timestamps",
    );
    await expectPgError(add("cache_warming_job", warmingRow({ duration_seconds: -5 })), checkViolation, "cache_warming_job_duration_nonnegative");
  });

  it("enforces text limits, NOT NULLs and FKs", async () => {
    await expectPgError(add("cache_warming_job", warmingRow({ job_name: "" })), checkViolation, "cache_warming_job_name_not_blank");
    await expectPgError(
      add("cache_warming_job", warmingRow({ job_status: "FAILED", completed_at: at(1), failure_reason: "f".repeat(1001) })),
      checkViolation,
      "cache_warming_job_failure_reason_length",
    );
    await expectPgError(
      add("cache_warming_job", warmingRow({ job_configuration: json([]) })),
      checkViolation,
      "cache_warming_job_configuration_object",
    );
    await expectPgError(add("cache_warming_job", warmingRow({ scheduled_at: null })), notNullViolation);
    await expectPgError(
      add("cache_warming_job", warmingRow({ cache_strategy_id: MISSING_ID })),
      foreignKeyViolation,
      "cache_warming_job_cache_strategy_id_cache_strategy_id_fk",
    );
    await expectPgError(
      add("cache_warming_job", warmingRow({ created_by: MISSING_ID })),
      foreignKeyViolation,
      "cache_warming_job_created_by_users_id_fk",
    );
  });
});

describe("cache_usage_pattern", () => {
  it("accepts a valid pattern, including a peak that wraps midnight", async () => {
    await add("cache_usage_pattern", usageRow());
    await add("cache_usage_pattern", usageRow({ peak_hour_start: 22, peak_hour_end: 2, optimal_ttl_seconds: 172_800 }));
  });

  it("keeps one analysis per strategy, access pattern and day", async () => {
    const row = usageRow();
    await add("cache_usage_pattern", row);
    await expectPgError(add("cache_usage_pattern", row), uniqueViolation, "cache_usage_pattern_period");
    await add("cache_usage_pattern", { ...row, analysis_date: "2026-06-02" });
  });

  it("enforces hours, rates, counters, enum, NOT NULLs and FK", async () => {
    await expectPgError(add("cache_usage_pattern", usageRow({ peak_hour_start: 24 })), checkViolation, "cache_usage_pattern_peak_hours_range");
    await expectPgError(add("cache_usage_pattern", usageRow({ peak_hour_end: -1 })), checkViolation, "cache_usage_pattern_peak_hours_range");
    await expectPgError(add("cache_usage_pattern", usageRow({ average_hit_rate: 100.5 })), checkViolation, "cache_usage_pattern_hit_rates_range");
    await expectPgError(add("cache_usage_pattern", usageRow({ peak_hit_rate: -2 })), checkViolation, "cache_usage_pattern_hit_rates_range");
    await expectPgError(add("cache_usage_pattern", usageRow({ optimal_ttl_seconds: 0 })), checkViolation, "cache_usage_pattern_optimal_ttl_positive");
    await expectPgError(
      add("cache_usage_pattern", usageRow({ daily_requests: 10, daily_cache_hits: 11 })),
      checkViolation,
      "cache_usage_pattern_hits_within_requests",
    );
    await expectPgError(add("cache_usage_pattern", usageRow({ access_pattern: "" })), checkViolation, "cache_usage_pattern_access_pattern_not_blank");
    await expectPgError(add("cache_usage_pattern", usageRow({ resource_type: "NEWS" })), invalidTextRepresentation);
    await expectPgError(add("cache_usage_pattern", usageRow({ analysis_date: null })), notNullViolation);
    await expectPgError(
      add("cache_usage_pattern", usageRow({ cache_strategy_id: MISSING_ID })),
      foreignKeyViolation,
      "cache_usage_pattern_cache_strategy_id_cache_strategy_id_fk",
    );
  });
});

describe("cache_optimization_recommendation", () => {
  it("accepts recommendations in every state with consistent fields", async () => {
    const pending = await add("cache_optimization_recommendation", recommendationRow());
    expect(pending.implementation_status).toBe("PENDING");
    await add("cache_optimization_recommendation", recommendationRow({ recommendation_type: "SIZE_ADJUSTMENT", implementation_status: "APPROVED", approved_by: adminId, approved_at: at(1) }));
    await add("cache_optimization_recommendation", recommendationRow({ recommendation_type: "EVICTION_POLICY_CHANGE", implementation_status: "REJECTED", approved_by: adminId, approved_at: at(1) }));
    await add(
      "cache_optimization_recommendation",
      recommendationRow({
        recommendation_type: "COMPRESSION_CHANGE",
        implementation_status: "IMPLEMENTED",
        approved_by: adminId,
        approved_at: at(1),
        implemented_at: at(2),
        implementation_notes: "n".repeat(2000),
      }),
    );
    await add(
      "cache_optimization_recommendation",
      recommendationRow({ recommendation_type: "BEHAVIOR_CHANGE", priority: "CRITICAL", implementation_status: "ROLLED_BACK", approved_at: at(1), implemented_at: at(2) }),
    );
  });

  it("rejects values outside the enums", async () => {
    await expectPgError(add("cache_optimization_recommendation", recommendationRow({ recommendation_type: "SHARDING" })), invalidTextRepresentation);
    await expectPgError(add("cache_optimization_recommendation", recommendationRow({ priority: "URGENT" })), invalidTextRepresentation);
    await expectPgError(add("cache_optimization_recommendation", recommendationRow({ implementation_status: "DONE" })), invalidTextRepresentation);
  });

  it("keeps approval and implementation ordered and in step with the status", async () => {
    await expectPgError(
      add("cache_optimization_recommendation", recommendationRow({ implementation_status: "IMPLEMENTED", implemented_at: at(2) })),
      checkViolation,
      "cache_optimization_recommendation_status_timestamps",
    );
    await expectPgError(
      add("cache_optimization_recommendation", recommendationRow({ implementation_status: "APPROVED", approved_at: at(-1) })),
      checkViolation,
      "cache_optimization_recommendation_approved_after_created",
    );
    await expectPgError(
      add(
        "cache_optimization_recommendation",
        recommendationRow({ implementation_status: "IMPLEMENTED", approved_at: at(2), implemented_at: at(1) }),
      ),
      checkViolation,
      "cache_optimization_recommendation_implemented_after_approved",
    );
    await expectPgError(
      add("cache_optimization_recommendation", recommendationRow({ approved_by: adminId })),
      checkViolation,
      "cache_optimization_recommendation_approver_has_time",
    );
    await expectPgError(
      add("cache_optimization_recommendation", recommendationRow({ approved_at: at(1) })),
      checkViolation,
      "cache_optimization_recommendation_status_timestamps",
    );
  });

  it("enforces text limits, JSON shapes, NOT NULLs and FKs", async () => {
    await expectPgError(
      add("cache_optimization_recommendation", recommendationRow({ recommendation_description: "d".repeat(1001) })),
      checkViolation,
      "cache_optimization_recommendation_description_length",
    );
    await expectPgError(
      add("cache_optimization_recommendation", recommendationRow({ implementation_notes: "n".repeat(2001) })),
      checkViolation,
      "cache_optimization_recommendation_notes_length",
    );
    await expectPgError(
      add("cache_optimization_recommendation", recommendationRow({ recommended_configuration: json([3600]) })),
      checkViolation,
      "cache_optimization_recommendation_configurations_object",
    );
    await expectPgError(
      add("cache_optimization_recommendation", recommendationRow({ estimated_improvement: -1 })),
      checkViolation,
      "cache_optimization_recommendation_improvement_nonnegative",
    );
    await expectPgError(
      add("cache_optimization_recommendation", recommendationRow({ improvement_metric: " " })),
      checkViolation,
      "cache_optimization_recommendation_metric_not_blank",
    );
    await expectPgError(add("cache_optimization_recommendation", recommendationRow({ current_configuration: null })), notNullViolation);
    await expectPgError(
      add("cache_optimization_recommendation", recommendationRow({ cache_strategy_id: MISSING_ID })),
      foreignKeyViolation,
      "cache_optimization_recommendation_strategy_fk",
    );
    await expectPgError(
      add(
        "cache_optimization_recommendation",
        recommendationRow({ implementation_status: "APPROVED", approved_by: MISSING_ID, approved_at: at(1) }),
      ),
      foreignKeyViolation,
      "cache_optimization_recommendation_approved_by_users_id_fk",
    );
    await expectPgError(
      add("cache_optimization_recommendation", recommendationRow({ created_by: MISSING_ID })),
      foreignKeyViolation,
      "cache_optimization_recommendation_created_by_users_id_fk",
    );
  });
});

describe("resources", () => {
  it("accepts a valid resource with defaults and finds it by tag", async () => {
    const row = await add("resources", resourceRow({ tags: `{exercise,muscle:quadriceps,run-${process.pid}}` }));
    expect(row.version).toBe("1");
    expect(row.deleted_at).toBeNull();
    const bare = await add("resources", resourceRow());
    expect(bare.tags).toEqual([]);
    const { rows } = await client.query("SELECT id FROM resources WHERE tags @> $1::text[]", [[`run-${process.pid}`]]);
    expect(rows.map((r: { id: string }) => r.id)).toEqual([row.id]);
  });

  it("enforces version, payload shape, tags, timestamps, enum and NOT NULLs", async () => {
    await expectPgError(add("resources", resourceRow({ version: 0 })), checkViolation, "resources_version_positive");
    await expectPgError(add("resources", resourceRow({ payload: json(["not", "an", "object"]) })), checkViolation, "resources_payload_object");
    await expectPgError(add("resources", resourceRow({ tags: "{a,NULL}" })), checkViolation, "resources_tags_no_nulls");
    await expectPgError(
      add("resources", resourceRow({ created_at: at(1), updated_at: at(0) })),
      checkViolation,
      "resources_updated_after_created",
    );
    await expectPgError(
      add("resources", resourceRow({ created_at: at(1), updated_at: at(1), deleted_at: at(0) })),
      checkViolation,
      "resources_deleted_after_created",
    );
    await expectPgError(add("resources", resourceRow({ resource_type: "RECIPE" })), invalidTextRepresentation);
    await expectPgError(add("resources", resourceRow({ payload: null })), notNullViolation);
    await expectPgError(add("resources", resourceRow({ tags: null })), notNullViolation);
  });
});

describe("resource_dependencies", () => {
  it("accepts an edge, rejects a duplicate, and cascades with the resource", async () => {
    const workout = await add("resources", resourceRow({ resource_type: "WORKOUT", payload: json({ name: "Engine" }) }));
    const exercise = await add("resources", resourceRow());
    const edge = await add("resource_dependencies", { parent_id: String(workout.id), child_id: String(exercise.id) });
    expect(edge.relation).toBe("CONTAINS");
    await expectPgError(
      add("resource_dependencies", { parent_id: String(workout.id), child_id: String(exercise.id), relation: "MEDIA" }),
      uniqueViolation,
      "resource_dependencies_pkey",
    );
    await client.query("DELETE FROM resources WHERE id = $1", [exercise.id]);
    expect((await client.query("SELECT 1 FROM resource_dependencies WHERE parent_id = $1", [workout.id])).rowCount).toBe(0);
  });

  it("rejects self edges, bad relations, dangling ends and NULLs", async () => {
    const a = String((await add("resources", resourceRow())).id);
    const b = String((await add("resources", resourceRow())).id);
    await expectPgError(add("resource_dependencies", { parent_id: a, child_id: a }), checkViolation, "resource_dependencies_no_self_edge");
    await expectPgError(
      add("resource_dependencies", { parent_id: a, child_id: b, relation: "contains" }),
      checkViolation,
      "resource_dependencies_relation_format",
    );
    await expectPgError(
      add("resource_dependencies", { parent_id: MISSING_ID, child_id: b }),
      foreignKeyViolation,
      "resource_dependencies_parent_id_resources_id_fk",
    );
    await expectPgError(
      add("resource_dependencies", { parent_id: a, child_id: MISSING_ID }),
      foreignKeyViolation,
      "resource_dependencies_child_id_resources_id_fk",
    );
    await expectPgError(add("resource_dependencies", { parent_id: a, child_id: null }), notNullViolation);
    // The valid edge stays, so the primary-key check below has a row to duplicate.
    await add("resource_dependencies", { parent_id: a, child_id: b, relation: "MEDIA" });
  });
});

describe("catalog", () => {
  it("has every index of the seed, partial ones with their predicates", async () => {
    const { rows } = await client.query<{ indexname: string; indexdef: string }>(
      "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
    );
    const defs = new Map(rows.map((r) => [r.indexname, r.indexdef]));
    const expected: Record<string, RegExp> = {
      idx_cache_layer_level: /\(cache_level, is_active\)$/,
      idx_cache_strategy_resource: /\(resource_type, is_active\)$/,
      idx_cache_strategy_layer: /\(cache_layer_id, cache_behavior\)$/,
      idx_cache_key_strategy: /\(cache_strategy_id, is_active\)$/,
      idx_cache_key_expires: /\(expires_at\) WHERE \(is_active = true\)$/,
      idx_cache_key_resource: /\(resource_type, resource_id\) WHERE \(resource_id IS NOT NULL\)$/,
      idx_cache_key_accessed: /\(last_accessed DESC\) WHERE \(last_accessed IS NOT NULL\)$/,
      idx_cache_metrics_layer: /\(cache_layer_id, metric_type, metric_date DESC\)$/,
      idx_cache_metrics_strategy: /\(cache_strategy_id, metric_type, metric_date DESC\) WHERE \(cache_strategy_id IS NOT NULL\)$/,
      cache_metric_period: /UNIQUE INDEX .*\(cache_layer_id, cache_strategy_id, metric_type, metric_date, metric_hour\) NULLS NOT DISTINCT$/,
      idx_cache_invalidation_type: /\(invalidation_type, invalidated_at DESC\)$/,
      idx_cache_invalidation_trigger: /\(trigger_event, trigger_resource_type, invalidated_at DESC\)$/,
      idx_cache_invalidation_open:
        /\(status, requested_at\) WHERE \(status = ANY \(ARRAY\['PENDING'::invalidation_status, 'RUNNING'::invalidation_status\]\)\)$/,
      idx_api_keys_active_prefix: /\(key_prefix\) WHERE \(revoked_at IS NULL\)$/,
      // Worst first: alert_severity sorts INFO < WARNING < CRITICAL.
      idx_cache_alert_open: /\(severity DESC, triggered_at DESC\) WHERE \(alert_status <> 'RESOLVED'::alert_status\)$/,
      idx_resources_tags: /USING gin \(tags\)$/,
      idx_resources_type_id: /\(resource_type, id\) WHERE \(deleted_at IS NULL\)$/,
      idx_resource_dependencies_child: /\(child_id\)$/,
    };
    for (const [name, pattern] of Object.entries(expected)) {
      expect(defs.get(name), name).toMatch(pattern);
    }
  });

  it("uses timestamptz for every instant and wide integers for counters and TTLs", async () => {
    const { rows } = await client.query<{ table_name: string; column_name: string; data_type: string }>(
      "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public'",
    );
    const type = (table: string, column: string): string | undefined =>
      rows.find((r) => r.table_name === table && r.column_name === column)?.data_type;
    expect(rows.filter((r) => r.data_type === "timestamp without time zone")).toEqual([]);
    expect(type("cache_layer", "default_ttl_seconds")).toBe("integer");
    expect(type("cache_strategy", "ttl_seconds")).toBe("integer");
    expect(type("cache_key_registry", "hit_count")).toBe("bigint");
    expect(type("cache_key_registry", "miss_count")).toBe("bigint");
    expect(type("cache_invalidation_log", "keys_invalidated_count")).toBe("integer");
    expect(type("cache_warming_job", "total_keys")).toBe("integer");
    expect(type("cache_warming_job", "duration_seconds")).toBe("integer");
    expect(type("cache_usage_pattern", "optimal_ttl_seconds")).toBe("integer");
    expect(type("cache_layer", "cache_level")).toBe("smallint");
    expect(type("cache_metrics", "metric_hour")).toBe("smallint");
  });
});

// Must stay last: it checks what the tests above recorded (vitest runs a file's tests in order).
describe("coverage", () => {
  it("rejects a duplicate of an existing row under every table's primary key", async () => {
    const { rows } = await client.query<{ conname: string; statement: string }>(`
      SELECT c.conname, format('INSERT INTO %I.%I SELECT * FROM %I.%I LIMIT 1', n.nspname, t.relname, n.nspname, t.relname) AS statement
      FROM pg_constraint c
      JOIN pg_class t ON t.oid = c.conrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = 'public' AND c.contype = 'p'
      ORDER BY t.relname`);
    expect(rows.length).toBeGreaterThan(0);
    for (const { conname, statement } of rows) {
      // An empty table inserts nothing and fails here: every table needs a test that adds a valid row.
      await expectPgError(client.query(statement), uniqueViolation, conname);
    }
  });

  it("has seen every constraint and enum of the schema reject a row", async () => {
    const constraints = await client.query<{ table: string; conname: string; contype: string }>(`
      SELECT t.relname AS table, c.conname, c.contype
      FROM pg_constraint c
      JOIN pg_namespace n ON n.oid = c.connamespace
      LEFT JOIN pg_class t ON t.oid = c.conrelid
      WHERE n.nspname = 'public' AND c.contype IN ('c', 'f', 'u', 'p', 'x')
      ORDER BY 1, 2`);
    const enums = await client.query<{ typname: string }>(`
      SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = 'public' AND t.typtype = 'e'
      ORDER BY 1`);
    // Guards against a catalog query that silently matches nothing.
    expect(constraints.rows.length).toBeGreaterThan(100);
    expect(enums.rows).toHaveLength(20);

    const untestedConstraints = constraints.rows
      .filter((c) => !rejectedBy.constraints.has(c.conname))
      .map((c) => `${c.table}.${c.conname} (contype ${c.contype})`);
    const untestedEnums = enums.rows.map((e) => e.typname).filter((name) => !rejectedBy.enums.has(name));
    // One assertion, so a failure lists both kinds at once.
    expect(
      { untestedConstraints, untestedEnums },
      "every constraint needs a test that sees it reject a row, every enum one that sees it refuse a value",
    ).toEqual({ untestedConstraints: [], untestedEnums: [] });
  });
});
