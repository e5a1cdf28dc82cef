/**
 * @module The vocabulary of invalidation shared by the edge, the fan-out Lambda and the
 * database enums: what can be invalidated, how hard, why, and where a request stands.
 */

/** The seeds' invalidation types; TTL_EXPIRY is only ever written by the registry sweeper. */
export const INVALIDATION_TYPES = [
  "SINGLE_KEY",
  "PATTERN_MATCH",
  "TAG_BASED",
  "DEPENDENCY_CASCADE",
  "MANUAL_FLUSH",
  "TTL_EXPIRY",
] as const;
export type InvalidationType = (typeof INVALIDATION_TYPES)[number];

/** The types a user may request (`POST /v1/invalidations`). */
export const REQUESTABLE_INVALIDATION_TYPES = [
  "SINGLE_KEY",
  "PATTERN_MATCH",
  "TAG_BASED",
  "DEPENDENCY_CASCADE",
  "MANUAL_FLUSH",
] as const satisfies readonly InvalidationType[];
export type RequestableInvalidationType = (typeof REQUESTABLE_INVALIDATION_TYPES)[number];

export const TRIGGER_EVENTS = ["RESOURCE_UPDATED", "RESOURCE_DELETED", "USER_ACTION", "SYSTEM_EVENT", "SCHEDULED", "MANUAL"] as const;
export type TriggerEvent = (typeof TRIGGER_EVENTS)[number];

/**
 * SOFT: entries turn stale (served inside their stale-while-revalidate window, counted from the
 * invalidation, while one refresh runs). HARD: entries are unreachable at once.
 */
export const INVALIDATION_MODES = ["SOFT", "HARD"] as const;
export type InvalidationMode = (typeof INVALIDATION_MODES)[number];

export const INVALIDATION_STATUSES = ["PENDING", "RUNNING", "DONE", "FAILED"] as const;
export type InvalidationStatus = (typeof INVALIDATION_STATUSES)[number];
