/**
 * @module CACHE_LAYER and CACHE_STRATEGY rows turned into the engine's resolved configuration
 * (core/types.ts): durations in milliseconds, `strategy_configuration` validated once with its
 * defaults filled in, compression and encryption decided against the layer. Also the built-in
 * default strategy for generic keys no pattern matches. Rules: docs/strategies.md.
 */
import { z } from "zod";
import { isEvictionPolicyName } from "../memory/policies/index.ts";
import {
  CACHE_BEHAVIORS,
  INVALIDATION_STRATEGIES,
  LAYER_NAMES,
  RESOURCE_TYPES,
  type CacheBehavior,
  type EvictionPolicyName,
  type InvalidationStrategy,
  type LayerConfig,
  type LayerName,
  type ResolvedStrategy,
  type ResourceType,
} from "../types.ts";

/**
 * A cache_layer row as a config source hands it over. Enum columns are typed with their unions
 * (Postgres enforces them) but still checked at runtime: a value added to a database enum before
 * the code knows it must reject one row, not crash the isolate.
 */
export interface LayerRow {
  id: string;
  layerName: LayerName;
  cacheLevel: number;
  maxSizeBytes: number;
  defaultTtlSeconds: number;
  evictionPolicy: EvictionPolicyName;
  isDistributed: boolean;
  compressionEnabled: boolean;
  encryptionEnabled: boolean;
  isActive: boolean;
}

/** A cache_strategy row as a config source hands it over (only what resolution reads). */
export interface StrategyRow {
  id: string;
  strategyName: string;
  resourceType: ResourceType;
  cacheKeyPattern: string;
  cacheLayerId: string;
  ttlSeconds: number;
  cacheBehavior: CacheBehavior;
  invalidationStrategy: InvalidationStrategy;
  enableCompression: boolean;
  enableEncryption: boolean;
  strategyConfiguration: Record<string, unknown> | null;
  isActive: boolean;
}

/** A row that cannot be used; `field` names the column or `strategy_configuration.<key>` at fault. */
export class ConfigRowError extends Error {
  override readonly name = "ConfigRowError";
  readonly kind: "layer" | "strategy";
  readonly rowId: string;
  /** Strategy name or layer name, as operators know the row. */
  readonly rowName: string;
  readonly field: string;
  constructor(kind: "layer" | "strategy", rowId: string, rowName: string, field: string, problem: string) {
    super(`${kind} ${JSON.stringify(rowName)} (${rowId}): ${field} ${problem}`);
    this.kind = kind;
    this.rowId = rowId;
    this.rowName = rowName;
    this.field = field;
  }
}

/** Upper bound on any configured duration (10 years): keeps every millisecond value finite and exact. */
export const MAX_CONFIG_SECONDS = 315_360_000;

export const DEFAULT_REFRESH_AHEAD_FRACTION = 0.8;
export const DEFAULT_COMPRESSION_THRESHOLD_BYTES = 1024;
/** negativeTtlSeconds defaults to min(this, ttl_seconds). */
export const DEFAULT_NEGATIVE_TTL_CAP_SECONDS = 60;

const seconds = z.number().nonnegative().max(MAX_CONFIG_SECONDS);

/**
 * The `strategy_configuration` keys the engine reads. Loose: keys other modules own (e.g.
 * `writeBehindFlushSeconds`) pass through untouched instead of rejecting the strategy.
 */
export const strategyConfigurationSchema = z.looseObject({
  staleWhileRevalidateSeconds: seconds.default(0),
  staleIfErrorSeconds: seconds.default(0),
  // Its default depends on the row's ttl, so it is filled in after parsing.
  negativeTtlSeconds: seconds.optional(),
  refreshAheadFraction: z.number().gt(0).lt(1).default(DEFAULT_REFRESH_AHEAD_FRACTION),
  compressionThresholdBytes: z.number().int().nonnegative().default(DEFAULT_COMPRESSION_THRESHOLD_BYTES),
});

export type StrategyConfiguration = z.infer<typeof strategyConfigurationSchema>;

const KNOWN_KEYS: ReadonlySet<string> = new Set(Object.keys(strategyConfigurationSchema.shape));

const ms = (s: number): number => Math.round(s * 1000);

function oneOf<T extends string>(values: readonly T[], value: unknown): value is T {
  return typeof value === "string" && (values as readonly string[]).includes(value);
}

function isPositiveInt(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n > 0;
}

export function resolveLayer(row: LayerRow): LayerConfig {
  const fail = (field: string, problem: string): ConfigRowError =>
    new ConfigRowError("layer", row.id, String(row.layerName), field, problem);
  if (!oneOf(LAYER_NAMES, row.layerName)) throw fail("layer_name", `is not a known layer (${JSON.stringify(row.layerName)})`);
  if (!isEvictionPolicyName(row.evictionPolicy)) throw fail("eviction_policy", `is not a known policy (${JSON.stringify(row.evictionPolicy)})`);
  if (!isPositiveInt(row.cacheLevel)) throw fail("cache_level", `must be a positive integer (got ${row.cacheLevel})`);
  if (!isPositiveInt(row.maxSizeBytes)) throw fail("max_size_bytes", `must be a positive integer (got ${row.maxSizeBytes})`);
  if (!isPositiveInt(row.defaultTtlSeconds) || row.defaultTtlSeconds > MAX_CONFIG_SECONDS) {
    throw fail("default_ttl_seconds", `must be an integer in 1..${MAX_CONFIG_SECONDS} (got ${row.defaultTtlSeconds})`);
  }
  return {
    id: row.id,
    name: row.layerName,
    level: row.cacheLevel,
    maxSizeBytes: row.maxSizeBytes,
    defaultTtlSeconds: row.defaultTtlSeconds,
    evictionPolicy: row.evictionPolicy,
    isDistributed: row.isDistributed,
    compressionEnabled: row.compressionEnabled,
    encryptionEnabled: row.encryptionEnabled,
    isActive: row.isActive,
  };
}

/** The configuration keys of a strategy that the engine does not read, for the modules that do. */
export function extraConfiguration(row: Pick<StrategyRow, "strategyConfiguration">): Readonly<Record<string, unknown>> {
  const config = row.strategyConfiguration;
  if (config === null || typeof config !== "object" || Array.isArray(config)) return {};
  return Object.fromEntries(Object.entries(config).filter(([key]) => !KNOWN_KEYS.has(key)));
}

/**
 * Resolves a strategy row against its layer. Throws ConfigRowError naming the strategy and the
 * field when the row cannot be used; the registry logs that and skips the one strategy.
 */
export function resolveStrategy(row: StrategyRow, layer: LayerConfig): ResolvedStrategy {
  const fail = (field: string, problem: string): ConfigRowError =>
    new ConfigRowError("strategy", row.id, row.strategyName, field, problem);
  if (row.cacheLayerId !== layer.id) throw fail("cache_layer_id", `is ${row.cacheLayerId}, not layer ${layer.id}`);
  if (!oneOf(RESOURCE_TYPES, row.resourceType)) throw fail("resource_type", `is not a known type (${JSON.stringify(row.resourceType)})`);
  if (!oneOf(CACHE_BEHAVIORS, row.cacheBehavior)) throw fail("cache_behavior", `is not a known behavior (${JSON.stringify(row.cacheBehavior)})`);
  if (!oneOf(INVALIDATION_STRATEGIES, row.invalidationStrategy)) {
    throw fail("invalidation_strategy", `is not a known strategy (${JSON.stringify(row.invalidationStrategy)})`);
  }
  if (!isPositiveInt(row.ttlSeconds) || row.ttlSeconds > MAX_CONFIG_SECONDS) {
    throw fail("ttl_seconds", `must be an integer in 1..${MAX_CONFIG_SECONDS} (got ${row.ttlSeconds})`);
  }

  const parsed = strategyConfigurationSchema.safeParse(row.strategyConfiguration ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.map(String).join(".") ?? "";
    const field = path === "" ? "strategy_configuration" : `strategy_configuration.${path}`;
    const got = path === "" ? row.strategyConfiguration : valueAt(row.strategyConfiguration, issue?.path ?? []);
    throw fail(field, `${issue?.message ?? "is invalid"} (got ${describe(got)})`);
  }
  const config = parsed.data;

  return {
    id: row.id,
    name: row.strategyName,
    resourceType: row.resourceType,
    keyPattern: row.cacheKeyPattern,
    layerId: layer.id,
    behavior: row.cacheBehavior,
    invalidation: row.invalidationStrategy,
    ttlMs: ms(row.ttlSeconds),
    staleWhileRevalidateMs: ms(config.staleWhileRevalidateSeconds),
    staleIfErrorMs: ms(config.staleIfErrorSeconds),
    negativeTtlMs: ms(config.negativeTtlSeconds ?? Math.min(DEFAULT_NEGATIVE_TTL_CAP_SECONDS, row.ttlSeconds)),
    refreshAheadFraction: config.refreshAheadFraction,
    compression: row.enableCompression || layer.compressionEnabled,
    compressionThresholdBytes: config.compressionThresholdBytes,
    encryption: row.enableEncryption || layer.encryptionEnabled,
    isDefault: false,
  };
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  try {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return typeof value;
  }
}

/** Id and name of the built-in default strategy; never a cache_strategy row. */
export const DEFAULT_STRATEGY_ID = "default";
/** The default strategy's `keyPattern`: not a compilable pattern, it stands for "no pattern matched". */
export const DEFAULT_KEY_PATTERN = "*";
/**
 * Generic keys carry application-defined JSON (derived or query-like data, not a stored
 * resource), which is what SEARCH_RESULTS stands for among the resource types.
 */
export const DEFAULT_RESOURCE_TYPE: ResourceType = "SEARCH_RESULTS";

/**
 * The strategy for generic keys that match no pattern: CACHE_ASIDE with TTL invalidation, the
 * layer's default TTL, no stale serving of any kind and no negative caching (a generic key is
 * only ever written by a PUT, so a miss is not an origin answer worth remembering). Compression
 * and encryption follow the layer.
 */
export function defaultStrategy(layer: LayerConfig): ResolvedStrategy {
  return {
    id: DEFAULT_STRATEGY_ID,
    name: DEFAULT_STRATEGY_ID,
    resourceType: DEFAULT_RESOURCE_TYPE,
    keyPattern: DEFAULT_KEY_PATTERN,
    layerId: layer.id,
    behavior: "CACHE_ASIDE",
    invalidation: "TTL",
    ttlMs: ms(layer.defaultTtlSeconds),
    staleWhileRevalidateMs: 0,
    staleIfErrorMs: 0,
    negativeTtlMs: 0,
    refreshAheadFraction: DEFAULT_REFRESH_AHEAD_FRACTION,
    compression: layer.compressionEnabled,
    compressionThresholdBytes: DEFAULT_COMPRESSION_THRESHOLD_BYTES,
    encryption: layer.encryptionEnabled,
    isDefault: true,
  };
}

/**
 * The layer the default strategy is bound to: L2_REDIS when it is active (the first tier every
 * isolate shares), else the active layer with the lowest cache_level; undefined when none is active.
 */
export function defaultLayer(layers: readonly LayerConfig[]): LayerConfig | undefined {
  const active = layers.filter((l) => l.isActive);
  return active.find((l) => l.name === "L2_REDIS") ?? [...active].sort((a, b) => a.level - b.level || (a.name < b.name ? -1 : 1))[0];
}
