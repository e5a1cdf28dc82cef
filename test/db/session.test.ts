/**
 * The maintenance tools' bounds (db/session.ts) and their command lines: a stuck server, a slow
 * statement or a held lock fails in bounded time, and `node db/migrate.ts` / `node db/seed.ts`
 * really run when started as scripts (and exit non-zero when they fail).
 */
import { execFile } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateDatabase } from "../../db/migrate.ts";
import { seedDatabase } from "../../db/seed.ts";
import { SESSION_DEFAULTS, closeSession, openSession, waitForAdvisoryLock } from "../../db/session.ts";
import { type ScratchDatabase, SQLSTATE, createMigratedDatabase, expectPgError } from "./helpers.ts";

const run = promisify(execFile);
const ROOT = path.join(import.meta.dirname, "../..");

let scratch: ScratchDatabase;
/** Accepts TCP connections and never says a word: a hung server, as the client sees it. */
let silent: net.Server;
let silentUrl: string;
const sockets = new Set<net.Socket>();

beforeAll(async () => {
  scratch = await createMigratedDatabase();
  silent = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
  });
  await new Promise<void>((ready) => silent.listen(0, "127.0.0.1", ready));
  const address = silent.address();
  if (address === null || typeof address === "string") throw new Error("silent server has no port");
  silentUrl = `postgres://postgres@127.0.0.1:${address.port}/postgres`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((closed) => silent?.close(closed));
  await scratch?.drop();
});

describe("openSession", () => {
  it("sets the statement and lock timeouts on the session", async () => {
    const client = await openSession(scratch.url);
    try {
      const { rows } = await client.query<{ statement: string; lock: string }>(
        "SELECT current_setting('statement_timeout') AS statement, current_setting('lock_timeout') AS lock",
      );
      expect(rows[0]).toEqual({ statement: "2min", lock: "15s" });
      expect(SESSION_DEFAULTS).toMatchObject({ connectTimeoutMs: 10_000, statementTimeoutMs: 120_000 });
    } finally {
      await closeSession(client);
    }
  });

  it("cancels a statement that runs past statementTimeoutMs", async (ctx) => {
    // PGlite runs queries to completion on its single thread: nothing there can interrupt pg_sleep.
    if (scratch.kind === "pglite") ctx.skip("needs a PostgreSQL server (PGlite stood in)");
    const client = await openSession(scratch.url, { statementTimeoutMs: 200 });
    try {
      const started = performance.now();
      await expectPgError(client.query("SELECT pg_sleep(5)"), SQLSTATE.queryCanceled);
      expect(performance.now() - started).toBeLessThan(3_000);
    } finally {
      await closeSession(client);
    }
  });

  it("refuses nonsensical bounds", async () => {
    await expect(openSession(scratch.url, { statementTimeoutMs: 0 })).rejects.toThrow(RangeError);
    await expect(openSession(scratch.url, { connectTimeoutMs: 1.5 })).rejects.toThrow(RangeError);
  });
});

describe("a server that accepts connections but never answers", () => {
  it("fails migrate and seed within connectTimeoutMs instead of hanging", async () => {
    for (const work of [
      () => migrateDatabase(silentUrl, { connectTimeoutMs: 300 }),
      () => seedDatabase(silentUrl, { connectTimeoutMs: 300, resources: 8 }),
    ]) {
      const started = performance.now();
      await expect(work()).rejects.toThrow(/timeout/i);
      expect(performance.now() - started).toBeLessThan(3_000);
    }
  });
});

describe("waitForAdvisoryLock", () => {
  it("retries until the lock is free", async () => {
    let attempts = 0;
    await waitForAdvisoryLock(async () => ++attempts >= 3, { what: "seed", key: 42n, waitMs: 5_000 });
    expect(attempts).toBe(3);
  });

  it("gives up after waitMs with a message naming the tool and the lock", async () => {
    const started = performance.now();
    await expect(waitForAdvisoryLock(async () => false, { what: "seed", key: 42n, waitMs: 150 })).rejects.toThrow(
      "seed: advisory lock 42 is still held by another session after 150 ms",
    );
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(2_000);
  });
});

describe("command line", () => {
  const node = (script: string, databaseUrl: string, ...args: string[]) =>
    run(process.execPath, [script, ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl },
      timeout: 60_000,
    });

  it("node db/migrate.ts migrates (here: nothing left to apply) and reports it", async () => {
    const { stdout } = await node("db/migrate.ts", scratch.url);
    expect(stdout).toMatch(/^migrate: postgres:\/\/\S+: 0 applied, \d+ total \(\d+ ms\)$/m);
  });

  it("node db/seed.ts seeds", async () => {
    const { stdout } = await node("db/seed.ts", scratch.url, "--resources=8");
    expect(stdout).toMatch(/^seed: postgres:\/\/\S+: done in \d+ ms$/m);
    const client = await openSession(scratch.url);
    try {
      const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM resources");
      expect(rows[0]?.n).toBe(8);
    } finally {
      await closeSession(client);
    }
  });

  it("exits 1 with the reason when the database is unreachable", async () => {
    const closedPort = await new Promise<number>((found) => {
      const probe = net.createServer();
      probe.listen(0, "127.0.0.1", () => {
        const address = probe.address();
        probe.close(() => found(typeof address === "object" && address ? address.port : 1));
      });
    });
    const url = `postgres://postgres:hunter2@127.0.0.1:${closedPort}/postgres`;
    for (const script of ["db/migrate.ts", "db/seed.ts"]) {
      const failure = await node(script, url).then(
        () => undefined,
        (error: unknown) => error as { code: number; stderr: string },
      );
      expect(failure?.code, script).toBe(1);
      expect(failure?.stderr).toMatch(/failed/);
      expect(failure?.stderr).toMatch(/ECONNREFUSED/);
      expect(failure?.stderr, "the password is redacted").not.toContain("hunter2");
    }
  });
});
