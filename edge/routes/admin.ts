/**
 * @module Admin operations on this worker: `POST /v1/admin/cdn-purge` drops keys from this colo's
 * Cache API — the dev worker's half of the CDN purge port (core/invalidation/cdn-purge.ts,
 * LocalPurger). In production the CDN in front of the worker is purged through Cloudflare's API.
 */
import { Hono } from "hono";
import { z } from "zod";
import { requireRole } from "../auth.ts";
import { edgeCache } from "../cache.ts";
import type { AppEnv } from "../env.ts";
import { readJsonBody, validate } from "../errors.ts";

const purgeBody = z.strictObject({ keys: z.array(z.string().min(1).max(500)).min(1).max(100) });

export const adminRoutes = new Hono<AppEnv>().post("/v1/admin/cdn-purge", requireRole("ADMIN"), async (c) => {
  const { keys } = validate(purgeBody, await readJsonBody(c.req.raw, 128 * 1024), "body");
  const cache = await edgeCache(c.env, c.executionCtx);
  const cdn = cache.engine.cdn;
  let purged = 0;
  if (cdn) {
    const results = await Promise.allSettled([...new Set(keys)].map((k) => cdn.delete(k)));
    purged = results.filter((r) => r.status === "fulfilled").length;
  }
  // Isolate memory of this isolate too: a purge means "serve this from further down".
  for (const k of keys) cache.engine.l1.deleteSync(k);
  return c.json({ purged });
});
