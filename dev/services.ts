/**
 * @module Finds or starts the two stateful services the stack needs (Postgres, Redis).
 *
 * Order of preference, so a developer's own servers always win over anything we spawn:
 * an explicit URL from the environment, then the conventional local port, then a
 * process we start ourselves (PGlite in-process for Postgres, `redis-server` for Redis).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { join } from "node:path";
import pg from "pg";
import { defaultDatabaseUrl, redactDatabaseUrl } from "../db/url.ts";

export interface ServiceHandle {
  url: string;
  /** Where the service came from: the environment, a local server we found, or one we started. */
  origin: "env" | "local" | "spawned" | "pglite";
  /** Human-readable caveats (e.g. PGlite's single-session limits). */
  notes: string[];
  /** The process we started, when we started one (so a crashed parent's leftovers can be found). */
  pid?: number;
  stop(): Promise<void>;
}

const noop = async (): Promise<void> => {};

export function isPortOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.connect(port, host);
  });
}

export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(host: string, port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await isPortOpen(host, port, 200)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

export function onPath(binary: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${binary}`], { stdio: "ignore" }).status === 0;
}

export interface EnsurePostgresOptions {
  env?: NodeJS.ProcessEnv;
  /** Directory for PGlite's data; in-memory when omitted. */
  pgliteDataDir?: string;
  pglitePort?: number;
  /** The conventional local port to probe (5432; tests pass a closed one to reach the fallback). */
  localPort?: number;
}

export async function ensurePostgres(opts: EnsurePostgresOptions = {}): Promise<ServiceHandle> {
  const env = opts.env ?? process.env;
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, origin: "env", notes: [], stop: noop };
  // The local server as libpq would find it (PGHOST, PGPORT, PGUSER, PGPASSWORD), `postgres` database.
  const url = new URL(defaultDatabaseUrl({ ...env, DATABASE_URL: undefined }));
  if (opts.localPort !== undefined) url.port = String(opts.localPort);
  const host = url.searchParams.get("host") ? "127.0.0.1" : url.hostname.replace(/^\[|\]$/g, "");
  if (await isPortOpen(host, Number(url.port || 5432))) {
    await assertCanLogIn(url.toString());
    return { url: url.toString(), origin: "local", notes: [], stop: noop };
  }
  return startPglite(opts);
}

/** A server that listens but refuses us is a setup problem to report, not a reason to fall back silently. */
async function assertCanLogIn(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query("select 1");
  } catch (error) {
    throw new Error(
      `PostgreSQL is listening at ${redactDatabaseUrl(url)} but refused us (${error instanceof Error ? error.message : String(error)}). ` +
        "Set DATABASE_URL, or PGUSER/PGPASSWORD, to a role that may create databases.",
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function startPglite(opts: EnsurePostgresOptions): Promise<ServiceHandle> {
  // Loaded lazily: PGlite's WASM costs ~2.5 s and most machines never need it.
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  if (opts.pgliteDataDir) mkdirSync(opts.pgliteDataDir, { recursive: true });
  const db = await PGlite.create(opts.pgliteDataDir);
  const port = opts.pglitePort ?? (await freePort());
  // PGlite is one backend session; the socket server multiplexes clients onto it query by query.
  const server = new PGLiteSocketServer({ db, port, host: "127.0.0.1", maxConnections: 100 });
  await server.start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    origin: "pglite",
    notes: [
      "PGlite is a single Postgres session shared by every connection:",
      "SET, temp tables and an open transaction are visible to (and block) all other connections;",
      "fine for trying Strata out, not for load or concurrency tests. Install postgresql for those.",
    ],
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}

export interface EnsureRedisOptions {
  env?: NodeJS.ProcessEnv;
  /** Working directory for a spawned redis-server (it keeps nothing on disk). */
  workDir?: string;
  /** The conventional local port to probe (6379; tests pass a closed one to reach the fallback). */
  localPort?: number;
}

export async function ensureRedis(opts: EnsureRedisOptions = {}): Promise<ServiceHandle> {
  const env = opts.env ?? process.env;
  if (env.REDIS_URL) return { url: env.REDIS_URL, origin: "env", notes: [], stop: noop };
  const localPort = opts.localPort ?? 6379;
  if (await isPortOpen("127.0.0.1", localPort)) {
    return { url: `redis://127.0.0.1:${localPort}`, origin: "local", notes: [], stop: noop };
  }
  if (!onPath("redis-server")) {
    throw new Error(
      "Redis is not reachable on 127.0.0.1:6379, REDIS_URL is not set, and redis-server is not on PATH. " +
        "Install it (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`) or set REDIS_URL.",
    );
  }
  const port = await freePort();
  const dir = opts.workDir ?? join(process.cwd(), ".dev", "redis");
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    { stdio: "ignore" },
  );
  if (!(await waitForPort("127.0.0.1", port, 10_000))) {
    child.kill("SIGKILL");
    throw new Error(`redis-server did not start listening on 127.0.0.1:${port} within 10 s`);
  }
  return { url: `redis://127.0.0.1:${port}`, origin: "spawned", notes: [], pid: child.pid, stop: () => stopChild(child) };
}

/** SIGTERM, then SIGKILL after a grace period; resolves once the process has exited. */
export function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/**
 * A fresh database `<prefix>_<pid>_<random>` on the server at `serverUrl`, and how to drop it. On
 * PGlite (one database only) it is the server's own database, and dropping it does nothing:
 * isolation then rests on key prefixes and unique names.
 */
export async function createScratchDatabase(serverUrl: string, prefix: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${process.pid}_${randomBytes(3).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } catch {
    await admin.end();
    return { url: serverUrl, drop: noop };
  }
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}
