/** Shared fixtures for worker tests: users and keys created through the worker's own DB client. */
import { env, exports } from "cloudflare:workers";
import { generateApiKey } from "../../core/auth/api-key.ts";
import type { Role } from "../../core/auth/roles.ts";
import { httpDb } from "../../db/client.ts";
import { apiKeys, users } from "../../db/schema/index.ts";

export const testEnv: Cloudflare.Env = env;

export function db() {
  return httpDb({ databaseUrl: testEnv.DATABASE_URL, neonBridgeUrl: testEnv.NEON_BRIDGE_URL });
}

export async function createUser(role: Role): Promise<string> {
  const email = `${role.toLowerCase()}-${crypto.randomUUID()}@test.strata.local`;
  const [row] = await db().insert(users).values({ email, displayName: `Test ${role}`, role }).returning({ id: users.id });
  if (!row) throw new Error("user insert returned nothing");
  return row.id;
}

export async function createKey(role: Role, userRole: Role = role): Promise<{ key: string; id: string; userId: string }> {
  const userId = await createUser(userRole);
  const generated = await generateApiKey();
  const [row] = await db()
    .insert(apiKeys)
    .values({ userId, name: `test ${role}`, role, keyPrefix: generated.prefix, keyHash: generated.hash })
    .returning({ id: apiKeys.id });
  if (!row) throw new Error("key insert returned nothing");
  return { key: generated.key, id: row.id, userId };
}

export function call(path: string, init: RequestInit & { key?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.key) headers.set("authorization", `Bearer ${init.key}`);
  return exports.default.fetch(new Request(`http://strata.test${path}`, { ...init, headers }));
}
