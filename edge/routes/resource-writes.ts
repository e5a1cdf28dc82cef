/**
 * @module Resource writes: `PUT | DELETE /v1/resources/{type}/{id}`, shells over core/write. The
 * strategy's behaviour picks write-through, write-behind or write-around; `If-Match` makes the
 * write conditional on the version the client last saw.
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { tagSchema } from "../../core/invalidation/messages.ts";
import { DependencyError } from "../../core/timeout.ts";
import { RESOURCE_SLUGS, resourceTypeFromSlug, type ResourceType } from "../../core/types.ts";
import type { WriteResult } from "../../core/write/write-path.ts";
import { requireRole } from "../auth.ts";
import { edgeCache } from "../cache.ts";
import type { AppEnv } from "../env.ts";
import { HttpError, jsonError, readJsonBody, validate } from "../errors.ts";
import { writePath } from "../writes.ts";

const MAX_BODY_BYTES = 1024 * 1024;
const slug = z.enum(RESOURCE_SLUGS as [string, ...string[]], { message: `must be one of ${RESOURCE_SLUGS.join(", ")}` });
const itemParams = z.object({ type: slug, id: z.uuid({ message: "must be a UUID" }) });
const putBody = z.strictObject({
  payload: z.record(z.string(), z.json(), { message: "must be a JSON object" }),
  tags: z.array(tagSchema).max(16).optional(),
  dependsOn: z.array(z.uuid({ message: "must be a UUID" })).max(100).optional(),
});

/** `If-Match: "<version>"` or `*`; anything else is a 400 naming the header (weak tags never match a write). */
function ifMatchOf(c: Context): number | "*" | undefined {
  const raw = c.req.header("if-match");
  if (raw === undefined) return undefined;
  const value = raw.trim();
  if (value === "*") return "*";
  const m = /^"(\d{1,15})"$/.exec(value);
  if (!m) throw new HttpError(400, "invalid_request", 'headers.if-match: must be "*" or one strong ETag like "3"', "headers.if-match");
  return Number(m[1]);
}

function preconditionFailed(c: Context, current: number | null) {
  if (current !== null) c.header("etag", `"${current}"`);
  return jsonError(
    c,
    412,
    "precondition_failed",
    current === null ? "headers.if-match: the resource does not exist" : `headers.if-match: the current version is ${current}`,
    "headers.if-match",
  );
}

function mode(behavior: string): string {
  return behavior === "WRITE_THROUGH" ? "write-through" : behavior === "WRITE_BEHIND" ? "write-behind" : "write-around";
}

export const resourceWriteRoutes = new Hono<AppEnv>()
  .put("/v1/resources/:type/:id", requireRole("OPERATOR"), async (c) => {
    const { type: typeSlug, id } = validate(itemParams, c.req.param(), "path");
    const ifMatch = ifMatchOf(c);
    const body = validate(putBody, await readJsonBody(c.req.raw, MAX_BODY_BYTES), "body");
    const lowerId = id.toLowerCase();
    if (body.dependsOn?.some((d) => d.toLowerCase() === lowerId)) {
      throw new HttpError(400, "invalid_request", "body.dependsOn: a resource cannot depend on itself", "body.dependsOn");
    }
    const type = resourceTypeFromSlug(typeSlug) as ResourceType;
    const cache = await edgeCache(c.env, c.executionCtx);
    const strategy = cache.registry.forResourceType(type) ?? cache.registry.defaultStrategy;
    let result: WriteResult;
    try {
      result = await writePath(c.env, cache).put(
        { type, id: lowerId, payload: body.payload, tags: [...new Set(body.tags ?? [])], dependsOn: body.dependsOn?.map((d) => d.toLowerCase()), ifMatch },
        strategy,
        c.get("auth").userId,
      );
    } catch (error) {
      // A dependency on a resource that does not exist: the edge's foreign key refused it.
      if (error instanceof DependencyError && error.sqlState === "23503") {
        throw new HttpError(400, "invalid_request", "body.dependsOn: every id must name an existing resource", "body.dependsOn");
      }
      throw error;
    }
    if (result.status === 412) return preconditionFailed(c, result.current);
    if (result.status === 409) {
      return jsonError(c, 409, "conflict", `path.id: ${id} is a ${result.actualType.toLowerCase().replaceAll("_", "-")}, not a ${typeSlug}`, "path.id");
    }
    c.header("etag", `"${result.version}"`);
    c.header("strata-write", mode(strategy.behavior));
    if (result.warnings.length > 0) c.header("strata-warning", result.warnings.join(", "));
    return c.json(result.value.value, result.status);
  })
  .delete("/v1/resources/:type/:id", requireRole("OPERATOR"), async (c) => {
    const { type: typeSlug, id } = validate(itemParams, c.req.param(), "path");
    const ifMatch = ifMatchOf(c);
    const type = resourceTypeFromSlug(typeSlug) as ResourceType;
    const cache = await edgeCache(c.env, c.executionCtx);
    const strategy = cache.registry.forResourceType(type) ?? cache.registry.defaultStrategy;
    const result = await writePath(c.env, cache).remove(type, id, strategy, ifMatch, c.get("auth").userId);
    if (result.status === 404) return jsonError(c, 404, "not_found", `path.id: no ${typeSlug} ${id}`, "path.id");
    if (result.status === 412) return preconditionFailed(c, result.current);
    c.header("strata-write", mode(strategy.behavior));
    if (result.warnings.length > 0) c.header("strata-warning", result.warnings.join(", "));
    if (result.status === 202) return c.json({ id: id.toLowerCase(), type: typeSlug, version: result.version, deleted: true }, 202);
    return c.body(null, 204);
  });
