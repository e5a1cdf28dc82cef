/**
 * @module Postgres enums shared by every Strata table.
 *
 * Values for the core tables come verbatim from seed 001. Seed 002 leaves its
 * enums unnamed, so their values are a project decision, as are those of the
 * invalidation log's request lifecycle (status, mode), which no seed has;
 * docs/data-model.md explains each one. Enum types replace the seed's `CHECK (x IN (...))` lists:
 * an enum already rejects any other value (SQLSTATE 22P02).
 *
 * Enums the engine also reasons about take their values from core/, so the runtime and the
 * database cannot drift apart.
 */
import { pgEnum } from "drizzle-orm/pg-core";
import { ROLES } from "../../core/auth/roles.ts";
import { INVALIDATION_MODES, INVALIDATION_STATUSES, INVALIDATION_TYPES, TRIGGER_EVENTS } from "../../core/invalidation/types.ts";
import { EVICTION_POLICIES } from "../../core/memory/policies/index.ts";
import { CACHE_BEHAVIORS, INVALIDATION_STRATEGIES, LAYER_NAMES, RESOURCE_TYPES } from "../../core/types.ts";

export const userRole = pgEnum("user_role", ROLES);

export const resourceType = pgEnum("resource_type", RESOURCE_TYPES);

export const layerName = pgEnum("layer_name", LAYER_NAMES);

export const cacheTechnology = pgEnum("cache_technology", [
  "MEMORY",
  "REDIS",
  "MEMCACHED",
  "DATABASE",
  "CDN",
  "FILE_SYSTEM",
]);

export const evictionPolicy = pgEnum("eviction_policy", EVICTION_POLICIES);

export const cacheBehavior = pgEnum("cache_behavior", CACHE_BEHAVIORS);

export const invalidationStrategy = pgEnum("invalidation_strategy", INVALIDATION_STRATEGIES);

export const metricType = pgEnum("metric_type", [
  "HIT_RATE",
  "MISS_RATE",
  "LATENCY",
  "THROUGHPUT",
  "MEMORY_USAGE",
  "EVICTION_COUNT",
  "ERROR_RATE",
]);

export const invalidationType = pgEnum("invalidation_type", INVALIDATION_TYPES);

export const triggerEvent = pgEnum("trigger_event", TRIGGER_EVENTS);

// --- Seed 002: values defined by the project ---------------------------------

export const alertType = pgEnum("alert_type", [
  "LOW_HIT_RATE",
  "HIGH_LATENCY",
  "HIGH_ERROR_RATE",
  "HIGH_MEMORY_USAGE",
  "HIGH_EVICTION_RATE",
  "WARMING_FAILURE",
]);

export const alertSeverity = pgEnum("alert_severity", ["INFO", "WARNING", "CRITICAL"]);

export const alertStatus = pgEnum("alert_status", ["ACTIVE", "ACKNOWLEDGED", "RESOLVED"]);

export const warmingType = pgEnum("warming_type", [
  "SCHEDULED",
  "ON_DEMAND",
  "POST_INVALIDATION",
  "PREDICTIVE",
  "RECOVERY",
]);

export const warmingJobStatus = pgEnum("warming_job_status", [
  "PENDING",
  "RUNNING",
  "COMPLETED",
  "FAILED",
  "CANCELLED",
]);

export const recommendationType = pgEnum("recommendation_type", [
  "TTL_ADJUSTMENT",
  "SIZE_ADJUSTMENT",
  "EVICTION_POLICY_CHANGE",
  "COMPRESSION_CHANGE",
  "WARMING_CHANGE",
  "BEHAVIOR_CHANGE",
]);

export const recommendationPriority = pgEnum("recommendation_priority", ["LOW", "MEDIUM", "HIGH", "CRITICAL"]);

export const implementationStatus = pgEnum("implementation_status", [
  "PENDING",
  "APPROVED",
  "REJECTED",
  "IMPLEMENTED",
  "ROLLED_BACK",
]);

// --- Asynchronous invalidation requests (no seed): values defined by the project

/** Where a logged invalidation stands; rows written in one go (the TTL sweep) are DONE. */
export const invalidationStatus = pgEnum("invalidation_status", INVALIDATION_STATUSES);

/** SOFT marks entries stale, HARD makes them unreachable at once. */
export const invalidationMode = pgEnum("invalidation_mode", INVALIDATION_MODES);

export type UserRole = (typeof userRole.enumValues)[number];
export type ResourceType = (typeof resourceType.enumValues)[number];
export type LayerName = (typeof layerName.enumValues)[number];
export type CacheTechnology = (typeof cacheTechnology.enumValues)[number];
export type EvictionPolicy = (typeof evictionPolicy.enumValues)[number];
export type CacheBehavior = (typeof cacheBehavior.enumValues)[number];
export type InvalidationStrategy = (typeof invalidationStrategy.enumValues)[number];
export type MetricType = (typeof metricType.enumValues)[number];
export type InvalidationType = (typeof invalidationType.enumValues)[number];
export type TriggerEvent = (typeof triggerEvent.enumValues)[number];
export type AlertType = (typeof alertType.enumValues)[number];
export type AlertSeverity = (typeof alertSeverity.enumValues)[number];
export type AlertStatus = (typeof alertStatus.enumValues)[number];
export type WarmingType = (typeof warmingType.enumValues)[number];
export type WarmingJobStatus = (typeof warmingJobStatus.enumValues)[number];
export type RecommendationType = (typeof recommendationType.enumValues)[number];
export type RecommendationPriority = (typeof recommendationPriority.enumValues)[number];
export type ImplementationStatus = (typeof implementationStatus.enumValues)[number];
export type InvalidationStatus = (typeof invalidationStatus.enumValues)[number];
export type InvalidationMode = (typeof invalidationMode.enumValues)[number];
