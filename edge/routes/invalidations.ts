/**
 * @module The invalidation API: `POST /v1/invalidations` records a PENDING request, applies what
 * is O(1) at once (tag, strategy, layer and single-key epoch bumps: visible to every reader within
 * its poll interval), and queues the rest for the fan-out Lambda; `GET /v1/invalidations/{id}`
 * reports its status, exact key count and timings from the invalidation log.
 */
import { Hono } from "hono";
import { z } from "zod";
import { tagSchema } from "../../core/invalidation/messages.ts";
import { scopeOf } from "../../core/invalidation/epochs.ts";
import type { InvalidationTarget } from "../../core/invalidation/fanout.ts";
import type { InvalidationMessage } from "../../core/invalidation/messages.ts";
import { REQUESTABLE_INVALIDATION_TYPES, type InvalidationMode } from "../../core/invalidation/types.ts";
import { keyProblem } from "../../core/strategy/pattern.ts";
import type { StrategyRegistry } from "../../core/strategy/registry.ts";
import { bounded } from "../../core/timeout.ts";
import { LAYER_NAMES, RESOURCE_SLUGS, resourceTypeFromSlug, type ResourceType } from "../../core/types.ts";
import { failInvalidation, getInvalidation, insertPendingInvalidation } from "../../db/invalidation.ts";
import { queueByKey } from "../../functions/queues.ts";
import { requireRole } from "../auth.ts";
import { edgeCache, epochPollMs } from "../cache.ts";
import { dependencyTimeoutMs, edgeDb, edgeSqs } from "../deps.ts";
import type { AppEnv } from "../env.ts";
import { HttpError, jsonError, readJsonBody, validate } from "../errors.ts";

const noControl = (s: string) => !/[\u0000-\u001f\u007f]/.test(s);
const body = z.strictObject({
  type: z.enum(REQUESTABLE_INVALIDATION_TYPES, { message: `must be one of ${REQUESTABLE_INVALIDATION_TYPES.join(", ")}` }),
  key: z.string().min(1).max(500).refine(noControl, "control characters are not allowed").optional(),
  pattern: z.string().min(1).max(500).refine(noControl, "control characters are not allowed").optional(),
  tags: z.array(tagSchema).min(1).max(100).optional(),
  resource: z
    .strictObject({
      type: z.enum(RESOURCE_SLUGS as [string, ...string[]], { message: `must be one of ${RESOURCE_SLUGS.join(", ")}` }),
      id: z.uuid({ message: "must be a UUID" }),
    })
    .optional(),
  maxDepth: z.number().int().min(0).max(10).optional(),
  strategy: z.string().min(1).max(100).optional(),
  layer: z.enum(LAYER_NAMES, { message: `must be one of ${LAYER_NAMES.join(", ")}` }).optional(),
  mode: z
    .string()
    .transform((m) => m.toUpperCase())
    .pipe(z.enum(["SOFT", "HARD"], { message: "must be soft or hard" }))
    .default("HARD"),
  reason: z.string().max(1000).optional(),
});
type Body = z.infer<typeof body>;

function required<T>(value: T | undefined, field: string, type: string): T {
  if (value === undefined) throw new HttpError(400, "invalid_request", `body.${field}: is required for ${type}`, `body.${field}`);
  return value;
}

/** The one target the request names, checked against the registry where it names configuration. */
function targetOf(b: Body, registry: StrategyRegistry): InvalidationTarget {
  switch (b.type) {
    case "SINGLE_KEY": {
      const key = required(b.key, "key", b.type);
      const problem = keyProblem(key);
      if (problem) throw new HttpError(400, "invalid_request", `body.key: ${problem}`, "body.key");
      return { type: b.type, key };
    }
    case "PATTERN_MATCH": {
      const pattern = required(b.pattern, "pattern", b.type);
      // A bare wildcard is a flush of everything: that is MANUAL_FLUSH's job, with a named scope.
      if (/^\**$/.test(pattern)) throw new HttpError(400, "invalid_request", "body.pattern: must contain more than wildcards; use MANUAL_FLUSH for a whole strategy or layer", "body.pattern");
      return { type: b.type, pattern };
    }
    case "TAG_BASED":
      return { type: b.type, tags: [...new Set(required(b.tags, "tags", b.type))] };
    case "DEPENDENCY_CASCADE": {
      const r = required(b.resource, "resource", b.type);
      return {
        type: b.type,
        resource: { type: resourceTypeFromSlug(r.type) as ResourceType, id: r.id.toLowerCase() },
        ...(b.maxDepth !== undefined ? { maxDepth: b.maxDepth } : {}),
      };
    }
    case "MANUAL_FLUSH": {
      if ((b.strategy === undefined) === (b.layer === undefined)) {
        throw new HttpError(400, "invalid_request", "body.strategy: give exactly one of strategy (name or id) or layer", "body.strategy");
      }
      if (b.strategy !== undefined) {
        const s = registry.strategies.find((x) => x.name === b.strategy || x.id === b.strategy);
        if (!s) throw new HttpError(400, "invalid_request", `body.strategy: no active strategy ${JSON.stringify(b.strategy)}`, "body.strategy");
        return { type: b.type, strategyId: s.id };
      }
      const layer = registry.layers.find((l) => l.name === b.layer);
      if (!layer) throw new HttpError(400, "invalid_request", `body.layer: no layer ${b.layer}`, "body.layer");
      return { type: b.type, layerId: layer.id };
    }
  }
}

/** The scopes a target bumps without resolving anything: applied by the edge before it answers. */
function immediateScopes(t: InvalidationTarget): { scopes: string[]; part: string } | undefined {
  switch (t.type) {
    case "SINGLE_KEY":
      return { scopes: [scopeOf.key(t.key)], part: "k0" };
    case "TAG_BASED":
      return { scopes: t.tags.map(scopeOf.tag), part: "scopes" };
    case "MANUAL_FLUSH":
      return { scopes: [t.strategyId ? scopeOf.strategy(t.strategyId) : scopeOf.layer(t.layerId ?? "")], part: "scopes" };
    default:
      return undefined;
  }
}

function keyPatternOf(t: InvalidationTarget): string | undefined {
  return t.type === "SINGLE_KEY" ? t.key : t.type === "PATTERN_MATCH" ? t.pattern : undefined;
}

export const invalidationRoutes = new Hono<AppEnv>()
  .post("/v1/invalidations", requireRole("OPERATOR"), async (c) => {
    const b = validate(body, await readJsonBody(c.req.raw, 64 * 1024), "body");
    const cache = await edgeCache(c.env, c.executionCtx);
    const target = targetOf(b, cache.registry);
    const mode = b.mode as InvalidationMode;
    const id = crypto.randomUUID();
    const userId = c.get("auth").userId;
    const timeoutMs = dependencyTimeoutMs(c.env);
    const db = edgeDb(c.env);
    await bounded(
      () =>
        insertPendingInvalidation(db, {
          id,
          type: target.type,
          mode,
          keyPattern: keyPatternOf(target),
          triggerEvent: "MANUAL",
          triggerResource: target.type === "DEPENDENCY_CASCADE" ? target.resource : undefined,
          reason: b.reason,
          triggeredBy: userId,
          details: { target },
        }),
      timeoutMs,
      "postgres",
    );

    // Same idempotency id as the fan-out's own bump of this part: it will find it applied.
    const immediate = immediateScopes(target);
    let applied = false;
    if (immediate) {
      try {
        await cache.epochView.bump(immediate.scopes, mode, `${id}:${immediate.part}`);
        applied = true;
      } catch (error) {
        // Redis away: the fan-out retries the bump; the request still stands.
        console.warn(JSON.stringify({ level: "warn", msg: "immediate invalidation bump failed", id, error: String(error) }));
      }
    }

    const message: InvalidationMessage = {
      v: 1,
      kind: "invalidation",
      id,
      target,
      mode,
      ...(b.reason !== undefined ? { reason: b.reason } : {}),
      triggeredBy: userId,
      triggerEvent: "MANUAL",
      requestedAt: new Date().toISOString(),
    };
    try {
      await edgeSqs(c.env).send(queueByKey("invalidation").name, message);
    } catch (error) {
      const why = applied ? "queueing the fan-out failed after the epochs were bumped: entries are invalid, L2 cleanup did not run" : "queueing the fan-out failed";
      c.executionCtx.waitUntil(bounded(() => failInvalidation(db, id, `${why}: ${String(error)}`), timeoutMs, "postgres").catch(() => undefined));
      throw error;
    }
    c.header("location", `/v1/invalidations/${id}`);
    return c.json({ id, status: "PENDING", type: target.type, mode, applied: applied ? "epochs-bumped" : "queued" }, 202);
  })
  .get("/v1/invalidations/:id", requireRole("OPERATOR"), async (c) => {
    const { id } = validate(z.object({ id: z.uuid({ message: "must be a UUID" }) }), c.req.param(), "path");
    const record = await bounded(() => getInvalidation(edgeDb(c.env), id.toLowerCase()), dependencyTimeoutMs(c.env), "postgres");
    if (!record) return jsonError(c, 404, "not_found", `path.id: no invalidation ${id}`, "path.id");
    c.header("cache-control", "no-store");
    // Readers catch up on bumps at most epochPollMs after they land, and the fan-out bumps before
    // it completes: only from completedAt + epochPollMs is the old data unreachable everywhere.
    if (record.status === "DONE" && record.completedAt !== null) {
      const visibleAt = Date.parse(record.completedAt) + epochPollMs(c.env);
      const propagating = Date.now() < visibleAt;
      return c.json({ ...record, status: propagating ? "PROPAGATING" : "DONE", visibleEverywhereAt: new Date(visibleAt).toISOString() });
    }
    return c.json(record);
  });
