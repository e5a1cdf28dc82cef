/**
 * @module The demo data set, generated without touching a database.
 *
 * Everything here is a pure function of its inputs: ids are name-based UUIDs
 * and "random" choices come from a PRNG seeded by the row's name, so every run
 * produces byte-identical rows and `ON CONFLICT DO NOTHING` makes re-seeding a
 * no-op for the same size. Seeding a different size onto an existing seed only
 * adds rows (nothing is updated), so the two graphs would mix: reset first.
 */
import { createHash } from "node:crypto";
import type { NewCacheLayer, NewCacheStrategy } from "./schema/cache.ts";
import type { LayerName, ResourceType } from "./schema/enums.ts";
import type { NewResource, NewResourceDependency } from "./schema/resources.ts";
import type { NewUser } from "./schema/users.ts";

/** Namespace of every seeded UUID; changing it would orphan rows of earlier seeds. */
const SEED_NAMESPACE = "6f1d3c2e-8a4b-5c7d-9e0f-1a2b3c4d5e6f";

/** Timestamps are laid out relative to a fixed instant so re-runs produce identical rows. */
const SEED_EPOCH = Date.parse("2026-11-01T00:00:00Z");
const DAY_MS = 86_400_000;

/** RFC 4122 version-5 UUID (SHA-1, name-based) within the seed namespace. */
export function seedUuid(name: string): string {
  const ns = Buffer.from(SEED_NAMESPACE.replaceAll("-", ""), "hex");
  const bytes = createHash("sha1").update(ns).update(name, "utf8").digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Deterministic PRNG (mulberry32) seeded from a string. */
export function prng(seed: string): () => number {
  // FNV-1a folds the name into the 32-bit state.
  let state = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) {
    state ^= seed.charCodeAt(i);
    state = Math.imul(state, 0x01000193);
  }
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Rand = () => number;

function pick<T>(rand: Rand, items: readonly T[]): T {
  const item = items[Math.floor(rand() * items.length)];
  if (item === undefined) throw new Error("pick from an empty list");
  return item;
}

function pickDistinct<T>(rand: Rand, items: readonly T[], count: number): T[] {
  const pool = [...items];
  const out: T[] = [];
  while (out.length < count && pool.length > 0) {
    const [item] = pool.splice(Math.floor(rand() * pool.length), 1);
    if (item !== undefined) out.push(item);
  }
  return out;
}

/** k distinct integers from [0, n), in draw order; cheap when k is far below n. */
function sampleIndexes(rand: Rand, n: number, k: number): number[] {
  const want = Math.min(n, k);
  if (want * 2 > n) return pickDistinct(rand, Array.from({ length: n }, (_, i) => i), want);
  const seen = new Set<number>();
  while (seen.size < want) seen.add(Math.floor(rand() * n));
  return [...seen];
}

function intBetween(rand: Rand, min: number, max: number): number {
  return min + Math.floor(rand() * (max - min + 1));
}

// --- Users, layers, strategies -----------------------------------------------

export const SEED_ADMIN_EMAIL = "admin@strata.local";
export const SEED_OPERATOR_EMAIL = "operator@strata.local";

export function seedUsers(): NewUser[] {
  return [
    { id: seedUuid("user:admin"), email: SEED_ADMIN_EMAIL, displayName: "Ada Admin", role: "ADMIN" },
    { id: seedUuid("user:operator"), email: SEED_OPERATOR_EMAIL, displayName: "Otto Operator", role: "OPERATOR" },
  ];
}

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/**
 * The five tiers as Strata deploys them. Connection settings name the
 * environment variables or bindings that hold credentials, never the secrets.
 */
export function seedLayers(createdBy: string): NewCacheLayer[] {
  return [
    {
      id: seedUuid("layer:L1_APPLICATION"),
      layerName: "L1_APPLICATION",
      displayName: "Isolate memory",
      description: "Per-isolate in-process LRU map; fastest tier, lost when the isolate is recycled.",
      technology: "MEMORY",
      cacheLevel: 1,
      maxSizeBytes: 64 * MiB,
      defaultTtlSeconds: 60,
      evictionPolicy: "LRU",
      connectionConfig: { kind: "isolate-memory", maxEntries: 10_000, maxEntryBytes: 1 * MiB },
      createdBy,
    },
    {
      id: seedUuid("layer:L2_REDIS"),
      layerName: "L2_REDIS",
      displayName: "Upstash Redis",
      description: "Shared regional Redis over the Upstash REST API; the first tier every isolate sees.",
      technology: "REDIS",
      cacheLevel: 2,
      maxSizeBytes: 1 * GiB,
      defaultTtlSeconds: 3_600,
      evictionPolicy: "LFU",
      connectionConfig: {
        kind: "upstash-rest",
        urlEnv: "UPSTASH_REDIS_REST_URL",
        tokenEnv: "UPSTASH_REDIS_REST_TOKEN",
        keyPrefix: "strata:",
        timeoutMs: 50,
        maxRetries: 1,
      },
      isDistributed: true,
      compressionEnabled: true,
      // Off at the layer: encryption costs ~50 µs per read, so only strategies holding personal
      // data (user-profile) turn it on for themselves.
      encryptionEnabled: false,
      createdBy,
    },
    {
      id: seedUuid("layer:L3_DATABASE"),
      layerName: "L3_DATABASE",
      displayName: "Neon Postgres",
      description: "Durable cache table in Neon Postgres; survives Redis eviction and cold starts.",
      technology: "DATABASE",
      cacheLevel: 3,
      maxSizeBytes: 20 * GiB,
      defaultTtlSeconds: 86_400,
      evictionPolicy: "TTL",
      connectionConfig: { kind: "neon-serverless", urlEnv: "DATABASE_URL", statementTimeoutMs: 2_000, poolMax: 10 },
      isDistributed: true,
      compressionEnabled: true,
      createdBy,
    },
    {
      id: seedUuid("layer:L4_CDN"),
      layerName: "L4_CDN",
      displayName: "Workers Cache API",
      description: "Per-colo edge cache (caches.default), purged by URL and cache tag.",
      technology: "CDN",
      cacheLevel: 4,
      maxSizeBytes: 5 * GiB,
      defaultTtlSeconds: 300,
      evictionPolicy: "LRU",
      connectionConfig: {
        kind: "workers-cache-api",
        cacheName: "default",
        purgeZoneIdEnv: "CF_ZONE_ID",
        purgeTokenEnv: "CF_PURGE_TOKEN",
        maxObjectBytes: 512 * MiB,
      },
      isDistributed: true,
      createdBy,
    },
    {
      id: seedUuid("layer:L5_EXTERNAL"),
      layerName: "L5_EXTERNAL",
      displayName: "External object store",
      description: "S3-compatible bucket holding large rendered blobs (media manifests, search snapshots).",
      technology: "FILE_SYSTEM",
      cacheLevel: 5,
      maxSizeBytes: 1024 * GiB,
      defaultTtlSeconds: 604_800,
      evictionPolicy: "FIFO",
      connectionConfig: {
        kind: "s3-compatible",
        endpointEnv: "BLOB_CACHE_ENDPOINT",
        bucketEnv: "BLOB_CACHE_BUCKET",
        accessKeyIdEnv: "BLOB_CACHE_ACCESS_KEY_ID",
        secretAccessKeyEnv: "BLOB_CACHE_SECRET_ACCESS_KEY",
        lifecycleDays: 7,
      },
      isDistributed: true,
      compressionEnabled: true,
      encryptionEnabled: true,
      createdBy,
    },
  ];
}

/** One strategy per resource type; together they use every behaviour and invalidation strategy. */
export function seedStrategies(createdBy: string, layerIds: ReadonlyMap<LayerName, string>): NewCacheStrategy[] {
  const layer = (name: LayerName): string => {
    const id = layerIds.get(name);
    if (!id) throw new Error(`layer ${name} is missing`);
    return id;
  };
  return [
    {
      id: seedUuid("strategy:program-overview"),
      strategyName: "program-overview",
      resourceType: "PROGRAM",
      cacheKeyPattern: "program:{id}",
      cacheLayerId: layer("L2_REDIS"),
      ttlSeconds: 21_600,
      cacheBehavior: "REFRESH_AHEAD",
      warmingEnabled: true,
      warmingStrategy: { source: "top-by-hits", limit: 200, cron: "*/30 * * * *" },
      invalidationStrategy: "DEPENDENCY_BASED",
      invalidationRules: { onEvents: ["RESOURCE_UPDATED", "RESOURCE_DELETED"], cascade: "children-to-parents", maxDepth: 2 },
      enableCompression: true,
      strategyConfiguration: {
        staleWhileRevalidateSeconds: 600,
        staleIfErrorSeconds: 3_600,
        negativeTtlSeconds: 60,
        refreshAheadFraction: 0.8,
      },
      createdBy,
    },
    {
      id: seedUuid("strategy:workout-detail"),
      strategyName: "workout-detail",
      resourceType: "WORKOUT",
      cacheKeyPattern: "workout:{id}",
      cacheLayerId: layer("L2_REDIS"),
      ttlSeconds: 3_600,
      cacheBehavior: "READ_THROUGH",
      warmingEnabled: true,
      warmingStrategy: { source: "program-children", limit: 2_000, cron: "0 * * * *" },
      invalidationStrategy: "DEPENDENCY_BASED",
      invalidationRules: { onEvents: ["RESOURCE_UPDATED", "RESOURCE_DELETED"], cascade: "children-to-parents", maxDepth: 1 },
      enableCompression: true,
      strategyConfiguration: { staleWhileRevalidateSeconds: 60, staleIfErrorSeconds: 600, negativeTtlSeconds: 30 },
      createdBy,
    },
    {
      id: seedUuid("strategy:exercise-library"),
      strategyName: "exercise-library",
      resourceType: "EXERCISE",
      cacheKeyPattern: "exercise:{id}",
      cacheLayerId: layer("L1_APPLICATION"),
      ttlSeconds: 300,
      cacheBehavior: "CACHE_ASIDE",
      invalidationStrategy: "EVENT_DRIVEN",
      invalidationRules: { onEvents: ["RESOURCE_UPDATED", "RESOURCE_DELETED"], topic: "resource-changes" },
      strategyConfiguration: { staleWhileRevalidateSeconds: 30, staleIfErrorSeconds: 300, negativeTtlSeconds: 15 },
      createdBy,
    },
    {
      id: seedUuid("strategy:user-profile"),
      strategyName: "user-profile",
      resourceType: "USER_PROFILE",
      cacheKeyPattern: "user-profile:{user_id}",
      cacheLayerId: layer("L2_REDIS"),
      ttlSeconds: 900,
      cacheBehavior: "WRITE_THROUGH",
      invalidationStrategy: "EVENT_DRIVEN",
      invalidationRules: { onEvents: ["RESOURCE_UPDATED", "RESOURCE_DELETED", "USER_ACTION"], topic: "resource-changes" },
      // Profiles hold personal data: encrypted at rest in every tier.
      enableEncryption: true,
      strategyConfiguration: { staleWhileRevalidateSeconds: 0, staleIfErrorSeconds: 120, negativeTtlSeconds: 10 },
      createdBy,
    },
    {
      id: seedUuid("strategy:media-asset"),
      strategyName: "media-asset",
      resourceType: "MEDIA",
      cacheKeyPattern: "media:{id}:{variant}",
      cacheLayerId: layer("L4_CDN"),
      ttlSeconds: 604_800,
      cacheBehavior: "CACHE_ASIDE",
      invalidationStrategy: "MANUAL",
      invalidationRules: { purge: "by-tag", tagPattern: "media:{id}" },
      strategyConfiguration: { staleWhileRevalidateSeconds: 86_400, staleIfErrorSeconds: 604_800, negativeTtlSeconds: 300 },
      createdBy,
    },
    {
      id: seedUuid("strategy:translation-bundle"),
      strategyName: "translation-bundle",
      resourceType: "TRANSLATION",
      cacheKeyPattern: "translation:{locale}:{id}",
      cacheLayerId: layer("L3_DATABASE"),
      ttlSeconds: 86_400,
      cacheBehavior: "READ_THROUGH",
      warmingEnabled: true,
      warmingStrategy: { source: "locale-bundles", locales: ["de", "fr", "es", "it", "pt-BR", "ja"] },
      invalidationStrategy: "PATTERN_BASED",
      invalidationRules: { patterns: ["translation:{locale}:*"], onEvents: ["RESOURCE_UPDATED"] },
      enableCompression: true,
      strategyConfiguration: { staleWhileRevalidateSeconds: 3_600, staleIfErrorSeconds: 86_400, negativeTtlSeconds: 600 },
      createdBy,
    },
    {
      id: seedUuid("strategy:analytics-rollup"),
      strategyName: "analytics-rollup",
      resourceType: "ANALYTICS",
      cacheKeyPattern: "analytics:{metric}:{period}",
      cacheLayerId: layer("L2_REDIS"),
      ttlSeconds: 120,
      cacheBehavior: "WRITE_BEHIND",
      invalidationStrategy: "TTL",
      strategyConfiguration: {
        staleWhileRevalidateSeconds: 30,
        staleIfErrorSeconds: 600,
        negativeTtlSeconds: 30,
        writeBehindFlushSeconds: 10,
        writeBehindMaxBatch: 500,
      },
      createdBy,
    },
    {
      id: seedUuid("strategy:search-results"),
      strategyName: "search-results",
      resourceType: "SEARCH_RESULTS",
      cacheKeyPattern: "search-results:{query_hash}",
      cacheLayerId: layer("L2_REDIS"),
      ttlSeconds: 600,
      cacheBehavior: "CACHE_ASIDE",
      invalidationStrategy: "TTL",
      enableCompression: true,
      strategyConfiguration: {
        staleWhileRevalidateSeconds: 120,
        staleIfErrorSeconds: 1_800,
        negativeTtlSeconds: 60,
        refreshAheadFraction: 0.9,
      },
      createdBy,
    },
  ];
}

// --- Resources and their dependency graph ------------------------------------

/** Share of each type in the demo; translations absorb the rounding remainder. */
const RESOURCE_MIX: ReadonlyArray<readonly [ResourceType, number]> = [
  ["PROGRAM", 0.025],
  ["WORKOUT", 0.2],
  ["EXERCISE", 0.1],
  ["MEDIA", 0.15],
  ["USER_PROFILE", 0.125],
  ["ANALYTICS", 0.05],
  ["SEARCH_RESULTS", 0.05],
  ["TRANSLATION", 0.3],
];

export const DEFAULT_SEED_RESOURCES = 12_000;

export function resourceCounts(total: number): Record<ResourceType, number> {
  if (!Number.isInteger(total) || total < RESOURCE_MIX.length) {
    throw new RangeError(`resources must be an integer >= ${RESOURCE_MIX.length}, got ${total}`);
  }
  const counts = {} as Record<ResourceType, number>;
  let assigned = 0;
  for (const [type, share] of RESOURCE_MIX) {
    if (type === "TRANSLATION") continue;
    counts[type] = Math.max(1, Math.floor(total * share));
    assigned += counts[type];
  }
  counts.TRANSLATION = total - assigned;
  return counts;
}

const resourceIds = new Map<string, string>();

export function resourceId(type: ResourceType, index: number): string {
  const name = `resource:${type}:${index}`;
  let id = resourceIds.get(name);
  if (id === undefined) {
    id = seedUuid(name);
    resourceIds.set(name, id);
  }
  return id;
}

const LOCALES = ["de", "fr", "es", "it", "pt-BR", "ja"] as const;
const LEVELS = ["beginner", "intermediate", "advanced"] as const;
const GOALS = ["strength", "hypertrophy", "endurance", "mobility", "fat-loss", "athletic"] as const;
const MUSCLES = [
  "chest", "back", "shoulders", "biceps", "triceps", "forearms", "core",
  "glutes", "quadriceps", "hamstrings", "calves", "hip-flexors",
] as const;
const EQUIPMENT = ["barbell", "dumbbell", "kettlebell", "cable", "machine", "bodyweight", "band", "bench"] as const;
/** Movement → the muscles it mainly trains and whether it is multi-joint. */
const MOVEMENTS: ReadonlyArray<readonly [string, readonly (typeof MUSCLES)[number][], boolean]> = [
  ["Squat", ["quadriceps", "glutes"], true],
  ["Deadlift", ["hamstrings", "glutes", "back"], true],
  ["Press", ["shoulders", "triceps"], true],
  ["Row", ["back", "biceps"], true],
  ["Lunge", ["quadriceps", "glutes"], true],
  ["Pull-Up", ["back", "biceps"], true],
  ["Push-Up", ["chest", "triceps"], true],
  ["Curl", ["biceps", "forearms"], false],
  ["Extension", ["triceps"], false],
  ["Raise", ["shoulders"], false],
  ["Plank", ["core"], false],
  ["Bridge", ["glutes", "hamstrings"], false],
  ["Carry", ["forearms", "core"], true],
  ["Swing", ["glutes", "hamstrings"], true],
  ["Fly", ["chest"], false],
  ["Step-Up", ["quadriceps", "glutes"], true],
  ["Calf Raise", ["calves"], false],
];
const VARIANTS = ["Front", "Romanian", "Bulgarian", "Incline", "Single-Arm", "Paused", "Tempo", "Sumo", "Goblet", "Split"] as const;
const WORKOUT_WORDS = ["Power", "Burn", "Foundation", "Engine", "Core", "Ignite", "Builder", "Flow", "Grind", "Reset"] as const;
const PROGRAM_WORDS = ["Starter", "Summit", "Forge", "Momentum", "Peak", "Iron", "Kinetic", "Pulse"] as const;
const QUERIES = [
  "hiit 20 minutes", "glute workout", "beginner strength", "no equipment", "kettlebell full body",
  "mobility morning", "upper body push", "core stability", "marathon prep", "dumbbell only",
] as const;

export interface SeedGraph {
  resources: NewResource[];
  dependencies: NewResourceDependency[];
  counts: Record<ResourceType, number>;
}

function timestamps(rand: Rand): { createdAt: Date; updatedAt: Date } {
  const created = SEED_EPOCH - intBetween(rand, 30, 365) * DAY_MS - intBetween(rand, 0, DAY_MS - 1);
  const updated = Math.min(SEED_EPOCH, created + intBetween(rand, 0, 30) * DAY_MS);
  return { createdAt: new Date(created), updatedAt: new Date(updated) };
}

/** Round-robin assignment of children to parents: child i belongs to parent i mod n. */
function owner(type: ResourceType, index: number, parents: number): string {
  return resourceId(type, index % parents);
}

export function buildSeedGraph(total: number = DEFAULT_SEED_RESOURCES): SeedGraph {
  const counts = resourceCounts(total);
  const resources: NewResource[] = [];
  const dependencies: NewResourceDependency[] = [];
  const edge = (parentId: string, childId: string, relation: string, createdAt: Date): void => {
    dependencies.push({ parentId, childId, relation, createdAt });
  };

  for (let i = 0; i < counts.PROGRAM; i++) {
    const rand = prng(`PROGRAM:${i}`);
    const level = pick(rand, LEVELS);
    const goal = pick(rand, GOALS);
    const weeks = intBetween(rand, 4, 12);
    const name = `${pick(rand, PROGRAM_WORDS)} ${goal[0]?.toUpperCase()}${goal.slice(1)} ${weeks}-Week #${i + 1}`;
    resources.push({
      id: resourceId("PROGRAM", i),
      resourceType: "PROGRAM",
      payload: {
        name,
        slug: name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, ""),
        level,
        goal,
        weeks,
        sessionsPerWeek: intBetween(rand, 2, 6),
        coach: `Coach ${String.fromCharCode(65 + intBetween(rand, 0, 25))}.`,
        locale: "en",
      },
      tags: ["program", `level:${level}`, `goal:${goal}`],
      version: intBetween(rand, 1, 4),
      ...timestamps(rand),
    });
  }

  for (let i = 0; i < counts.EXERCISE; i++) {
    const rand = prng(`EXERCISE:${i}`);
    const [movement, primary, compound] = pick(rand, MOVEMENTS);
    const secondary = pickDistinct(rand, MUSCLES.filter((m) => !primary.includes(m)), intBetween(rand, 0, 2));
    const equipment = pick(rand, EQUIPMENT);
    resources.push({
      id: resourceId("EXERCISE", i),
      resourceType: "EXERCISE",
      payload: {
        name: `${pick(rand, VARIANTS)} ${equipment === "bodyweight" ? "" : `${equipment[0]?.toUpperCase()}${equipment.slice(1)} `}${movement}`,
        primaryMuscles: primary,
        secondaryMuscles: secondary,
        equipment,
        mechanics: compound ? "compound" : "isolation",
        instructions: [
          "Set up with a neutral spine and braced core.",
          "Move through the full range under control.",
          "Return to the start position and repeat.",
        ],
        locale: "en",
      },
      tags: ["exercise", `equipment:${equipment}`, ...primary.map((m) => `muscle:${m}`)],
      version: intBetween(rand, 1, 3),
      ...timestamps(rand),
    });
  }

  for (let i = 0; i < counts.WORKOUT; i++) {
    const rand = prng(`WORKOUT:${i}`);
    const programIndex = i % counts.PROGRAM;
    const programId = resourceId("PROGRAM", programIndex);
    const focus = pick(rand, GOALS);
    const difficulty = intBetween(rand, 1, 5);
    const exerciseIndexes = sampleIndexes(rand, counts.EXERCISE, intBetween(rand, 4, 8));
    const times = timestamps(rand);
    const id = resourceId("WORKOUT", i);
    resources.push({
      id,
      resourceType: "WORKOUT",
      payload: {
        name: `${pick(rand, WORKOUT_WORDS)} ${focus} session ${i + 1}`,
        programId,
        sequence: Math.floor(i / counts.PROGRAM) + 1,
        durationMinutes: pick(rand, [20, 30, 45, 60, 75]),
        difficulty,
        focus,
        estimatedCalories: intBetween(rand, 150, 750),
        blocks: exerciseIndexes.map((e, order) => ({
          exerciseId: resourceId("EXERCISE", e),
          order: order + 1,
          sets: intBetween(rand, 2, 5),
          reps: intBetween(rand, 5, 15),
          restSeconds: pick(rand, [30, 45, 60, 90, 120]),
        })),
        locale: "en",
      },
      tags: ["workout", `focus:${focus}`, `difficulty:${difficulty}`, `program:${programId}`],
      version: intBetween(rand, 1, 5),
      ...times,
    });
    edge(programId, id, "CONTAINS", times.createdAt);
    for (const e of exerciseIndexes) edge(id, resourceId("EXERCISE", e), "CONTAINS", times.createdAt);
  }

  // Translations and media hang off programs, workouts and exercises in turn.
  const sources: ReadonlyArray<readonly [ResourceType, number]> = [
    ["PROGRAM", counts.PROGRAM],
    ["WORKOUT", counts.WORKOUT],
    ["EXERCISE", counts.EXERCISE],
  ];
  const sourceOf = (i: number): { type: ResourceType; id: string } => {
    const [type, n] = sources[i % sources.length] ?? ["PROGRAM", counts.PROGRAM];
    return { type, id: owner(type, Math.floor(i / sources.length), n) };
  };

  for (let i = 0; i < counts.TRANSLATION; i++) {
    const rand = prng(`TRANSLATION:${i}`);
    const locale = LOCALES[i % LOCALES.length] ?? "de";
    const source = sourceOf(Math.floor(i / LOCALES.length));
    const times = timestamps(rand);
    const id = resourceId("TRANSLATION", i);
    resources.push({
      id,
      resourceType: "TRANSLATION",
      payload: {
        locale,
        sourceId: source.id,
        sourceType: source.type,
        fields: { name: `[${locale}] ${source.type.toLowerCase()} ${Math.floor(i / LOCALES.length) + 1}` },
        reviewed: rand() < 0.8,
      },
      tags: ["translation", `locale:${locale}`, `source:${source.id}`],
      version: intBetween(rand, 1, 3),
      ...times,
    });
    edge(source.id, id, "TRANSLATION", times.createdAt);
  }

  for (let i = 0; i < counts.MEDIA; i++) {
    const rand = prng(`MEDIA:${i}`);
    const source = sourceOf(i);
    const video = source.type === "EXERCISE" && rand() < 0.7;
    const mimeType = video ? "video/mp4" : pick(rand, ["image/webp", "image/jpeg", "image/avif"]);
    const times = timestamps(rand);
    const id = resourceId("MEDIA", i);
    resources.push({
      id,
      resourceType: "MEDIA",
      payload: {
        url: `https://media.strata.local/${source.type.toLowerCase()}s/${source.id}/${video ? "demo.mp4" : `cover-${i}.${mimeType.split("/")[1]}`}`,
        mimeType,
        width: video ? 1280 : 1600,
        height: video ? 720 : 900,
        bytes: video ? intBetween(rand, 2_000_000, 40_000_000) : intBetween(rand, 40_000, 600_000),
        ...(video ? { durationSeconds: intBetween(rand, 8, 90) } : {}),
        sourceId: source.id,
        sourceType: source.type,
      },
      tags: ["media", `mime:${mimeType}`, `source:${source.id}`],
      version: 1,
      ...times,
    });
    edge(source.id, id, "MEDIA", times.createdAt);
  }

  for (let i = 0; i < counts.USER_PROFILE; i++) {
    const rand = prng(`USER_PROFILE:${i}`);
    const locale = rand() < 0.5 ? "en" : pick(rand, LOCALES);
    const level = pick(rand, LEVELS);
    const times = timestamps(rand);
    resources.push({
      id: resourceId("USER_PROFILE", i),
      resourceType: "USER_PROFILE",
      payload: {
        displayName: `athlete-${i + 1}`,
        locale,
        timezone: pick(rand, ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Europe/Madrid", "America/Sao_Paulo"]),
        fitnessLevel: level,
        goals: pickDistinct(rand, GOALS, intBetween(rand, 1, 3)),
        units: rand() < 0.6 ? "metric" : "imperial",
      },
      tags: ["user-profile", `locale:${locale}`, `level:${level}`],
      version: intBetween(rand, 1, 8),
      ...times,
      // A few closed accounts, to exercise soft delete.
      deletedAt: i % 50 === 49 ? times.updatedAt : null,
    });
  }

  for (let i = 0; i < counts.ANALYTICS; i++) {
    const rand = prng(`ANALYTICS:${i}`);
    const metric = pick(rand, ["workout_completions", "program_enrollments", "active_users", "avg_session_minutes"]);
    const period = new Date(SEED_EPOCH - (i % 90) * DAY_MS).toISOString().slice(0, 10);
    const times = timestamps(rand);
    resources.push({
      id: resourceId("ANALYTICS", i),
      resourceType: "ANALYTICS",
      payload: { metric, granularity: "day", period, value: intBetween(rand, 10, 25_000) },
      tags: ["analytics", `metric:${metric}`, `period:${period}`],
      version: 1,
      ...times,
    });
  }

  for (let i = 0; i < counts.SEARCH_RESULTS; i++) {
    const rand = prng(`SEARCH_RESULTS:${i}`);
    const query = pick(rand, QUERIES);
    const locale = rand() < 0.7 ? "en" : pick(rand, LOCALES);
    const hits = sampleIndexes(rand, counts.WORKOUT, intBetween(rand, 3, 6)).map((w) => resourceId("WORKOUT", w));
    const queryHash = createHash("sha256").update(`${locale}|${query}|page:${i}`).digest("hex").slice(0, 16);
    const times = timestamps(rand);
    const id = resourceId("SEARCH_RESULTS", i);
    resources.push({
      id,
      resourceType: "SEARCH_RESULTS",
      payload: { query, queryHash, locale, page: i, resultIds: hits, totalHits: hits.length + intBetween(rand, 0, 400) },
      tags: ["search", `locale:${locale}`],
      version: 1,
      ...times,
      deletedAt: i % 40 === 39 ? times.updatedAt : null,
    });
    // A result page embeds workouts: changing a workout must invalidate the page.
    for (const w of hits) edge(id, w, "REFERENCES", times.createdAt);
  }

  return { resources, dependencies, counts };
}
