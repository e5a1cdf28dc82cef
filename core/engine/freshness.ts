/**
 * @module Where an entry stands in its life: fresh, stale-while-revalidate, stale-if-error, or
 * dead. One function, so every tier and the HTTP headers agree on the same arithmetic.
 */
export interface Lifetimes {
  storedAt: number;
  ttlMs: number;
  staleWhileRevalidateMs: number;
  staleIfErrorMs: number;
}

export type Freshness =
  /** Serve. */
  | "fresh"
  /** Serve, and refresh once in the background. */
  | "stale-revalidate"
  /** Do not serve unless the origin fails. */
  | "stale-if-error"
  /** Never serve. */
  | "dead";

export function freshness(e: Lifetimes, now: number): Freshness {
  const age = now - e.storedAt;
  if (age < e.ttlMs) return "fresh";
  const past = age - e.ttlMs;
  if (past < e.staleWhileRevalidateMs) return "stale-revalidate";
  if (past < e.staleIfErrorMs) return "stale-if-error";
  return "dead";
}

/** Seconds of freshness left (negative when stale), as Cache-Status `ttl` and Cache-Control need. */
export function remainingTtlSeconds(e: Lifetimes, now: number): number {
  return Math.floor((e.storedAt + e.ttlMs - now) / 1000);
}

export function ageSeconds(e: Lifetimes, now: number): number {
  return Math.max(0, Math.floor((now - e.storedAt) / 1000));
}

/** End of the last window in which the entry may be served: what tiers use as their expiry. */
export function servableUntil(e: Lifetimes): number {
  return e.storedAt + e.ttlMs + Math.max(e.staleWhileRevalidateMs, e.staleIfErrorMs);
}
