/**
 * @module The five core tables of seed 001: layers, strategies, the key
 * registry, metrics and the invalidation log.
 *
 * Deviations from the seed (wider integers, timestamptz, extra CHECKs, FK
 * delete rules, NULLS NOT DISTINCT, the invalidation log's request columns)
 * are listed with their reasons in docs/data-model.md.
 */
import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  date,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  smallint,
  text,
  unique,
  uuid,
  varchar,
} from "drizzle-orm/pg-core";
import { timestamptz } from "./columns.ts";
import {
  cacheBehavior,
  cacheTechnology,
  evictionPolicy,
  invalidationMode,
  invalidationStatus,
  invalidationStrategy,
  invalidationType,
  layerName,
  metricType,
  resourceType,
  triggerEvent,
} from "./enums.ts";
import { users } from "./users.ts";

export const cacheLayers = pgTable(
  "cache_layer",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    layerName: layerName("layer_name").notNull().unique("cache_layer_layer_name_key"),
    displayName: varchar("display_name", { length: 255 }).notNull(),
    description: text("description"),
    technology: cacheTechnology("technology").notNull(),
    cacheLevel: smallint("cache_level").notNull(),
    maxSizeBytes: bigint("max_size_bytes", { mode: "number" }).notNull(),
    defaultTtlSeconds: integer("default_ttl_seconds").notNull(),
    evictionPolicy: evictionPolicy("eviction_policy").notNull(),
    connectionConfig: jsonb("connection_config").$type<Record<string, unknown>>().notNull(),
    isDistributed: boolean("is_distributed").notNull().default(false),
    compressionEnabled: boolean("compression_enabled").notNull().default(false),
    encryptionEnabled: boolean("encryption_enabled").notNull().default(false),
    createdBy: uuid("created_by")
      .notNull()
      .references(() => users.id, { onDelete: "restrict" }),
    updatedBy: uuid("updated_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    updatedAt: timestamptz("updated_at").notNull().defaultNow(),
    isActive: boolean("is_active").notNull().default(true),
  },
  (t) => [
    check("cache_layer_description_length", sql`char_length(${t.description}) <= 500`),
    check("cache_layer_cache_level_range", sql`${t.cacheLevel} BETWEEN 1 AND 10`),
    check("cache_layer_max_size_positive", sql`${t.maxSizeBytes} > 0`),
    check("cache_layer_default_ttl_positive", sql`${t.defaultTtlSeconds} > 0`),
    check("cache_layer_display_name_not_blank", sql`btrim(${t.displayName}) <> ''`),
    check("cache_layer_connection_config_object", sql`jsonb_typeof(${t.connectionConfig}) = 'object'`),
    check("cache_layer_updated_after_created", sql`${t.updatedAt} >= ${t.createdAt}`),
    index("idx_cache_layer_level").on(t.cacheLevel.asc(), t.isActive),
  ],
);

export const cacheStrategies = pgTable(
  "cache_strategy",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    strategyName: varchar("strategy_name", { length: 100 }).notNull().unique("cache_strategy_strategy_name_key"),
    resourceType: resourceType("resource_type").notNull(),
    cacheKeyPattern: varchar("cache_key_pattern", { length: 200 }).notNull(),
    // A layer in use by a strategy cannot vanish underneath it.
    cacheLayerId: uuid("cache_layer_id")
      .notNull()
      .references(() => cacheLayers.id, { onDelete: "restrict" }),
    ttlSeconds: integer("ttl_seconds").notNull(),
    cacheBehavior: cacheBehavior("cache_behavior").notNull(),
    warmingEnabled: boolean("warming_enabled").notNull().default(false),
    warmingStrategy: jsonb("warming_strategy").$type<Record<string, unknown>>(),
    invalidationStrategy: invalidationStrategy("invalidation_strategy").notNull(),
    invalidationRules: jsonb("invalidation_rules").$type<Record<string, unknown>>(),
    enableCompression: boolean("enable_compression").notNull().default(false),
    enableEncryption: boolean("enable_encryption").notNull().default(false),
    strategyConfiguration: jsonb("strategy_configuration").$type<Record<string, unknown>>(),
    createdBy: uuid("created_by")
      .notNull()
      .references(() => users.id, { onDelete: "restrict" }),
    updatedBy: uuid("updated_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    updatedAt: timestamptz("updated_at").notNull().defaultNow(),
    isActive: boolean("is_active").notNull().default(true),
  },
  (t) => [
    check("cache_strategy_ttl_positive", sql`${t.ttlSeconds} > 0`),
    check("cache_strategy_name_not_blank", sql`btrim(${t.strategyName}) <> ''`),
    check("cache_strategy_key_pattern_not_blank", sql`btrim(${t.cacheKeyPattern}) <> ''`),
    // Warming with nothing describing what to warm would silently do nothing.
    check(
      "cache_strategy_warming_configured",
      sql`NOT ${t.warmingEnabled} OR ${t.warmingStrategy} IS NOT NULL`,
    ),
    check("cache_strategy_warming_strategy_object", sql`jsonb_typeof(${t.warmingStrategy}) = 'object'`),
    check("cache_strategy_invalidation_rules_object", sql`jsonb_typeof(${t.invalidationRules}) = 'object'`),
    check(
      "cache_strategy_configuration_object",
      sql`jsonb_typeof(${t.strategyConfiguration}) = 'object'`,
    ),
    check("cache_strategy_updated_after_created", sql`${t.updatedAt} >= ${t.createdAt}`),
    index("idx_cache_strategy_resource").on(t.resourceType, t.isActive),
    index("idx_cache_strategy_layer").on(t.cacheLayerId, t.cacheBehavior),
  ],
);

export const cacheKeyRegistry = pgTable(
  "cache_key_registry",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    cacheKey: varchar("cache_key", { length: 500 }).notNull().unique("cache_key_registry_cache_key_key"),
    // Registry rows describe keys of a strategy; without it they mean nothing.
    cacheStrategyId: uuid("cache_strategy_id")
      .notNull()
      .references(() => cacheStrategies.id, { onDelete: "cascade" }),
    resourceType: resourceType("resource_type").notNull(),
    // Deliberately no FK: keys may cache origin data that lives outside `resources`.
    resourceId: uuid("resource_id"),
    keyMetadata: jsonb("key_metadata").$type<Record<string, unknown>>(),
    dataSizeBytes: bigint("data_size_bytes", { mode: "number" }).notNull().default(0),
    hitCount: bigint("hit_count", { mode: "number" }).notNull().default(0),
    missCount: bigint("miss_count", { mode: "number" }).notNull().default(0),
    lastAccessed: timestamptz("last_accessed"),
    expiresAt: timestamptz("expires_at").notNull(),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    isActive: boolean("is_active").notNull().default(true),
  },
  (t) => [
    check("cache_key_registry_key_not_blank", sql`btrim(${t.cacheKey}) <> ''`),
    check("cache_key_registry_data_size_nonnegative", sql`${t.dataSizeBytes} >= 0`),
    check("cache_key_registry_hit_count_nonnegative", sql`${t.hitCount} >= 0`),
    check("cache_key_registry_miss_count_nonnegative", sql`${t.missCount} >= 0`),
    check("cache_key_registry_expires_after_created", sql`${t.expiresAt} > ${t.createdAt}`),
    check("cache_key_registry_metadata_object", sql`jsonb_typeof(${t.keyMetadata}) = 'object'`),
    index("idx_cache_key_strategy").on(t.cacheStrategyId, t.isActive),
    index("idx_cache_key_expires").on(t.expiresAt.asc()).where(sql`${t.isActive} = true`),
    index("idx_cache_key_resource")
      .on(t.resourceType, t.resourceId)
      .where(sql`${t.resourceId} IS NOT NULL`),
    index("idx_cache_key_accessed")
      .on(t.lastAccessed.desc().nullsFirst())
      .where(sql`${t.lastAccessed} IS NOT NULL`),
  ],
);

export const cacheMetrics = pgTable(
  "cache_metrics",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    cacheLayerId: uuid("cache_layer_id")
      .notNull()
      .references(() => cacheLayers.id, { onDelete: "cascade" }),
    cacheStrategyId: uuid("cache_strategy_id").references(() => cacheStrategies.id, { onDelete: "cascade" }),
    metricType: metricType("metric_type").notNull(),
    metricValue: numeric("metric_value", { mode: "number" }).notNull(),
    metricUnit: varchar("metric_unit", { length: 20 }).notNull(),
    metricDate: date("metric_date", { mode: "string" }).notNull(),
    // NULL means the row aggregates the whole day.
    metricHour: smallint("metric_hour"),
    additionalDimensions: jsonb("additional_dimensions").$type<Record<string, unknown>>(),
    calculatedAt: timestamptz("calculated_at").notNull().defaultNow(),
  },
  (t) => [
    check("cache_metrics_value_nonnegative", sql`${t.metricValue} >= 0`),
    check("cache_metrics_hour_range", sql`${t.metricHour} BETWEEN 0 AND 23`),
    // Rates are stored as percentages.
    check(
      "cache_metrics_rate_percentage",
      sql`${t.metricType} NOT IN ('HIT_RATE', 'MISS_RATE', 'ERROR_RATE') OR ${t.metricValue} <= 100`,
    ),
    check("cache_metrics_unit_not_blank", sql`btrim(${t.metricUnit}) <> ''`),
    check(
      "cache_metrics_dimensions_object",
      sql`jsonb_typeof(${t.additionalDimensions}) = 'object'`,
    ),
    index("idx_cache_metrics_layer").on(t.cacheLayerId, t.metricType, t.metricDate.desc().nullsFirst()),
    index("idx_cache_metrics_strategy")
      .on(t.cacheStrategyId, t.metricType, t.metricDate.desc().nullsFirst())
      .where(sql`${t.cacheStrategyId} IS NOT NULL`),
    // NULLS NOT DISTINCT: layer-wide (no strategy) and whole-day (no hour) rows
    // must be unique too; with the default NULL semantics they never collide.
    unique("cache_metric_period")
      .on(t.cacheLayerId, t.cacheStrategyId, t.metricType, t.metricDate, t.metricHour)
      .nullsNotDistinct(),
  ],
);

export const cacheInvalidationLog = pgTable(
  "cache_invalidation_log",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    invalidationType: invalidationType("invalidation_type").notNull(),
    cacheKeyPattern: varchar("cache_key_pattern", { length: 500 }),
    // A sample (or all) of the keys removed, as a JSON array of strings.
    invalidatedKeys: jsonb("invalidated_keys").$type<string[]>(),
    keysInvalidatedCount: integer("keys_invalidated_count").notNull().default(0),
    triggerEvent: triggerEvent("trigger_event").notNull(),
    triggerResourceId: uuid("trigger_resource_id"),
    triggerResourceType: resourceType("trigger_resource_type"),
    invalidationReason: text("invalidation_reason"),
    // The log outlives the people in it.
    triggeredBy: uuid("triggered_by").references(() => users.id, { onDelete: "set null" }),
    invalidatedAt: timestamptz("invalidated_at").notNull().defaultNow(),
    // An asynchronous request (POST /v1/invalidations) is inserted PENDING; the fan-out moves it
    // to RUNNING, then DONE or FAILED. Rows written in one go (the TTL sweep) are complete: DONE.
    status: invalidationStatus("status").notNull().default("DONE"),
    mode: invalidationMode("mode").notNull().default("HARD"),
    requestedAt: timestamptz("requested_at").notNull().defaultNow(),
    startedAt: timestamptz("started_at"),
    completedAt: timestamptz("completed_at"),
    // What the fan-out did, for the request's reader (e.g. per-tier outcomes); a JSON object.
    details: jsonb("details").$type<Record<string, unknown>>(),
    error: text("error"),
  },
  (t) => [
    check("cache_invalidation_log_reason_length", sql`char_length(${t.invalidationReason}) <= 1000`),
    check("cache_invalidation_log_count_nonnegative", sql`${t.keysInvalidatedCount} >= 0`),
    check(
      "cache_invalidation_log_keys_array",
      // CASE, not AND: Postgres may evaluate jsonb_array_length on a non-array first, which raises.
      sql`CASE
        WHEN ${t.invalidatedKeys} IS NULL THEN true
        WHEN jsonb_typeof(${t.invalidatedKeys}) = 'array' THEN jsonb_array_length(${t.invalidatedKeys}) <= ${t.keysInvalidatedCount}
        ELSE false
      END`,
    ),
    check(
      "cache_invalidation_log_pattern_required",
      sql`${t.invalidationType} NOT IN ('SINGLE_KEY', 'PATTERN_MATCH') OR ${t.cacheKeyPattern} IS NOT NULL`,
    ),
    check(
      "cache_invalidation_log_resource_typed",
      sql`${t.triggerResourceId} IS NULL OR ${t.triggerResourceType} IS NOT NULL`,
    ),
    check("cache_invalidation_log_details_object", sql`jsonb_typeof(${t.details}) = 'object'`),
    check("cache_invalidation_log_error_length", sql`char_length(${t.error}) <= 2000`),
    check("cache_invalidation_log_started_after_requested", sql`${t.startedAt} >= ${t.requestedAt}`),
    check("cache_invalidation_log_completed_after_started", sql`${t.completedAt} >= ${t.startedAt}`),
    // A failed request says why.
    check("cache_invalidation_log_error_required", sql`${t.status} <> 'FAILED' OR ${t.error} IS NOT NULL`),
    index("idx_cache_invalidation_type").on(t.invalidationType, t.invalidatedAt.desc().nullsFirst()),
    index("idx_cache_invalidation_trigger").on(
      t.triggerEvent,
      t.triggerResourceType,
      t.invalidatedAt.desc().nullsFirst(),
    ),
    // The fan-out's and the API's view of requests still in flight, oldest first.
    index("idx_cache_invalidation_open")
      .on(t.status, t.requestedAt)
      .where(sql`${t.status} IN ('PENDING', 'RUNNING')`),
  ],
);

export type CacheLayer = typeof cacheLayers.$inferSelect;
export type NewCacheLayer = typeof cacheLayers.$inferInsert;
export type CacheStrategy = typeof cacheStrategies.$inferSelect;
export type NewCacheStrategy = typeof cacheStrategies.$inferInsert;
export type CacheKeyRegistryEntry = typeof cacheKeyRegistry.$inferSelect;
export type NewCacheKeyRegistryEntry = typeof cacheKeyRegistry.$inferInsert;
export type CacheMetric = typeof cacheMetrics.$inferSelect;
export type NewCacheMetric = typeof cacheMetrics.$inferInsert;
export type CacheInvalidationLogEntry = typeof cacheInvalidationLog.$inferSelect;
export type NewCacheInvalidationLogEntry = typeof cacheInvalidationLog.$inferInsert;
