/**
 * dev/fault-proxy.ts in front of the real Postgres and Redis, driven by the plain `pg` and
 * `ioredis` clients: each mode as a client experiences it, the HTTP control plane, and clean-up.
 */
import { randomBytes } from "node:crypto";
import { connect as tcpConnect, type Socket } from "node:net";
import { Redis as IORedis, type RedisOptions } from "ioredis";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { startFaultControl, startFaultProxy, type FaultMode, type FaultProxy } from "../../dev/fault-proxy.ts";

// inject() is empty when the suite runs without the project's global setup.
const databaseUrl = (inject("databaseUrl") as string | undefined) ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const redisUrl = (inject("redisUrl") as string | undefined) ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const db = new URL(databaseUrl);
const redis = new URL(redisUrl);
const key = `test:fault-proxy:${randomBytes(6).toString("hex")}`;

let pgProxy: FaultProxy;
let redisProxy: FaultProxy;
/** Clients a test opened, ended after it (in `up`, so a hung connection cannot stall the end). */
const cleanups: Array<() => Promise<void>> = [];

beforeEach(async () => {
  pgProxy = await startFaultProxy({ target: { host: db.hostname, port: Number(db.port || 5432) } });
  redisProxy = await startFaultProxy({ target: { host: redis.hostname, port: Number(redis.port || 6379) } });
});

afterEach(async () => {
  pgProxy.setMode("up");
  redisProxy.setMode("up");
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  await pgProxy.close();
  await redisProxy.close();
});

function pgClient(config: pg.ClientConfig = {}): pg.Client {
  const url = new URL(databaseUrl);
  url.hostname = pgProxy.host;
  url.port = String(pgProxy.port);
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5_000, ...config });
  // A connection killed by `refuse` while idle is reported as an event; unheard, it would crash the run.
  client.on("error", () => {});
  cleanups.push(() => client.end());
  return client;
}

function redisClient(options: RedisOptions = {}): IORedis {
  // No retries and no offline queue: a failure must surface to the caller instead of being papered over.
  const client = new IORedis({
    host: redisProxy.host,
    port: redisProxy.port,
    protocol: 2,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    lazyConnect: true,
    ...options,
  });
  client.on("error", () => {});
  cleanups.push(async () => {
    client.disconnect();
  });
  return client;
}

/** How long `promise` takes to settle, and how: the error when it rejects. */
async function timed(promise: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = performance.now();
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  return { ms: performance.now() - started, error };
}

async function waitFor(check: () => boolean, timeoutMs = 3_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

function openTcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r.startsWith("TCP")).length;
}

describe("up", () => {
  it("forwards Postgres and Redis traffic both ways", async () => {
    expect(pgProxy.mode).toBe("up");
    const client = pgClient();
    await client.connect();
    expect((await client.query<{ v: string }>("select $1::text as v", ["through"])).rows).toEqual([{ v: "through" }]);
    expect(pgProxy.connections).toBe(1);

    const r = redisClient();
    await r.connect();
    await r.set(key, "value", "EX", 60);
    expect(await r.get(key)).toBe("value");
    expect(redisProxy.connections).toBe(1);
  });

  it("carries payloads far larger than socket buffers in both directions", async () => {
    const client = pgClient();
    await client.connect();
    const big = "x".repeat(3 * 1024 * 1024);
    const { rows } = await client.query<{ n: number; tail: string }>("select length($1::text) as n, right(repeat('y', 4000000), 3) as tail", [big]);
    expect(rows).toEqual([{ n: big.length, tail: "yyy" }]);

    const r = redisClient();
    await r.connect();
    await r.set(key, big, "EX", 60);
    expect((await r.get(key))?.length).toBe(big.length);
  });
});

describe("refuse", () => {
  it("resets open connections at once and every new one on arrival", async () => {
    const client = pgClient();
    await client.connect();
    const r = redisClient();
    await r.connect();
    await r.ping();

    pgProxy.setMode("refuse");
    redisProxy.setMode("refuse");
    expect(pgProxy.connections).toBe(0);
    expect(redisProxy.connections).toBe(0);

    const existing = await timed(client.query("select 1"));
    expect(existing.error).toBeInstanceOf(Error);
    expect(existing.ms).toBeLessThan(1_000);
    const existingRedis = await timed(r.ping());
    expect(existingRedis.error).toBeInstanceOf(Error);
    expect(existingRedis.ms).toBeLessThan(1_000);

    const fresh = await timed(pgClient().connect());
    expect(String(fresh.error)).toMatch(/ECONNRESET|terminated|closed/i);
    expect(fresh.ms).toBeLessThan(1_000);
    const freshRedis = await timed(redisClient().connect());
    expect(String(freshRedis.error)).toMatch(/ECONNRESET|closed/i);
    expect(freshRedis.ms).toBeLessThan(1_000);
    expect(pgProxy.connections).toBe(0);
  });

  it("works again for new connections once back up", async () => {
    pgProxy.setMode("refuse");
    await expect(pgClient().connect()).rejects.toThrow();
    pgProxy.setMode("up");
    const client = pgClient();
    await client.connect();
    expect((await client.query("select 1 as one")).rows).toEqual([{ one: 1 }]);
  });
});

describe("hang", () => {
  it("stalls open and new connections until the clients' own timeouts fire", async () => {
    const client = pgClient({ query_timeout: 300 });
    await client.connect();
    const r = redisClient({ commandTimeout: 300 });
    await r.connect();

    pgProxy.setMode("hang");
    redisProxy.setMode("hang");

    const query = await timed(client.query("select 1"));
    expect(String(query.error)).toMatch(/Query read timeout/);
    expect(query.ms).toBeGreaterThanOrEqual(250);
    expect(query.ms).toBeLessThan(1_000);

    const command = await timed(r.ping());
    expect(String(command.error)).toMatch(/timed out/i);
    expect(command.ms).toBeLessThan(1_000);

    // A new connection is accepted (so no fast failure) but never gets the server's greeting.
    const fresh = await timed(pgClient({ connectionTimeoutMillis: 300 }).connect());
    expect(String(fresh.error)).toMatch(/timeout/i);
    expect(fresh.ms).toBeGreaterThanOrEqual(250);
    expect(pgProxy.connections).toBe(2);

    // Without any client-side bound the wait would simply go on.
    const unbounded = pgClient();
    const waiting = unbounded.connect();
    const outcome = await Promise.race([waiting.then(() => "connected"), new Promise((r) => setTimeout(() => r("still waiting"), 500))]);
    expect(outcome).toBe("still waiting");

    // Back up: the stalled connections carry on where they stopped…
    pgProxy.setMode("up");
    redisProxy.setMode("up");
    await waiting;
    expect((await unbounded.query("select 'late' as v")).rows).toEqual([{ v: "late" }]);
    expect((await client.query("select 2 as two")).rows).toEqual([{ two: 2 }]);
    expect(await r.ping()).toBe("PONG");
    // …and the one whose client gave up is connected, flushed and closed rather than left behind.
    expect(await waitFor(() => pgProxy.connections === 2)).toBe(true);

    const next = pgClient();
    await next.connect();
    expect((await next.query("select 3 as three")).rows).toEqual([{ three: 3 }]);
  });

  it("a query bounded only by the caller times out and the connection survives", async () => {
    const client = pgClient();
    await client.connect();
    pgProxy.setMode("hang");
    const pending = client.query<{ v: number }>("select 7 as v");
    const raced = await Promise.race([pending.then(() => "answered"), new Promise((r) => setTimeout(() => r("timed out"), 300))]);
    expect(raced).toBe("timed out");
    pgProxy.setMode("up");
    expect((await pending).rows).toEqual([{ v: 7 }]);
  });

  it("refuse after hang resets the stalled connections", async () => {
    const client = pgClient();
    await client.connect();
    pgProxy.setMode("hang");
    const pending = timed(client.query("select 1"));
    await new Promise((r) => setTimeout(r, 100));
    pgProxy.setMode("refuse");
    const { error, ms } = await pending;
    expect(error).toBeInstanceOf(Error);
    expect(ms).toBeLessThan(1_000);
    expect(pgProxy.connections).toBe(0);
  });
});

describe("control plane", () => {
  it("reads and flips modes over HTTP, and answers 404/400/405 JSON for mistakes", async () => {
    const control = await startFaultControl({ postgres: pgProxy, redis: redisProxy });
    try {
      const get = async (path: string): Promise<{ status: number; json: unknown }> => {
        const res = await fetch(`${control.url}${path}`);
        return { status: res.status, json: await res.json() };
      };
      const post = async (path: string, body: string): Promise<{ status: number; json: unknown }> => {
        const res = await fetch(`${control.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body });
        return { status: res.status, json: await res.json() };
      };

      expect(await get("/postgres")).toEqual({ status: 200, json: { name: "postgres", mode: "up", connections: 0, port: pgProxy.port } });
      const listed = await get("/");
      expect(listed.status).toBe(200);
      expect(listed.json).toMatchObject({ proxies: [{ name: "postgres" }, { name: "redis" }] });

      expect(await post("/postgres/mode", JSON.stringify({ mode: "hang" }))).toEqual({ status: 200, json: { name: "postgres", mode: "hang" } });
      expect(pgProxy.mode).toBe("hang");
      expect(redisProxy.mode).toBe("up");
      // The mode change is real: a client now waits until its own deadline.
      const stalled = await timed(pgClient({ connectionTimeoutMillis: 300 }).connect());
      expect(String(stalled.error)).toMatch(/timeout/i);
      expect(await get("/postgres")).toMatchObject({ status: 200, json: { mode: "hang", connections: 1 } });

      expect(await post("/redis/mode", JSON.stringify({ mode: "refuse" }))).toEqual({ status: 200, json: { name: "redis", mode: "refuse" } });
      expect(redisProxy.mode).toBe("refuse");
      expect(await post("/postgres/mode", JSON.stringify({ mode: "up" }))).toEqual({ status: 200, json: { name: "postgres", mode: "up" } });
      expect(pgProxy.mode).toBe("up");

      const unknown = await post("/mysql/mode", JSON.stringify({ mode: "up" }));
      expect(unknown.status).toBe(404);
      expect(unknown.json).toEqual({ message: expect.stringMatching(/mysql/) });
      expect((await get("/mysql")).status).toBe(404);
      expect((await get("/postgres/elsewhere")).status).toBe(404);

      const badMode = await post("/postgres/mode", JSON.stringify({ mode: "down" }));
      expect(badMode).toEqual({ status: 400, json: { message: expect.stringMatching(/"mode"/), field: "mode" } });
      expect((await post("/postgres/mode", JSON.stringify({}))).json).toMatchObject({ field: "mode" });
      expect((await post("/postgres/mode", "{not json")).status).toBe(400);
      expect((await get("/postgres/mode")).status).toBe(405);
      expect(pgProxy.mode).toBe("up");
    } finally {
      await control.close();
    }
  });

  it("refuses requests that carry an Origin header, without changing anything", async () => {
    const control = await startFaultControl({ postgres: pgProxy });
    try {
      const evil = { Origin: "https://evil.example" };
      const flip = await fetch(`${control.url}/postgres/mode`, { method: "POST", headers: evil, body: JSON.stringify({ mode: "refuse" }) });
      expect(flip.status).toBe(403);
      expect(await flip.json()).toEqual({ message: expect.stringMatching(/Origin/) });
      expect(pgProxy.mode).toBe("up");
      const read = await fetch(`${control.url}/postgres`, { headers: evil });
      expect(read.status).toBe(403);
      await read.body?.cancel();
    } finally {
      await control.close();
    }
  });
});

describe("API", () => {
  it("accepts mode assignment and rejects unknown modes", async () => {
    pgProxy.mode = "hang";
    expect(pgProxy.mode).toBe("hang");
    expect(() => pgProxy.setMode("down" as FaultMode)).toThrow(/unknown mode/);
    expect(pgProxy.mode).toBe("hang");
  });

  it("close() destroys every connection and leaves no open handles", async () => {
    const before = openTcpHandles();
    const proxy = await startFaultProxy({ target: { host: db.hostname, port: Number(db.port || 5432) } });
    const control = await startFaultControl({ postgres: proxy });
    const url = new URL(databaseUrl);
    url.hostname = proxy.host;
    url.port = String(proxy.port);
    const connected = new pg.Client({ connectionString: url.toString() });
    connected.on("error", () => {});
    await connected.connect();
    proxy.setMode("hang");
    // One stalled connection with no upstream yet, next to the one with both sides open.
    const raw: Socket = tcpConnect({ host: proxy.host, port: proxy.port });
    raw.on("error", () => {});
    await new Promise<void>((resolve) => raw.once("connect", () => resolve()));
    expect(await waitFor(() => proxy.connections === 2)).toBe(true);

    const rawClosed = new Promise<void>((resolve) => raw.once("close", () => resolve()));
    const pgEnded = new Promise<void>((resolve) => connected.once("end", () => resolve()));
    await control.close();
    await proxy.close();
    expect(proxy.connections).toBe(0);
    await Promise.all([rawClosed, pgEnded]);

    const refused = await new Promise<unknown>((resolve) => {
      const probe = tcpConnect({ host: proxy.host, port: proxy.port });
      probe.once("connect", () => {
        probe.destroy();
        resolve("connected");
      });
      probe.once("error", resolve);
    });
    expect(refused).toMatchObject({ code: "ECONNREFUSED" });
    expect(await waitFor(() => openTcpHandles() <= before)).toBe(true);
  });
});
