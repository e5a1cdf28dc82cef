/**
 * Service discovery for `npm run dev` and `npm test`: environment first, then the local port,
 * then a process of our own. The fallbacks are reached by probing a port nothing listens on.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { ensurePostgres, ensureRedis, freePort, isPortOpen, onPath } from "../../dev/services.ts";

describe("ensureRedis", () => {
  it("prefers REDIS_URL from the environment", async () => {
    const handle = await ensureRedis({ env: { REDIS_URL: "redis://example.invalid:1" } });
    expect(handle).toMatchObject({ url: "redis://example.invalid:1", origin: "env" });
  });

  it("spawns redis-server when nothing listens, and stops it", async () => {
    expect(onPath("redis-server")).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), "strata-redis-"));
    const handle = await ensureRedis({ env: {}, localPort: await freePort(), workDir: dir });
    try {
      expect(handle.origin).toBe("spawned");
      const client = new Redis(handle.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await client.connect();
      expect(await client.ping()).toBe("PONG");
      client.disconnect();
    } finally {
      await handle.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    const port = Number(new URL(handle.url).port);
    expect(await isPortOpen("127.0.0.1", port)).toBe(false);
  });
});

describe("ensurePostgres", () => {
  it("prefers DATABASE_URL from the environment", async () => {
    const handle = await ensurePostgres({ env: { DATABASE_URL: "postgres://x@example.invalid/db" } });
    expect(handle).toMatchObject({ url: "postgres://x@example.invalid/db", origin: "env" });
  });

  it("falls back to PGlite behind a Postgres socket, and says what it cannot do", async () => {
    const handle = await ensurePostgres({ env: {}, localPort: await freePort() });
    try {
      expect(handle.origin).toBe("pglite");
      expect(handle.notes.join(" ")).toMatch(/single Postgres session/);
      const client = new pg.Client({ connectionString: handle.url });
      await client.connect();
      const r = await client.query<{ v: string }>("select gen_random_uuid()::text as v");
      expect(r.rows[0]?.v).toMatch(/^[0-9a-f-]{36}$/);
      await client.end();
    } finally {
      await handle.stop();
    }
  }, 60_000);
});
