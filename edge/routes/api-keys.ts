/**
 * @module API-key management: who am I (any role), list keys (OPERATOR), issue and revoke (ADMIN).
 * The plaintext of a key exists only in the response that issues it.
 */
import { desc, eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { generateApiKey } from "../../core/auth/api-key.ts";
import { ROLES } from "../../core/auth/roles.ts";
import { withTimeout } from "../../core/timeout.ts";
import { apiKeys, users } from "../../db/schema/index.ts";
import { forgetVerifiedKey, requireRole } from "../auth.ts";
import { edgeDeps } from "../deps.ts";
import type { AppEnv } from "../env.ts";
import { HttpError, jsonError, validate } from "../errors.ts";

const createBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  role: z.enum(ROLES),
  userId: z.uuid().optional(),
});
const keyIdParam = z.object({ id: z.uuid() });

const publicColumns = {
  id: apiKeys.id,
  name: apiKeys.name,
  prefix: apiKeys.keyPrefix,
  role: apiKeys.role,
  userId: apiKeys.userId,
  createdAt: apiKeys.createdAt,
  lastUsedAt: apiKeys.lastUsedAt,
  revokedAt: apiKeys.revokedAt,
};

async function readJson(req: Request): Promise<unknown> {
  try {
    return await req.json();
  } catch {
    throw new HttpError(400, "invalid_request", "body: must be a JSON object", "body");
  }
}

export const apiKeyRoutes = new Hono<AppEnv>()
  .get("/v1/auth/whoami", requireRole("VIEWER"), (c) => c.json(c.get("auth")))
  .get("/v1/api-keys", requireRole("OPERATOR"), async (c) => {
    const { db, timeoutMs } = edgeDeps(c.env);
    const rows = await withTimeout(db.select(publicColumns).from(apiKeys).orderBy(desc(apiKeys.createdAt)).limit(500), timeoutMs, "postgres");
    return c.json({ keys: rows });
  })
  .post("/v1/api-keys", requireRole("ADMIN"), async (c) => {
    const body = validate(createBody, await readJson(c.req.raw), "body");
    const { db, timeoutMs } = edgeDeps(c.env);
    const userId = body.userId ?? c.get("auth").userId;
    const owner = await withTimeout(db.select({ role: users.role }).from(users).where(eq(users.id, userId)).limit(1), timeoutMs, "postgres");
    if (!owner[0]) return jsonError(c, 404, "not_found", `body.userId: no user ${userId}`, "body.userId");
    const generated = await generateApiKey();
    const [row] = await withTimeout(
      db
        .insert(apiKeys)
        .values({ userId, name: body.name, role: body.role, keyPrefix: generated.prefix, keyHash: generated.hash })
        .returning(publicColumns),
      timeoutMs,
      "postgres",
    );
    return c.json({ ...row, key: generated.key }, 201);
  })
  .delete("/v1/api-keys/:id", requireRole("ADMIN"), async (c) => {
    const { id } = validate(keyIdParam, c.req.param(), "path");
    const { db, timeoutMs } = edgeDeps(c.env);
    const [row] = await withTimeout(
      // Revoking twice keeps the first revocation time: it is the one an audit needs.
      db.update(apiKeys).set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, now())` }).where(eq(apiKeys.id, id)).returning(publicColumns),
      timeoutMs,
      "postgres",
    );
    if (!row) return jsonError(c, 404, "not_found", `path.id: no API key ${id}`, "path.id");
    forgetVerifiedKey(id);
    return c.json(row);
  });
