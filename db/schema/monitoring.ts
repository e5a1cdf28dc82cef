/**
 * @module The four monitoring and analytics tables of seed 002: alerts,
 * warming jobs, usage patterns and optimisation recommendations.
 *
 * Seed 002 gives only column types and nullability; the CHECKs below encode
 * what the columns already imply (percentages, hours of a day, counters that
 * add up, timestamps in lifecycle order, status/timestamp agreement).
 */
import { sql } from "drizzle-orm";
import {
  bigint,
  check,
  date,
  foreignKey,
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
import { cacheLayers, cacheStrategies } from "./cache.ts";
import { timestamptz } from "./columns.ts";
import {
  alertSeverity,
  alertStatus,
  alertType,
  implementationStatus,
  recommendationPriority,
  recommendationType,
  resourceType,
  warmingJobStatus,
  warmingType,
} from "./enums.ts";
import { users } from "./users.ts";

export const cachePerformanceAlerts = pgTable(
  "cache_performance_alert",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    cacheLayerId: uuid("cache_layer_id")
      .notNull()
      .references(() => cacheLayers.id, { onDelete: "cascade" }),
    cacheStrategyId: uuid("cache_strategy_id").references(() => cacheStrategies.id, { onDelete: "cascade" }),
    alertType: alertType("alert_type").notNull(),
    severity: alertSeverity("severity").notNull(),
    alertMessage: text("alert_message").notNull(),
    thresholdValue: numeric("threshold_value", { mode: "number" }).notNull(),
    actualValue: numeric("actual_value", { mode: "number" }).notNull(),
    alertContext: jsonb("alert_context").$type<Record<string, unknown>>(),
    alertStatus: alertStatus("alert_status").notNull().default("ACTIVE"),
    acknowledgedBy: uuid("acknowledged_by").references(() => users.id, { onDelete: "set null" }),
    acknowledgedAt: timestamptz("acknowledged_at"),
    resolvedAt: timestamptz("resolved_at"),
    createdBy: uuid("created_by")
      .notNull()
      .references(() => users.id, { onDelete: "restrict" }),
    triggeredAt: timestamptz("triggered_at").notNull().defaultNow(),
  },
  (t) => [
    check(
      "cache_performance_alert_message_length",
      sql`char_length(${t.alertMessage}) BETWEEN 1 AND 1000`,
    ),
    check("cache_performance_alert_context_object", sql`jsonb_typeof(${t.alertContext}) = 'object'`),
    check(
      "cache_performance_alert_acknowledged_after_triggered",
      sql`${t.acknowledgedAt} >= ${t.triggeredAt}`,
    ),
    check("cache_performance_alert_resolved_after_triggered", sql`${t.resolvedAt} >= ${t.triggeredAt}`),
    // acknowledged_by may be cleared when its user is deleted, so only the
    // time is required once an alert has been acknowledged.
    check(
      "cache_performance_alert_acknowledger_has_time",
      sql`${t.acknowledgedBy} IS NULL OR ${t.acknowledgedAt} IS NOT NULL`,
    ),
    check(
      "cache_performance_alert_status_timestamps",
      sql`CASE ${t.alertStatus}
        WHEN 'ACTIVE' THEN ${t.acknowledgedAt} IS NULL AND ${t.resolvedAt} IS NULL
        WHEN 'ACKNOWLEDGED' THEN ${t.acknowledgedAt} IS NOT NULL AND ${t.resolvedAt} IS NULL
        WHEN 'RESOLVED' THEN ${t.resolvedAt} IS NOT NULL
      END`,
    ),
    index("idx_cache_alert_layer").on(t.cacheLayerId, t.alertStatus, t.triggeredAt.desc().nullsFirst()),
    index("idx_cache_alert_strategy")
      .on(t.cacheStrategyId, t.triggeredAt.desc().nullsFirst())
      .where(sql`${t.cacheStrategyId} IS NOT NULL`),
    // The dashboard's "open alerts" list, worst first: alert_severity is declared
    // INFO < WARNING < CRITICAL, so worst first is severity DESC (newest first within one).
    index("idx_cache_alert_open")
      .on(t.severity.desc().nullsFirst(), t.triggeredAt.desc().nullsFirst())
      .where(sql`${t.alertStatus} <> 'RESOLVED'`),
  ],
);

export const cacheWarmingJobs = pgTable(
  "cache_warming_job",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    cacheStrategyId: uuid("cache_strategy_id")
      .notNull()
      .references(() => cacheStrategies.id, { onDelete: "cascade" }),
    jobName: varchar("job_name", { length: 200 }).notNull(),
    warmingType: warmingType("warming_type").notNull(),
    jobStatus: warmingJobStatus("job_status").notNull().default("PENDING"),
    totalKeys: integer("total_keys").notNull().default(0),
    warmedKeys: integer("warmed_keys").notNull().default(0),
    failedKeys: integer("failed_keys").notNull().default(0),
    progressPercentage: numeric("progress_percentage", { precision: 5, scale: 2, mode: "number" })
      .notNull()
      .default(0),
    scheduledAt: timestamptz("scheduled_at").notNull(),
    startedAt: timestamptz("started_at"),
    completedAt: timestamptz("completed_at"),
    durationSeconds: integer("duration_seconds"),
    failureReason: text("failure_reason"),
    jobConfiguration: jsonb("job_configuration").$type<Record<string, unknown>>(),
    createdBy: uuid("created_by")
      .notNull()
      .references(() => users.id, { onDelete: "restrict" }),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
  },
  (t) => [
    check("cache_warming_job_name_not_blank", sql`btrim(${t.jobName}) <> ''`),
    check(
      "cache_warming_job_counts_nonnegative",
      sql`${t.totalKeys} >= 0 AND ${t.warmedKeys} >= 0 AND ${t.failedKeys} >= 0`,
    ),
    // bigint arithmetic so the sum itself cannot overflow integer.
    check(
      "cache_warming_job_counts_within_total",
      sql`${t.warmedKeys}::bigint + ${t.failedKeys} <= ${t.totalKeys}`,
    ),
    check("cache_warming_job_progress_range", sql`${t.progressPercentage} BETWEEN 0 AND 100`),
    check("cache_warming_job_duration_nonnegative", sql`${t.durationSeconds} >= 0`),
    check("cache_warming_job_completed_after_started", sql`${t.completedAt} >= ${t.startedAt}`),
    check("cache_warming_job_failure_reason_length", sql`char_length(${t.failureReason}) <= 1000`),
    check("cache_warming_job_configuration_object", sql`jsonb_typeof(${t.jobConfiguration}) = 'object'`),
    // FAILED and CANCELLED may end before the job ever started, so they only
    // require the end time; RUNNING and COMPLETED need the start as well.
    check(
      "cache_warming_job_status_timestamps",
      sql`CASE ${t.jobStatus}
        WHEN 'PENDING' THEN ${t.startedAt} IS NULL AND ${t.completedAt} IS NULL
        WHEN 'RUNNING' THEN ${t.startedAt} IS NOT NULL AND ${t.completedAt} IS NULL
        WHEN 'COMPLETED' THEN ${t.startedAt} IS NOT NULL AND ${t.completedAt} IS NOT NULL
        WHEN 'FAILED' THEN ${t.completedAt} IS NOT NULL AND ${t.failureReason} IS NOT NULL
        WHEN 'CANCELLED' THEN ${t.completedAt} IS NOT NULL
      END`,
    ),
    index("idx_cache_warming_job_strategy").on(t.cacheStrategyId, t.scheduledAt.desc().nullsFirst()),
    // The scheduler's queue: due jobs, oldest first.
    index("idx_cache_warming_job_pending")
      .on(t.scheduledAt.asc())
      .where(sql`${t.jobStatus} = 'PENDING'`),
  ],
);

export const cacheUsagePatterns = pgTable(
  "cache_usage_pattern",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    cacheStrategyId: uuid("cache_strategy_id")
      .notNull()
      .references(() => cacheStrategies.id, { onDelete: "cascade" }),
    resourceType: resourceType("resource_type").notNull(),
    accessPattern: varchar("access_pattern", { length: 200 }).notNull(),
    // A peak may wrap midnight (22 → 2), so start > end is allowed.
    peakHourStart: smallint("peak_hour_start").notNull(),
    peakHourEnd: smallint("peak_hour_end").notNull(),
    averageHitRate: numeric("average_hit_rate", { precision: 5, scale: 2, mode: "number" }).notNull(),
    peakHitRate: numeric("peak_hit_rate", { precision: 5, scale: 2, mode: "number" }).notNull(),
    optimalTtlSeconds: integer("optimal_ttl_seconds").notNull(),
    dailyRequests: bigint("daily_requests", { mode: "number" }).notNull().default(0),
    dailyCacheHits: bigint("daily_cache_hits", { mode: "number" }).notNull().default(0),
    analysisDate: date("analysis_date", { mode: "string" }).notNull(),
    calculatedAt: timestamptz("calculated_at").notNull().defaultNow(),
  },
  (t) => [
    check("cache_usage_pattern_access_pattern_not_blank", sql`btrim(${t.accessPattern}) <> ''`),
    check(
      "cache_usage_pattern_peak_hours_range",
      sql`${t.peakHourStart} BETWEEN 0 AND 23 AND ${t.peakHourEnd} BETWEEN 0 AND 23`,
    ),
    check(
      "cache_usage_pattern_hit_rates_range",
      sql`${t.averageHitRate} BETWEEN 0 AND 100 AND ${t.peakHitRate} BETWEEN 0 AND 100`,
    ),
    check("cache_usage_pattern_optimal_ttl_positive", sql`${t.optimalTtlSeconds} > 0`),
    check(
      "cache_usage_pattern_hits_within_requests",
      sql`${t.dailyRequests} >= 0 AND ${t.dailyCacheHits} BETWEEN 0 AND ${t.dailyRequests}`,
    ),
    // One analysis per strategy, access pattern and day: re-running the daily
    // analysis upserts instead of piling up duplicates.
    unique("cache_usage_pattern_period").on(t.cacheStrategyId, t.accessPattern, t.analysisDate),
    index("idx_cache_usage_pattern_strategy").on(t.cacheStrategyId, t.analysisDate.desc().nullsFirst()),
    index("idx_cache_usage_pattern_resource").on(t.resourceType, t.analysisDate.desc().nullsFirst()),
  ],
);

export const cacheOptimizationRecommendations = pgTable(
  "cache_optimization_recommendation",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    // FK declared below: drizzle's generated name would exceed Postgres' 63-byte limit.
    cacheStrategyId: uuid("cache_strategy_id").notNull(),
    recommendationType: recommendationType("recommendation_type").notNull(),
    priority: recommendationPriority("priority").notNull(),
    recommendationDescription: text("recommendation_description").notNull(),
    currentConfiguration: jsonb("current_configuration").$type<Record<string, unknown>>().notNull(),
    recommendedConfiguration: jsonb("recommended_configuration").$type<Record<string, unknown>>().notNull(),
    estimatedImprovement: numeric("estimated_improvement", { mode: "number" }).notNull(),
    improvementMetric: varchar("improvement_metric", { length: 50 }).notNull(),
    implementationStatus: implementationStatus("implementation_status").notNull().default("PENDING"),
    // Who decided: the approver, or for REJECTED the person who rejected it.
    approvedBy: uuid("approved_by").references(() => users.id, { onDelete: "set null" }),
    approvedAt: timestamptz("approved_at"),
    implementedAt: timestamptz("implemented_at"),
    implementationNotes: text("implementation_notes"),
    createdBy: uuid("created_by")
      .notNull()
      .references(() => users.id, { onDelete: "restrict" }),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
  },
  (t) => [
    check(
      "cache_optimization_recommendation_description_length",
      sql`char_length(${t.recommendationDescription}) BETWEEN 1 AND 1000`,
    ),
    check(
      "cache_optimization_recommendation_notes_length",
      sql`char_length(${t.implementationNotes}) <= 2000`,
    ),
    check(
      "cache_optimization_recommendation_configurations_object",
      sql`jsonb_typeof(${t.currentConfiguration}) = 'object' AND jsonb_typeof(${t.recommendedConfiguration}) = 'object'`,
    ),
    check(
      "cache_optimization_recommendation_improvement_nonnegative",
      sql`${t.estimatedImprovement} >= 0`,
    ),
    check(
      "cache_optimization_recommendation_metric_not_blank",
      sql`btrim(${t.improvementMetric}) <> ''`,
    ),
    check(
      "cache_optimization_recommendation_approved_after_created",
      sql`${t.approvedAt} >= ${t.createdAt}`,
    ),
    check(
      "cache_optimization_recommendation_implemented_after_approved",
      sql`${t.implementedAt} >= ${t.approvedAt}`,
    ),
    check(
      "cache_optimization_recommendation_approver_has_time",
      sql`${t.approvedBy} IS NULL OR ${t.approvedAt} IS NOT NULL`,
    ),
    check(
      "cache_optimization_recommendation_status_timestamps",
      sql`CASE ${t.implementationStatus}
        WHEN 'PENDING' THEN ${t.approvedAt} IS NULL AND ${t.implementedAt} IS NULL
        WHEN 'APPROVED' THEN ${t.approvedAt} IS NOT NULL AND ${t.implementedAt} IS NULL
        WHEN 'REJECTED' THEN ${t.approvedAt} IS NOT NULL AND ${t.implementedAt} IS NULL
        WHEN 'IMPLEMENTED' THEN ${t.approvedAt} IS NOT NULL AND ${t.implementedAt} IS NOT NULL
        WHEN 'ROLLED_BACK' THEN ${t.approvedAt} IS NOT NULL AND ${t.implementedAt} IS NOT NULL
      END`,
    ),
    foreignKey({
      name: "cache_optimization_recommendation_strategy_fk",
      columns: [t.cacheStrategyId],
      foreignColumns: [cacheStrategies.id],
    }).onDelete("cascade"),
    index("idx_cache_recommendation_strategy").on(t.cacheStrategyId, t.implementationStatus),
    // The review queue: undecided recommendations, most urgent first.
    index("idx_cache_recommendation_pending")
      .on(t.priority.desc().nullsFirst(), t.createdAt.asc())
      .where(sql`${t.implementationStatus} = 'PENDING'`),
  ],
);

export type CachePerformanceAlert = typeof cachePerformanceAlerts.$inferSelect;
export type NewCachePerformanceAlert = typeof cachePerformanceAlerts.$inferInsert;
export type CacheWarmingJob = typeof cacheWarmingJobs.$inferSelect;
export type NewCacheWarmingJob = typeof cacheWarmingJobs.$inferInsert;
export type CacheUsagePattern = typeof cacheUsagePatterns.$inferSelect;
export type NewCacheUsagePattern = typeof cacheUsagePatterns.$inferInsert;
export type CacheOptimizationRecommendation = typeof cacheOptimizationRecommendations.$inferSelect;
export type NewCacheOptimizationRecommendation = typeof cacheOptimizationRecommendations.$inferInsert;
