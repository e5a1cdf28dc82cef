/**
 * @module Public resource reads: `GET /v1/resources/{type}/{id}` through every tier, and the
 * keyset-paginated listing `GET /v1/resources/{type}` straight from the origin.
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { formatCacheStatus } from "../../core/engine/cache-status.ts";
import type { ReadResult } from "../../core/engine/engine.ts";
import type { Envelope } from "../../core/envelope.ts";
import { ageSeconds, remainingTtlSeconds } from "../../core/engine/freshness.ts";
import { bounded } from "../../core/timeout.ts";
import { RESOURCE_SLUGS, resourceTypeFromSlug, type ResolvedStrategy, type ResourceType } from "../../core/types.ts";
import { listResources, loadResource } from "../../db/origin.ts";
import { edgeCache } from "../cache.ts";
import { dependencyTimeoutMs, edgeDb } from "../deps.ts";
import type { AppEnv } from "../env.ts";
import { jsonError, validate } from "../errors.ts";

const slug = z.enum(RESOURCE_SLUGS as [string, ...string[]], { message: `must be one of ${RESOURCE_SLUGS.join(", ")}` });
const itemParams = z.object({ type: slug, id: z.uuid({ message: "must be a UUID" }) });
const listParams = z.object({ type: slug });
const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.uuid({ message: "must be a UUID (the nextCursor of the previous page)" }).optional(),
});

/** Cache headers from the entry's own clock, so every tier answers with the same arithmetic. */
export function cacheHeaders(c: Context, result: ReadResult, strategy: ResolvedStrategy): void {
  const e = result.envelope;
  c.header("cache-status", formatCacheStatus(result.status));
  if (!e) return;
  const now = Date.now();
  const maxAge = Math.max(0, remainingTtlSeconds(e, now));
  // An encrypted strategy's values must not be kept by shared caches in front of the worker.
  const scope = strategy.encryption ? "private" : "public";
  const swr = Math.floor(e.staleWhileRevalidateMs / 1000);
  const sie = Math.floor(e.staleIfErrorMs / 1000);
  c.header(
    "cache-control",
    `${scope}, max-age=${maxAge}` + (swr > 0 ? `, stale-while-revalidate=${swr}` : "") + (sie > 0 ? `, stale-if-error=${sie}` : ""),
  );
  c.header("age", String(ageSeconds(e, now)));
}

/**
 * The JSON text of each decoded envelope, made once: isolate memory hands back the same envelope
 * object on every hit, so a hit serializes nothing (the bench's edge case measured the difference).
 */
const bodies = new WeakMap<Envelope, string>();

function jsonBody(e: Envelope): string {
  let body = bodies.get(e);
  if (body === undefined) {
    body = JSON.stringify(e.value);
    bodies.set(e, body);
  }
  return body;
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  // Weak comparison (RFC 9110 §13.1.2): W/ prefixes are ignored for If-None-Match.
  return header.split(",").some((t) => t.trim().replace(/^W\//, "") === etag);
}

export const resourceRoutes = new Hono<AppEnv>()
  .get("/v1/resources/:type/:id", async (c) => {
    const { type: typeSlug, id } = validate(itemParams, c.req.param(), "path");
    const type = resourceTypeFromSlug(typeSlug) as ResourceType;
    const cache = await edgeCache(c.env, c.executionCtx);
    const strategy = cache.registry.forResourceType(type) ?? cache.registry.defaultStrategy;
    const db = edgeDb(c.env);
    const timeoutMs = dependencyTimeoutMs(c.env);
    const result = await cache.engine.read(
      { key: `${typeSlug}:${id.toLowerCase()}`, strategy, load: () => bounded(() => loadResource(db, type, id), timeoutMs, "postgres") },
      c.executionCtx,
    );
    cache.scheduleFlushes(c.executionCtx);
    cacheHeaders(c, result, strategy);
    const e = result.envelope;
    if (!e || e.negative) return jsonError(c, 404, "not_found", `path.id: no ${typeSlug} ${id}`, "path.id");
    const etag = `"${e.version}"`;
    c.header("etag", etag);
    if (etagMatches(c.req.header("if-none-match"), etag)) return c.body(null, 304);
    return c.body(jsonBody(e), 200, { "content-type": "application/json" });
  })
  .get("/v1/resources/:type", async (c) => {
    const { type: typeSlug } = validate(listParams, c.req.param(), "path");
    const query = validate(listQuery, c.req.query(), "query");
    const type = resourceTypeFromSlug(typeSlug) as ResourceType;
    const db = edgeDb(c.env);
    const page = await bounded(() => listResources(db, type, query.limit, query.cursor), dependencyTimeoutMs(c.env), "postgres");
    c.header("cache-control", "no-store");
    return c.json({ type: typeSlug, ...page });
  });
