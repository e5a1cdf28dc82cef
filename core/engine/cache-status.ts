/**
 * @module The `Cache-Status` response header (RFC 9211): one member per Strata tier consulted,
 * ordered from the cache nearest the origin to the one nearest the user (L2, CDN, L1).
 */
import type { TierId } from "../tier.ts";

/** RFC 9211 §2.2 forward reasons Strata uses. */
export type ForwardReason = "miss" | "stale" | "bypass";

export interface CacheStatusMember {
  tier: TierId;
  hit?: boolean;
  fwd?: ForwardReason;
  /** Remaining freshness in seconds; negative once stale (RFC 9211 §2.4). */
  ttl?: number;
  /** This request shared another request's forward (RFC 9211 §2.6). */
  collapsed?: boolean;
  /** The response was stored in this tier on the way back (RFC 9211 §2.5). */
  stored?: boolean;
  /** Free-text detail (RFC 9211 §2.8), e.g. `circuit-open`. */
  detail?: string;
}

const ORDER: Record<TierId, number> = { "strata-l2": 0, "strata-cdn": 1, "strata-l1": 2 };

export function formatCacheStatus(members: readonly CacheStatusMember[]): string {
  return [...members]
    .sort((a, b) => ORDER[a.tier] - ORDER[b.tier])
    .map((m) => {
      let out: string = m.tier;
      if (m.hit) out += "; hit";
      if (m.fwd) out += `; fwd=${m.fwd}`;
      if (m.ttl !== undefined) out += `; ttl=${Math.trunc(m.ttl)}`;
      if (m.stored) out += "; stored";
      if (m.collapsed) out += "; collapsed";
      if (m.detail) out += `; detail=${/^[A-Za-z0-9_.-]+$/.test(m.detail) ? m.detail : JSON.stringify(m.detail)}`;
      return out;
    })
    .join(", ");
}

/** Parses a Cache-Status value into members (for tests and clients; tolerant of spacing). */
export function parseCacheStatus(header: string): Array<{ tier: string; params: Record<string, string | true> }> {
  return header
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((member) => {
      const [tier = "", ...params] = member.split(";").map((p) => p.trim());
      const out: Record<string, string | true> = {};
      for (const p of params) {
        const eq = p.indexOf("=");
        if (eq < 0) out[p] = true;
        else out[p.slice(0, eq)] = p.slice(eq + 1).replace(/^"(.*)"$/, "$1");
      }
      return { tier, params: out };
    });
}
