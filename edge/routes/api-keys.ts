/**
 * @module API-key management: who am I (any role), list keys (OPERATOR), issue and revoke (ADMIN).
 * The plaintext of a key exists only in the response that issues it.
 */
import { desc, eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { generateApiKey } from "../../core/auth/api-key.ts";
import { ROLES, roleAtLeast } from "../../core/auth/roles.ts";
import { bounded } from "../../core/timeout.ts";
import { apiKeys, users } from "../../db/schema/index.ts";
import { forgetVerifiedKey, requireRole } from "../auth.ts";
import { dependencyTimeoutMs, edgeDb } from "../deps.ts";
import type { AppEnv, Bindings } from "../env.ts";
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

function query<T>(env: Bindings, work: (db: ReturnType<typeof edgeDb>) => Promise<T>): Promise<T> {
  const db = edgeDb(env);
  return bounded(() => work(db), dependencyTimeoutMs(env), "postgres");
}

export const apiKeyRoutes = new Hono<AppEnv>()
  .get("/v1/auth/whoami", requireRole("VIEWER"), (c) => c.json(c.get("auth")))
  .get("/v1/api-keys", requireRole("OPERATOR"), async (c) => {
    const rows = await query(c.env, (db) => db.select(publicColumns).from(apiKeys).orderBy(desc(apiKeys.createdAt)).limit(500));
    return c.json({ keys: rows });
  })
  .post("/v1/api-keys", requireRole("ADMIN"), async (c) => {
    const body = validate(createBody, await readJson(c.req.raw), "body");
    const userId = body.userId ?? c.get("auth").userId;
    const [owner] = await query(c.env, (db) =>
      db.select({ role: users.role, isActive: users.isActive }).from(users).where(eq(users.id, userId)).limit(1),
    );
    if (!owner) return jsonError(c, 404, "not_found", `body.userId: no user ${userId}`, "body.userId");
    if (!owner.isActive) return jsonError(c, 400, "invalid_request", `body.userId: user ${userId} is deactivated`, "body.userId");
    // A key above its owner's role would be silently capped at use; refuse it up front instead.
    if (!roleAtLeast(owner.role, body.role)) {
      return jsonError(c, 400, "invalid_request", `body.role: ${body.role} exceeds the owner's role ${owner.role}`, "body.role");
    }
    const generated = await generateApiKey();
    const [row] = await query(c.env, (db) =>
      db
        .insert(apiKeys)
        .values({ userId, name: body.name, role: body.role, keyPrefix: generated.prefix, keyHash: generated.hash })
        .returning(publicColumns),
    );
    return c.json({ ...row, key: generated.key }, 201);
  })
  .delete("/v1/api-keys/:id", requireRole("ADMIN"), async (c) => {
    const { id } = validate(keyIdParam, c.req.param(), "path");
    const [row] = await query(c.env, (db) =>
      // Revoking twice keeps the first revocation time: it is the one an audit needs.
      db.update(apiKeys).set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, now())` }).where(eq(apiKeys.id, id)).returning(publicColumns),
    );
    if (!row) return jsonError(c, 404, "not_found", `path.id: no API key ${id}`, "path.id");
    forgetVerifiedKey(id);
    return c.json(row);
  });
