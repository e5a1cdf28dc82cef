/**
 * @module The seeds' vocabulary as runtime-neutral types: resource types (and their URL slugs),
 * layer and strategy configuration as the engine uses them, resolved once from their rows.
 */
import type { EvictionPolicyName } from "./memory/policies/index.ts";

export const RESOURCE_TYPES = [
  "WORKOUT",
  "EXERCISE",
  "PROGRAM",
  "USER_PROFILE",
  "MEDIA",
  "TRANSLATION",
  "ANALYTICS",
  "SEARCH_RESULTS",
] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** URL form of a resource type: lower-case kebab (`USER_PROFILE` → `user-profile`). */
export function resourceSlug(type: ResourceType): string {
  return type.toLowerCase().replaceAll("_", "-");
}

const bySlug = new Map<string, ResourceType>(RESOURCE_TYPES.map((t) => [resourceSlug(t), t]));
export const RESOURCE_SLUGS: readonly string[] = [...bySlug.keys()];

export function resourceTypeFromSlug(slug: string): ResourceType | undefined {
  return bySlug.get(slug);
}

export const CACHE_BEHAVIORS = ["CACHE_ASIDE", "WRITE_THROUGH", "WRITE_BEHIND", "READ_THROUGH", "REFRESH_AHEAD"] as const;
export type CacheBehavior = (typeof CACHE_BEHAVIORS)[number];

export const INVALIDATION_STRATEGIES = ["TTL", "EVENT_DRIVEN", "MANUAL", "DEPENDENCY_BASED", "PATTERN_BASED"] as const;
export type InvalidationStrategy = (typeof INVALIDATION_STRATEGIES)[number];

export const LAYER_NAMES = ["L1_APPLICATION", "L2_REDIS", "L3_DATABASE", "L4_CDN", "L5_EXTERNAL"] as const;
export type LayerName = (typeof LAYER_NAMES)[number];

export type { EvictionPolicyName };

/** A CACHE_LAYER row as the engine needs it. */
export interface LayerConfig {
  id: string;
  name: LayerName;
  level: number;
  maxSizeBytes: number;
  defaultTtlSeconds: number;
  evictionPolicy: EvictionPolicyName;
  isDistributed: boolean;
  compressionEnabled: boolean;
  encryptionEnabled: boolean;
  isActive: boolean;
}

/**
 * A CACHE_STRATEGY row resolved against its layer and its `strategy_configuration` JSON:
 * every duration in milliseconds, every optional knob filled with its documented default, so
 * the hot path never re-reads or re-validates configuration.
 */
export interface ResolvedStrategy {
  id: string;
  name: string;
  resourceType: ResourceType;
  /** e.g. `workout:{id}`; placeholders match one or more characters other than `:`. */
  keyPattern: string;
  layerId: string;
  behavior: CacheBehavior;
  invalidation: InvalidationStrategy;
  /** Freshness lifetime. */
  ttlMs: number;
  /** After ttl: served stale while one background refresh runs. */
  staleWhileRevalidateMs: number;
  /** After ttl (+ swr): served only when the origin fails. */
  staleIfErrorMs: number;
  /** How long a "not found" is remembered. */
  negativeTtlMs: number;
  /** REFRESH_AHEAD: fraction of ttl after which one background refresh starts (0 < f < 1). */
  refreshAheadFraction: number;
  compression: boolean;
  /** Values at least this large are compressed when `compression` is on. */
  compressionThresholdBytes: number;
  encryption: boolean;
  /** True for the built-in default strategy used by generic keys no pattern matches. */
  isDefault: boolean;
}
