import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { hashApiKey } from "../../core/auth/api-key.ts";
import { apiKeys, users } from "../../db/schema/index.ts";
import { app } from "../../edge/index.ts";
import { call, createKey, createUser, db, testEnv } from "./helpers.ts";

interface ErrorJson {
  error: { code: string; message: string; field?: string };
}

describe("API-key auth (workerd, real Postgres via the Neon bridge)", () => {
  it("answers 401 with a JSON error when no key is sent", async () => {
    const res = await call("/v1/auth/whoami");
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
    const body = (await res.json()) as ErrorJson;
    expect(body.error.code).toBe("unauthorized");
    expect(body.error.field).toBe("headers.authorization");
  });

  it("answers 401 for a malformed key and for a well-formed but unknown key", async () => {
    expect((await call("/v1/auth/whoami", { key: "not-a-strata-key" })).status).toBe(401);
    const unknown = "strata_abcdefgh_" + "x".repeat(32);
    expect((await call("/v1/auth/whoami", { key: unknown })).status).toBe(401);
  });

  it("accepts a valid key and reports who it belongs to", async () => {
    const viewer = await createKey("VIEWER");
    const res = await call("/v1/auth/whoami", { key: viewer.key });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ keyId: viewer.id, userId: viewer.userId, role: "VIEWER" });
  });

  it("answers 403 when a VIEWER key calls an OPERATOR route, 200 for an OPERATOR key", async () => {
    const viewer = await createKey("VIEWER");
    const res = await call("/v1/api-keys", { key: viewer.key });
    expect(res.status).toBe(403);
    expect(((await res.json()) as ErrorJson).error.code).toBe("forbidden");
    const operator = await createKey("OPERATOR");
    expect((await call("/v1/api-keys", { key: operator.key })).status).toBe(200);
  });

  it("caps a key's role at its owner's role", async () => {
    const key = await createKey("ADMIN", "VIEWER");
    expect((await call("/v1/api-keys", { key: key.key })).status).toBe(403);
  });

  it("answers 401 for a revoked key, revoked directly in the database", async () => {
    const operator = await createKey("OPERATOR");
    await db().update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, operator.id));
    expect((await call("/v1/auth/whoami", { key: operator.key })).status).toBe(401);
  });

  it("revokes through the API at once, even for a key this isolate just verified", async () => {
    const admin = await createKey("ADMIN");
    const victim = await createKey("OPERATOR");
    expect((await call("/v1/auth/whoami", { key: victim.key })).status).toBe(200);
    const res = await call(`/v1/api-keys/${victim.id}`, { method: "DELETE", key: admin.key });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { revokedAt: string | null }).revokedAt).not.toBeNull();
    expect((await call("/v1/auth/whoami", { key: victim.key })).status).toBe(401);
  });

  it("issues a key whose plaintext is returned once and never stored", async () => {
    const admin = await createKey("ADMIN");
    const res = await call("/v1/api-keys", {
      method: "POST",
      key: admin.key,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "ci deploy", role: "OPERATOR" }),
    });
    expect(res.status).toBe(201);
    const issued = (await res.json()) as { id: string; key: string; prefix: string; role: string };
    expect(issued.role).toBe("OPERATOR");
    expect(issued.key.startsWith(`strata_${issued.prefix}_`)).toBe(true);
    expect((await call("/v1/auth/whoami", { key: issued.key })).status).toBe(200);

    // No column of any api_keys row holds the plaintext; the stored hash is SHA-256 of it.
    const rows = await db().execute(sql`select row_to_json(k)::text as j, key_hash from api_keys k`);
    for (const row of rows.rows as Array<{ j: string }>) expect(row.j).not.toContain(issued.key);
    const [stored] = await db().select({ hash: apiKeys.keyHash }).from(apiKeys).where(eq(apiKeys.id, issued.id));
    expect(stored?.hash).toBe(await hashApiKey(issued.key));
  });

  it("rejects bad input with a 400 naming the field", async () => {
    const admin = await createKey("ADMIN");
    const post = (body: string) =>
      call("/v1/api-keys", { method: "POST", key: admin.key, headers: { "content-type": "application/json" }, body });
    const badRole = (await (await post(JSON.stringify({ name: "x", role: "ROOT" }))).json()) as ErrorJson;
    expect(badRole.error.field).toBe("body.role");
    const res = await post("{not json");
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorJson).error.field).toBe("body");
    const badId = await call("/v1/api-keys/not-a-uuid", { method: "DELETE", key: admin.key });
    expect(badId.status).toBe(400);
    expect(((await badId.json()) as ErrorJson).error.field).toBe("path.id");
    const missing = await call(`/v1/api-keys/${crypto.randomUUID()}`, { method: "DELETE", key: admin.key });
    expect(missing.status).toBe(404);
  });

  it("records last use without a write per request", async () => {
    const viewer = await createKey("VIEWER");
    expect((await call("/v1/auth/whoami", { key: viewer.key })).status).toBe(200);
    // The touch runs in waitUntil; poll briefly for it.
    let lastUsed: Date | null = null;
    for (let i = 0; i < 50 && !lastUsed; i++) {
      const [row] = await db().select({ t: apiKeys.lastUsedAt }).from(apiKeys).where(eq(apiKeys.id, viewer.id));
      lastUsed = row?.t ?? null;
      if (!lastUsed) await new Promise((r) => setTimeout(r, 50));
    }
    expect(lastUsed).toBeInstanceOf(Date);
  });
});

describe("API-key auth when Postgres fails", () => {
  async function withEnv(path: string, key: string, overrides: Record<string, string>): Promise<Response> {
    const ctx = createExecutionContext();
    const res = await app.fetch(
      new Request(`http://strata.test${path}`, { headers: { authorization: `Bearer ${key}` } }),
      { ...testEnv, ...overrides },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return res;
  }
  const down = { DATABASE_URL: "postgres://nobody@127.0.0.1:9/none" };

  it("fails closed with 503 naming postgres when a key cannot be verified", async () => {
    const operator = await createKey("OPERATOR");
    const res = await withEnv("/v1/auth/whoami", operator.key, down);
    expect(res.status).toBe(503);
    const body = (await res.json()) as ErrorJson & { error: { dependency?: string } };
    expect(body.error).toMatchObject({ code: "dependency_unavailable", dependency: "postgres" });
  });

  it("answers 503, not 500, when a route's query fails after the key was verified from the isolate cache", async () => {
    const operator = await createKey("OPERATOR");
    expect((await call("/v1/api-keys", { key: operator.key })).status).toBe(200);
    const res = await withEnv("/v1/api-keys", operator.key, down);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
  });

  it("bounds a Postgres that never answers", async () => {
    const operator = await createKey("OPERATOR");
    const started = Date.now();
    const res = await withEnv("/v1/auth/whoami", operator.key, {
      DATABASE_URL: `postgres://nobody@127.0.0.1:${testEnv.TEST_BLACKHOLE_PORT}/none`,
      DEPENDENCY_TIMEOUT_MS: "300",
    });
    expect(res.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe("API-key edge cases", () => {
  it("accepts the bearer scheme in any case", async () => {
    const viewer = await createKey("VIEWER");
    const res = await call("/v1/auth/whoami", { headers: { authorization: `bearer ${viewer.key}` } });
    expect(res.status).toBe(200);
  });

  it("refuses to issue a key above its owner's role or for a deactivated owner", async () => {
    const admin = await createKey("ADMIN");
    const viewerId = await createUser("VIEWER");
    const post = (body: unknown) =>
      call("/v1/api-keys", { method: "POST", key: admin.key, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const tooHigh = await post({ name: "x", role: "OPERATOR", userId: viewerId });
    expect(tooHigh.status).toBe(400);
    expect(((await tooHigh.json()) as ErrorJson).error.field).toBe("body.role");
    expect((await post({ name: "x", role: "VIEWER", userId: viewerId })).status).toBe(201);
    await db().update(users).set({ isActive: false }).where(eq(users.id, viewerId));
    const inactive = await post({ name: "x", role: "VIEWER", userId: viewerId });
    expect(inactive.status).toBe(400);
    expect(((await inactive.json()) as ErrorJson).error.field).toBe("body.userId");
  });
});
