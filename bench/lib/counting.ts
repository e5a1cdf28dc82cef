/**
 * @module Sorting what the bridges counted into what a request did itself and what the isolate
 * does in the background (epoch catch-up, counter and registry flushes, config checks).
 */
import type { StatementRecord } from "../../dev/neon-bridge.ts";
import type { RoundTripRecord } from "../../dev/upstash-bridge.ts";

export type RedisKind = "entry" | "bump" | "catch-up" | "metrics" | "config" | "other";
export type SqlKind = "origin read" | "resource write" | "key registry" | "config" | "other";

/** Commands a request issues for its own key: the value, its lease, tag index, write-behind version; and invalidation bumps. */
export const REQUEST_REDIS_KINDS: readonly RedisKind[] = ["entry", "bump"];
export const REQUEST_SQL_KINDS: readonly SqlKind[] = ["origin read", "resource write"];

export function redisKind(prefix: string, name: string, key: string | undefined): RedisKind {
  if (key === undefined) return "other";
  if (key === "strata:config:version") return "config";
  if (!key.startsWith(prefix)) return "other";
  const rest = key.slice(prefix.length);
  if (/^(v|lease|tag|wb):/.test(rest)) return "entry";
  if (rest === "epochs:journal") return "catch-up";
  // The epoch hash is the first key of both the bump script and the (rare) full reload.
  if (rest === "epochs") return name.startsWith("eval") ? "bump" : "catch-up";
  if (rest.startsWith("metrics")) return "metrics";
  return "other";
}

export function sqlKind(text: string): SqlKind {
  const t = text.toLowerCase();
  if (t.includes("cache_key_registry") || t.includes("key_registry")) return "key registry";
  if (t.includes("cache_strateg") || t.includes("cache_layer")) return "config";
  if (/^\s*select\b/.test(t) && t.includes('"resources"')) return "origin read";
  if (t.includes('"resources"') || t.includes(" resources")) return "resource write";
  return "other";
}

export interface RedisTally {
  /** Round trips holding at least one command the request issued for itself. */
  requestRoundTrips: number;
  requestCommands: number;
  /** Round trips holding only background work. */
  backgroundRoundTrips: number;
  byKind: Record<RedisKind, number>;
  /** Command names of the request's own commands, with counts (e.g. evalsha × 100). */
  requestCommandNames: Record<string, number>;
}

export function tallyRedis(prefix: string, log: readonly RoundTripRecord[]): RedisTally {
  const tally: RedisTally = {
    requestRoundTrips: 0,
    requestCommands: 0,
    backgroundRoundTrips: 0,
    byKind: { entry: 0, bump: 0, "catch-up": 0, metrics: 0, config: 0, other: 0 },
    requestCommandNames: {},
  };
  for (const trip of log) {
    let own = false;
    for (const c of trip.commands) {
      const kind = redisKind(prefix, c.name, c.key);
      tally.byKind[kind]++;
      if (REQUEST_REDIS_KINDS.includes(kind)) {
        own = true;
        tally.requestCommands++;
        tally.requestCommandNames[c.name] = (tally.requestCommandNames[c.name] ?? 0) + 1;
      }
    }
    if (own) tally.requestRoundTrips++;
    else tally.backgroundRoundTrips++;
  }
  return tally;
}

export interface SqlTally {
  request: number;
  background: number;
  byKind: Record<SqlKind, number>;
}

export function tallySql(statements: readonly StatementRecord[]): SqlTally {
  const tally: SqlTally = { request: 0, background: 0, byKind: { "origin read": 0, "resource write": 0, "key registry": 0, config: 0, other: 0 } };
  for (const s of statements) {
    const kind = sqlKind(s.text);
    tally.byKind[kind]++;
    if (REQUEST_SQL_KINDS.includes(kind)) tally.request++;
    else tally.background++;
  }
  return tally;
}
