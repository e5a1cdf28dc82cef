/**
 * @module The seeds' generic cache operations (cache-aside): `GET | PUT | DELETE /v1/cache/{key}`.
 * The key picks its strategy by pattern (else the documented default strategy); there is no
 * origin, so a miss is a 404.
 */
import { Hono } from "hono";
import { z } from "zod";
import { keyProblem } from "../../core/strategy/pattern.ts";
import { requireRole } from "../auth.ts";
import { bumpKey, edgeCache } from "../cache.ts";
import type { AppEnv } from "../env.ts";
import { HttpError, jsonError, readJsonBody, validate } from "../errors.ts";
import { cacheHeaders } from "./resources.ts";

const MAX_TTL_SECONDS = 365 * 24 * 3600;
const MAX_VALUE_BYTES = 1024 * 1024;

const putBody = z.strictObject({
  value: z.json().refine((v) => v !== undefined, { message: "is required" }),
  ttl: z.number().int().min(1).max(MAX_TTL_SECONDS).optional(),
  tags: z.array(z.string().min(1).max(100).regex(/^[^\s,]+$/, "no whitespace or commas")).max(16).optional(),
});

/** Hono decodes the path; the key is everything after /v1/cache/, slashes included. */
function keyOf(raw: string | undefined): string {
  const key = raw ?? "";
  const problem = keyProblem(key);
  if (problem) throw new HttpError(400, "invalid_request", `path.key: ${problem}`, "path.key");
  // Control characters have no place in a key and would make logs and SCAN patterns ambiguous.
  if (/[\u0000-\u001f\u007f]/.test(key)) throw new HttpError(400, "invalid_request", "path.key: control characters are not allowed", "path.key");
  return key;
}

export const cacheRoutes = new Hono<AppEnv>()
  .get("/v1/cache/:key{.+}", requireRole("VIEWER"), async (c) => {
    const key = keyOf(c.req.param("key"));
    const cache = await edgeCache(c.env, c.executionCtx);
    const { strategy } = cache.registry.forKey(key);
    const result = await cache.engine.read({ key, strategy }, c.executionCtx);
    cache.scheduleFlushes(c.executionCtx);
    cacheHeaders(c, result, strategy);
    const e = result.envelope;
    if (!e || e.negative) return jsonError(c, 404, "not_found", `path.key: ${key} is not cached`, "path.key");
    return c.json({ key, value: e.value, tags: e.tags, strategy: strategy.name, storedAt: new Date(e.storedAt).toISOString() });
  })
  .put("/v1/cache/:key{.+}", requireRole("OPERATOR"), async (c) => {
    const key = keyOf(c.req.param("key"));
    const body = validate(putBody, await readJsonBody(c.req.raw, MAX_VALUE_BYTES), "body");
    const cache = await edgeCache(c.env, c.executionCtx);
    const { strategy } = cache.registry.forKey(key);
    const ttlMs = (body.ttl ?? strategy.ttlMs / 1000) * 1000;
    // Bump the key first and stamp the value with that bump: every other isolate drops its old copy.
    const seq = await bumpKey(cache, key);
    if (seq === undefined) c.header("strata-warning", "invalidation-pending");
    const envelope = await cache.engine.put(
      key,
      strategy,
      { value: body.value, version: String(Date.now()), tags: body.tags ?? [] },
      { ttlMs, ...(seq !== undefined ? { epochs: { "#": seq } } : {}) },
    );
    return c.json({ key, strategy: strategy.name, ttl: ttlMs / 1000, tags: envelope.tags, storedAt: new Date(envelope.storedAt).toISOString() });
  })
  .delete("/v1/cache/:key{.+}", requireRole("OPERATOR"), async (c) => {
    const key = keyOf(c.req.param("key"));
    const cache = await edgeCache(c.env, c.executionCtx);
    // The bump reaches every isolate and colo; the delete frees what this one can reach now.
    if ((await bumpKey(cache, key)) === undefined) c.header("strata-warning", "invalidation-pending");
    await cache.engine.delete(key);
    return c.body(null, 204);
  });
