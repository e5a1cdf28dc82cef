/**
 * @module Bearer API-key authentication and role checks for the worker.
 *
 * 401 when the key is missing, malformed, unknown, revoked or its owner is inactive; 403 when it
 * is valid but its role is below the route's. A key's effective role is capped by its owner's
 * role, so demoting a user demotes every key they hold.
 */
import { and, eq, isNull, lt, or } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { digestsEqual, hashApiKey, parseApiKey } from "../core/auth/api-key.ts";
import { roleAtLeast, type Role } from "../core/auth/roles.ts";
import { bounded } from "../core/timeout.ts";
import { apiKeys, users } from "../db/schema/index.ts";
import { dependencyTimeoutMs, edgeDb } from "./deps.ts";
import type { AppEnv, AuthContext } from "./env.ts";
import { jsonError } from "./errors.ts";

/**
 * Verified keys are remembered briefly so a burst of authenticated calls costs one SQL query,
 * not one each. Revocation through the API evicts the entry here at once; other isolates
 * notice within this window.
 */
const VERIFIED_TTL_MS = 5_000;
const LAST_USED_RESOLUTION_MS = 60_000;
const verified = new Map<string, { auth: AuthContext; until: number }>();

export function forgetVerifiedKey(keyId: string): void {
  for (const [hash, entry] of verified) if (entry.auth.keyId === keyId) verified.delete(hash);
}

export function requireRole(required: Role): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // RFC 9110 §11.1: the auth scheme is case-insensitive.
    const match = /^bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "");
    const token = match?.[1];
    if (!token) {
      c.header("www-authenticate", 'Bearer realm="strata"');
      return jsonError(c, 401, "unauthorized", "missing bearer API key in the Authorization header", "headers.authorization");
    }
    const parsed = parseApiKey(token);
    if (!parsed) return jsonError(c, 401, "unauthorized", "malformed API key", "headers.authorization");

    const hash = await hashApiKey(parsed.key);
    const now = Date.now();
    let auth = verified.get(hash);
    if (!auth || auth.until < now) {
      verified.delete(hash);
      // A failing lookup throws a DependencyError → 503: without Postgres no key can be verified,
      // and failing open would be worse.
      const found = await lookup(c.env, parsed.prefix, hash);
      if (!found) return jsonError(c, 401, "unauthorized", "unknown or revoked API key", "headers.authorization");
      auth = { auth: found.auth, until: now + VERIFIED_TTL_MS };
      verified.set(hash, auth);
      if (found.lastUsedStale) c.executionCtx.waitUntil(touch(c.env, found.auth.keyId));
    }
    if (!roleAtLeast(auth.auth.role, required)) {
      return jsonError(c, 403, "forbidden", `this route needs role ${required} or higher; the key has ${auth.auth.role}`);
    }
    c.set("auth", auth.auth);
    await next();
  };
}

async function lookup(env: AppEnv["Bindings"], prefix: string, hash: string) {
  const db = edgeDb(env);
  const rows = await bounded(
    () =>
      db
      .select({
        id: apiKeys.id,
        userId: apiKeys.userId,
        keyRole: apiKeys.role,
        keyHash: apiKeys.keyHash,
        revokedAt: apiKeys.revokedAt,
        lastUsedAt: apiKeys.lastUsedAt,
        userRole: users.role,
        userActive: users.isActive,
      })
      .from(apiKeys)
      .innerJoin(users, eq(users.id, apiKeys.userId))
      .where(eq(apiKeys.keyPrefix, prefix))
      .limit(1),
    dependencyTimeoutMs(env),
    "postgres",
  );
  const row = rows[0];
  if (!row || row.revokedAt !== null || !row.userActive || !digestsEqual(row.keyHash, hash)) return null;
  const role: Role = roleAtLeast(row.userRole, row.keyRole) ? row.keyRole : row.userRole;
  const lastUsedStale = !row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS;
  return { auth: { keyId: row.id, userId: row.userId, role }, lastUsedStale };
}

/** Records use at minute resolution: one write per key per minute at most, off the request path. */
async function touch(env: AppEnv["Bindings"], keyId: string): Promise<void> {
  const db = edgeDb(env);
  const cutoff = new Date(Date.now() - LAST_USED_RESOLUTION_MS);
  await bounded(
    () =>
      db
      .update(apiKeys)
      .set({ lastUsedAt: new Date() })
      .where(and(eq(apiKeys.id, keyId), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, cutoff)))),
    dependencyTimeoutMs(env),
    "postgres",
  ).catch((error: unknown) => console.warn(JSON.stringify({ level: "warn", msg: "api key touch failed", error: String(error) })));
}
