/**
 * The official @neondatabase/serverless driver (and Drizzle over db/client.ts) against
 * dev/neon-bridge.ts and a real local Postgres: both the WebSocket and the HTTP path.
 *
 * The suite also passes on the PGlite fallback (test/global-setup.ts uses it when no Postgres is
 * around), which is one backend session shared by every connection: where a test can only show
 * something with several sessions, it checks what one session can show instead (see
 * `singleSession`). To run it against a particular server, e.g. a PGlite socket server started by
 * hand, set STRATA_TEST_NEON_DB=postgres://user@host:port/db.
 */
import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { connect as tcpConnect, createServer, type Server, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { Client, neon, neonConfig, NeonDbError, Pool } from "@neondatabase/serverless";
import { sql as dsql } from "drizzle-orm";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import WebSocket from "ws";
import { configureNeon, httpDb, poolDb } from "../../db/client.ts";
import { startNeonBridge, type NeonBridge, type NeonBridgeStats } from "../../dev/neon-bridge.ts";

function testDatabaseUrl(): string {
  const override = process.env.STRATA_TEST_NEON_DB;
  if (override) return override;
  // inject() is empty when the suite runs without the project's global setup.
  return (inject("databaseUrl") as string | undefined) ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
}

const databaseUrl = testDatabaseUrl();
const dbTarget = new URL(databaseUrl);
const dbHost = dbTarget.hostname;
const dbPort = Number(dbTarget.port || 5432);
const redisUrl = new URL((inject("redisUrl") as string | undefined) ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const suffix = randomBytes(4).toString("hex");
const table = `nb_items_${suffix}`;
const typesTable = `nb_types_${suffix}`;

let bridge: NeonBridge;
let direct: pg.Client;
/**
 * True when every connection lands on the same backend (PGlite): then parallel queries share one
 * session, and an open transaction holds every other connection's queries until it ends.
 */
let singleSession = false;

function urlWith(params: Record<string, string>, base = databaseUrl): string {
  const url = new URL(base);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
}

async function countBackends(applicationName: string): Promise<number> {
  const r = await direct.query<{ n: number }>("select count(*)::int as n from pg_stat_activity where application_name = $1", [
    applicationName,
  ]);
  return r.rows[0]?.n ?? -1;
}

/** Whether the server cancels a statement that outlives statement_timeout (PGlite does not). */
async function enforcesStatementTimeout(): Promise<boolean> {
  await direct.query("set statement_timeout = 50");
  try {
    await direct.query("select pg_sleep(0.5)");
    return false;
  } catch (error) {
    if ((error as { code?: unknown }).code === "57014") return true;
    throw error;
  } finally {
    await direct.query("reset statement_timeout");
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

beforeAll(async () => {
  // Statistics on, so every suite below also runs the statement parser over real driver traffic.
  bridge = await startNeonBridge({ port: 0, exposeStats: true });
  configureNeon({ databaseUrl, neonBridgeUrl: bridge.url });
  direct = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  await direct.connect();
  const second = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  await second.connect();
  try {
    const pid = async (c: pg.Client): Promise<number> => (await c.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]?.pid ?? -1;
    singleSession = (await pid(direct)) === (await pid(second));
  } finally {
    await second.end();
  }
  await direct.query(`create table ${table} (id int primary key, label text not null)`);
  await direct.query(`create table ${typesTable} (
    id int primary key, i int, b bigint, n numeric, f bool, j jsonb, t timestamptz, u uuid, arr text[], x text, bin bytea)`);
});

afterAll(async () => {
  await direct?.query(`drop table if exists ${table}, ${typesTable}`);
  await direct?.end();
  await bridge?.close();
});

describe("WebSocket path (Pool / Client)", () => {
  it("runs on Node 24's global WebSocket without neonConfig.webSocketConstructor", async () => {
    expect(neonConfig.webSocketConstructor).toBeUndefined();
    const pool = new Pool({ connectionString: databaseUrl, max: 1 });
    try {
      const { rows } = await pool.query<{ v: string }>("select $1::text as v", ["global"]);
      expect(rows).toEqual([{ v: "global" }]);
    } finally {
      await pool.end();
    }
  });

  it("runs with the ws package as webSocketConstructor", async () => {
    const client = new Client(databaseUrl);
    client.neonConfig.webSocketConstructor = WebSocket;
    await client.connect();
    try {
      const { rows } = await client.query<{ v: number }>("select 41 + $1::int as v", [1]);
      expect(rows).toEqual([{ v: 42 }]);
    } finally {
      await client.end();
    }
  });

  it("serves 20 concurrent queries through one Pool", async () => {
    const pool = new Pool({ connectionString: databaseUrl, max: 5 });
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          pool.query<{ n: number; pid: number }>("select $1::int * 2 as n, pg_backend_pid() as pid, pg_sleep(0.01)", [i]),
        ),
      );
      expect(results.map((r) => r.rows[0]?.n)).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
      const pids = new Set(results.map((r) => r.rows[0]?.pid));
      if (singleSession) {
        expect(pids.size).toBe(1);
      } else {
        // Spread over several backends, but never more than the Pool's max.
        expect(pids.size).toBeGreaterThan(1);
        expect(pids.size).toBeLessThanOrEqual(5);
      }
    } finally {
      await pool.end();
    }
  });

  it("commits and rolls back transactions, visible from another connection", async () => {
    const pool = new Pool({ connectionString: databaseUrl, max: 2 });
    try {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        await client.query(`insert into ${table} (id, label) values (1, 'committed')`);
        // With one shared session, another connection's query waits for the transaction to end,
        // so isolation cannot be observed mid-transaction; the outcomes below still can.
        if (!singleSession) expect((await direct.query(`select 1 from ${table} where id = 1`)).rowCount).toBe(0);
        await client.query("COMMIT");
        expect((await direct.query(`select label from ${table} where id = 1`)).rows).toEqual([{ label: "committed" }]);

        await client.query("BEGIN");
        await client.query(`insert into ${table} (id, label) values (2, 'rolled back')`);
        expect((await client.query(`select 1 from ${table} where id = 2`)).rowCount).toBe(1);
        await client.query("ROLLBACK");
        expect((await direct.query(`select 1 from ${table} where id = 2`)).rowCount).toBe(0);
      } finally {
        client.release();
      }
    } finally {
      await pool.end();
    }
  });

  it("reports Postgres errors with their SQLSTATE", async () => {
    const pool = new Pool({ connectionString: databaseUrl, max: 1 });
    try {
      await direct.query(`insert into ${table} (id, label) values (10, 'dup') on conflict do nothing`);
      const error = await pool.query(`insert into ${table} (id, label) values (10, 'dup')`).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "23505", constraint: `${table}_pkey` });
      // The connection survives a query error.
      expect((await pool.query("select 1 as one")).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
    }
  });

  // Both close tests watch the bridge's upstream connections through a counting TCP proxy, which
  // works on any server; pg_stat_activity adds the server's own view where backends are distinct.
  it("closes the Postgres connection when the driver disconnects", async () => {
    const app = `nb-close-${suffix}`;
    const proxy = await countingProxy(dbHost, dbPort);
    try {
      const pool = new Pool({ connectionString: urlWith({ application_name: app }, proxy.url(databaseUrl)), max: 3 });
      await Promise.all([1, 2, 3].map(() => pool.query("select pg_sleep(0.05)")));
      expect(proxy.open()).toBe(3);
      if (!singleSession) expect(await countBackends(app)).toBe(3);
      await pool.end();
      expect(await waitFor(async () => proxy.open() === 0)).toBe(true);
      if (!singleSession) expect(await waitFor(async () => (await countBackends(app)) === 0)).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it("ends a tunnel on Terminate even when the server keeps its side open", async () => {
    // PGlite's socket server behaves like this; the driver's Client.end() waits for the close.
    const server = await fakePostgres();
    try {
      const client = new Client(`postgres://postgres@127.0.0.1:${server.port}/db`);
      await client.connect();
      expect(server.open()).toBe(1);
      const ended = client.end();
      await expect(Promise.race([ended.then(() => "ended"), new Promise((r) => setTimeout(() => r("hung"), 3_000))])).resolves.toBe("ended");
      expect(server.sawTerminate()).toBe(true);
      expect(await waitFor(async () => server.open() === 0, 3_000)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it("closes the Postgres connection when a client vanishes without a Terminate message", async () => {
    const app = `nb-abrupt-${suffix}`;
    const url = new URL(databaseUrl);
    const proxy = await countingProxy(dbHost, dbPort);
    const ws = new WebSocket(`${bridge.url.replace("http", "ws")}/v2?address=127.0.0.1:${proxy.port}`);
    ws.binaryType = "nodebuffer";
    await new Promise<void>((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    const ready = new Promise<void>((resolve) => {
      ws.on("message", (data: Buffer) => {
        if (data.includes(Buffer.from("Z\0\0\0\x05"))) resolve();
      });
    });
    ws.send(startupMessage({ user: decodeURIComponent(url.username) || "postgres", database: url.pathname.slice(1), application_name: app }));
    try {
      await ready;
      expect(proxy.open()).toBe(1);
      if (!singleSession) expect(await countBackends(app)).toBe(1);
      ws.terminate();
      expect(await waitFor(async () => proxy.open() === 0)).toBe(true);
      if (!singleSession) expect(await waitFor(async () => (await countBackends(app)) === 0)).toBe(true);
    } finally {
      await proxy.close();
    }
  });
});

describe("HTTP path (neon())", () => {
  it("runs a single query", async () => {
    const sql = neon(databaseUrl);
    expect(await sql`select ${"hello"} || ' ' || ${"world"} as greeting, ${7}::int as n`).toEqual([{ greeting: "hello world", n: 7 }]);
    const full = await sql.query("select $1::int as a, null::text as b", [5], { fullResults: true, arrayMode: true });
    expect(full.rows).toEqual([[5, null]]);
    expect(full.command).toBe("SELECT");
    expect(full.rowCount).toBe(1);
    expect(full.fields.map((f) => [f.name, f.dataTypeID])).toEqual([
      ["a", 23],
      ["b", 25],
    ]);
  });

  it("commits a transaction() batch as one transaction", async () => {
    const sql = neon(databaseUrl);
    const [a, b, count] = await sql.transaction([
      sql`insert into ${sql.unsafe(table)} (id, label) values (100, 'a') returning txid_current() as tx`,
      sql`insert into ${sql.unsafe(table)} (id, label) values (101, 'b') returning txid_current() as tx`,
      sql`select count(*)::int as n from ${sql.unsafe(table)} where id >= 100`,
    ]);
    expect(a?.[0]?.tx).toBeDefined();
    expect(a?.[0]?.tx).toBe(b?.[0]?.tx);
    expect(count).toEqual([{ n: 2 }]);
    expect((await direct.query(`select id from ${table} where id >= 100 order by id`)).rows).toEqual([{ id: 100 }, { id: 101 }]);
  });

  it("rolls a failing transaction() batch back entirely", async () => {
    const sql = neon(databaseUrl);
    const error = await sql
      .transaction([
        sql`insert into ${sql.unsafe(table)} (id, label) values (200, 'first')`,
        sql`insert into ${sql.unsafe(table)} (id, label) values (200, 'duplicate')`,
      ])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NeonDbError);
    expect(error).toMatchObject({ code: "23505" });
    expect((await direct.query(`select 1 from ${table} where id = 200`)).rowCount).toBe(0);
  });

  it("honours transaction options (isolation level, read only)", async () => {
    const sql = neon(databaseUrl);
    const [iso, ro] = await sql.transaction([sql`show transaction_isolation`, sql`show transaction_read_only`], {
      isolationLevel: "Serializable",
      readOnly: true,
    });
    expect(iso).toEqual([{ transaction_isolation: "serializable" }]);
    expect(ro).toEqual([{ transaction_read_only: "on" }]);
    const writeError = await sql
      .transaction([sql`insert into ${sql.unsafe(table)} (id, label) values (300, 'x')`], { readOnly: true })
      .catch((e: unknown) => e);
    expect(writeError).toMatchObject({ code: "25006" });
  });

  it("raises a NeonDbError carrying the SQLSTATE and detail", async () => {
    const sql = neon(databaseUrl);
    await direct.query(`insert into ${table} (id, label) values (400, 'taken')`);
    const error = await sql`insert into ${sql.unsafe(table)} (id, label) values (400, 'again')`.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NeonDbError);
    expect(error).toMatchObject({ code: "23505", constraint: `${table}_pkey`, table });
    expect((error as NeonDbError).detail).toContain("(id)=(400)");
    const syntax = await sql`selec 1`.catch((e: unknown) => e);
    expect(syntax).toMatchObject({ code: "42601", position: "1" });
  });

  it("refuses several statements in one query, as Neon does", async () => {
    const sql = neon(databaseUrl);
    const error = await sql.query("select 1; select 2").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "42601" });
  });
});

describe("parameter types round-trip", () => {
  const when = new Date("2026-11-21T10:11:12.345Z");
  const id = randomUUID();
  const doc = { a: [1, "x", null], b: { c: true } };
  const arr = ["plain", "with,comma", 'with"quote', "", null];
  const bin = Buffer.from([0, 1, 254, 255]);
  const values = (rowId: number): unknown[] => [rowId, 2147483647, "9007199254740993", "12345.678901234567890", true, doc, when, id, arr, null, bin];
  const insert = `insert into ${typesTable} (id, i, b, n, f, j, t, u, arr, x, bin) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`;
  const select = `select i, b, n, f, j, t, u, arr, x, bin from ${typesTable} where id = $1`;

  function expectRow(row: Record<string, unknown> | undefined): void {
    expect(row).toBeDefined();
    expect(row).toMatchObject({ i: 2147483647, b: "9007199254740993", n: "12345.678901234567890", f: true, j: doc, u: id, arr, x: null });
    // Date or ISO-ish string: drizzle's neon-http driver globally re-registers timestamptz as text.
    expect(new Date(row?.t as string | Date).toISOString()).toBe(when.toISOString());
    expect(Buffer.from(row?.bin as Uint8Array).equals(bin)).toBe(true);
  }

  it("over the WebSocket path", async () => {
    const pool = new Pool({ connectionString: databaseUrl, max: 1 });
    try {
      await pool.query(insert, values(1));
      expectRow((await pool.query(select, [1])).rows[0]);
    } finally {
      await pool.end();
    }
  });

  it("over the HTTP path", async () => {
    const sql = neon(databaseUrl);
    await sql.query(insert, values(2));
    expectRow((await sql.query(select, [2]))[0]);
  });

  it("across paths (written over HTTP, read over WebSocket)", async () => {
    const pool = new Pool({ connectionString: databaseUrl, max: 1 });
    try {
      expectRow((await pool.query(select, [2])).rows[0]);
    } finally {
      await pool.end();
    }
  });
});

describe("Drizzle via db/client.ts", () => {
  it("httpDb: select, insert and batch with the sql tag", async () => {
    const db = httpDb({ databaseUrl, neonBridgeUrl: bridge.url });
    expect(Object.keys(db._.fullSchema).length).toBeGreaterThan(0);
    const one = await db.execute<{ n: number }>(dsql`select ${5}::int as n`);
    expect(one.rows).toEqual([{ n: 5 }]);
    await db.execute(dsql`insert into ${dsql.identifier(table)} (id, label) values (${500}, ${"drizzle-http"})`);
    const [inserted, counted] = await db.batch([
      db.execute(dsql`insert into ${dsql.identifier(table)} (id, label) values (${501}, ${"batch"}) returning id`),
      db.execute(dsql`select count(*)::int as n from ${dsql.identifier(table)} where id between 500 and 599`),
    ]);
    expect(inserted.rows).toEqual([{ id: 501 }]);
    expect(counted.rows).toEqual([{ n: 2 }]);
  });

  it("httpDb: a failing batch leaves nothing behind", async () => {
    const db = httpDb({ databaseUrl, neonBridgeUrl: bridge.url });
    const error = await db
      .batch([
        db.execute(dsql`insert into ${dsql.identifier(table)} (id, label) values (${550}, ${"a"})`),
        db.execute(dsql`insert into ${dsql.identifier(table)} (id, label) values (${550}, ${"b"})`),
      ])
      .catch((e: unknown) => e);
    // db.batch surfaces the driver's NeonDbError as is; single queries wrap it (see below).
    expect(error).toBeInstanceOf(NeonDbError);
    expect(error).toMatchObject({ code: "23505" });
    expect((await direct.query(`select 1 from ${table} where id = 550`)).rowCount).toBe(0);
  });

  it("httpDb and poolDb: errors keep the SQLSTATE on the cause", async () => {
    await direct.query(`insert into ${table} (id, label) values (560, 'taken')`);
    const dup = dsql`insert into ${dsql.identifier(table)} (id, label) values (${560}, ${"again"})`;
    const httpError = await httpDb({ databaseUrl, neonBridgeUrl: bridge.url })
      .execute(dup)
      .catch((e: unknown) => e);
    expect(httpError).toMatchObject({ cause: { code: "23505" } });
    const { db, close } = poolDb({ databaseUrl, neonBridgeUrl: bridge.url });
    try {
      const poolError = await db.execute(dup).catch((e: unknown) => e);
      expect(poolError).toMatchObject({ cause: { code: "23505" } });
    } finally {
      await close();
    }
  });

  it("poolDb: insert, select and interactive transactions", async () => {
    const { db, close } = poolDb({ databaseUrl, neonBridgeUrl: bridge.url });
    try {
      await db.execute(dsql`insert into ${dsql.identifier(table)} (id, label) values (${600}, ${"drizzle-pool"})`);
      const rows = await db.execute<{ label: string }>(dsql`select label from ${dsql.identifier(table)} where id = ${600}`);
      expect(rows.rows).toEqual([{ label: "drizzle-pool" }]);

      await db.transaction(async (tx) => {
        await tx.execute(dsql`insert into ${dsql.identifier(table)} (id, label) values (${601}, ${"tx"})`);
      });
      const rolledBack = await db
        .transaction(async (tx) => {
          await tx.execute(dsql`insert into ${dsql.identifier(table)} (id, label) values (${602}, ${"tx"})`);
          throw new Error("abort on purpose");
        })
        .catch((e: unknown) => e);
      expect(rolledBack).toMatchObject({ message: "abort on purpose" });
      expect((await direct.query(`select id from ${table} where id in (601, 602)`)).rows).toEqual([{ id: 601 }]);
    } finally {
      await close();
      await close();
    }
  });

  it("configureNeon refuses to re-point the process-global neonConfig", () => {
    expect(() => configureNeon({ databaseUrl, neonBridgeUrl: bridge.url })).not.toThrow();
    expect(() => configureNeon({ databaseUrl, neonBridgeUrl: "http://127.0.0.1:1" })).toThrow(/process-global/);
    expect(() => configureNeon({ databaseUrl })).toThrow(/process-global/);
  });
});

describe("bounds and refusals", () => {
  it("refuses non-loopback WebSocket addresses before upgrading", async () => {
    for (const address of ["10.0.0.1:5432", "example.com:5432", "[::ffff:10.0.0.1]:5432", "169.254.169.254:80"]) {
      expect(await upgradeStatus(`/v2?address=${encodeURIComponent(address)}`)).toBe(403);
    }
    expect(await upgradeStatus("/v2")).toBe(403);
    expect(await upgradeStatus("/v2?address=127.0.0.1:0")).toBe(403);
    expect(await upgradeStatus("/elsewhere?address=127.0.0.1:5432")).toBe(404);
  });

  it("answers 502 for a loopback address nobody listens on, and the driver fails fast", async () => {
    const closedPort = await unusedPort();
    expect(await upgradeStatus(`/v2?address=127.0.0.1:${closedPort}`)).toBe(502);
    const url = new URL(databaseUrl);
    url.port = String(closedPort);
    const pool = new Pool({ connectionString: url.toString(), connectionTimeoutMillis: 3_000 });
    const started = Date.now();
    await expect(pool.query("select 1")).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2_500);
    await pool.end();
  });

  it("the driver's non-loopback database host is refused over both paths", async () => {
    const remote = new URL(databaseUrl);
    remote.hostname = "10.255.255.1";
    const pool = new Pool({ connectionString: remote.toString(), connectionTimeoutMillis: 3_000 });
    await expect(pool.query("select 1")).rejects.toThrow();
    await pool.end();
    const error = await neon(remote.toString())`select 1`.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NeonDbError);
    expect((error as Error).message).toMatch(/loopback/);
  });

  it("bounds a Pool connection to a server that never answers", async () => {
    const silent = await silentServer();
    try {
      const url = new URL(databaseUrl);
      url.port = String(silent.port);
      const pool = new Pool({ connectionString: url.toString(), connectionTimeoutMillis: 500 });
      const started = Date.now();
      await expect(pool.query("select 1")).rejects.toThrow(/timeout/i);
      expect(Date.now() - started).toBeLessThan(2_000);
      // The driver gave up; the bridge must not keep the tunnel to the wedged server open.
      expect(await waitFor(async () => silent.open() === 0, 3_000)).toBe(true);
      await pool.end();
    } finally {
      await silent.close();
    }
  });

  it("bounds HTTP queries: bridge statement timeout and httpDb's fetch deadline", async () => {
    const serverCancels = await enforcesStatementTimeout();
    const strict = await startNeonBridge({ port: 0, queryTimeoutMs: 300 });
    try {
      const res = await fetch(`${strict.url}/sql`, {
        method: "POST",
        headers: { "Neon-Connection-String": databaseUrl, "content-type": "application/json" },
        body: JSON.stringify({ query: "select pg_sleep(3)", params: [] }),
      });
      if (serverCancels) {
        expect(res.status).toBe(400);
        expect(await res.json()).toMatchObject({ code: "57014" });
      } else {
        // PGlite cannot interrupt a running statement (no timer signals in WASM): the bridge's own
        // net under statement_timeout (query timeout + 2 s) ends the wait instead.
        expect(res.status).toBe(504);
        expect(await res.json()).toEqual({ message: expect.stringMatching(/timeout/i) });
      }
    } finally {
      await strict.close();
    }
    const db = httpDb({ databaseUrl, neonBridgeUrl: bridge.url, queryTimeoutMs: 300 });
    const started = Date.now();
    const error = await db.execute(dsql`select pg_sleep(3)`).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(String((error as Error).cause ?? error)).toMatch(/timeout|abort/i);
  });

  it("rejects malformed /sql requests with 400 and a message", async () => {
    const post = (body: string, headers: Record<string, string> = { "Neon-Connection-String": databaseUrl }): Promise<Response> =>
      fetch(`${bridge.url}/sql`, { method: "POST", headers, body });
    const noHeader = await post(JSON.stringify({ query: "select 1" }), {});
    expect(noHeader.status).toBe(400);
    expect(await noHeader.json()).toMatchObject({ message: expect.stringMatching(/Neon-Connection-String/) });
    expect((await post("{not json")).status).toBe(400);
    expect((await post(JSON.stringify({ params: [] }))).status).toBe(400);
    expect((await post(JSON.stringify({ query: "select $1", params: [{ nested: 1 }] }))).status).toBe(400);
    const sneaky = await post(JSON.stringify({ query: "select 1" }), {
      "Neon-Connection-String": urlWith({ host: "10.0.0.1" }),
    });
    // A host= query parameter must not redirect the bridge: it is ignored, the URL's host is used.
    expect(sneaky.status).toBe(200);
  });

  it("answers an oversized /sql body with 413 JSON instead of a connection reset", async () => {
    const small = await startNeonBridge({ port: 0, maxBodyBytes: 1024 });
    try {
      // Megabytes, so the body cannot sit unread in socket buffers: the bridge has to drain it.
      const body = JSON.stringify({ query: "select $1::text as v", params: ["x".repeat(4 * 1024 * 1024)] });
      const res = await fetch(`${small.url}/sql`, { method: "POST", headers: { "Neon-Connection-String": databaseUrl }, body });
      expect(res.status).toBe(413);
      expect(res.headers.get("connection")).toBe("close");
      expect(await res.json()).toEqual({ message: "request body exceeds 1024 bytes" });
      // Under the limit the same bridge still works.
      const ok = await fetch(`${small.url}/sql`, {
        method: "POST",
        headers: { "Neon-Connection-String": databaseUrl },
        body: JSON.stringify({ query: "select 1 as one", params: [] }),
      });
      expect(ok.status).toBe(200);
    } finally {
      await small.close();
    }
  });

  it("close() ends open tunnels", async () => {
    const extra = await startNeonBridge({ port: 0 });
    const url = new URL(databaseUrl);
    const ws = new WebSocket(`${extra.url.replace("http", "ws")}/v2?address=${url.hostname}:${url.port || 5432}`);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
    await extra.close();
    await closed;
    expect(ws.readyState).toBe(WebSocket.CLOSED);
  });
});

describe("browser pages and target allowlist", () => {
  const evil = { Origin: "https://evil.example" };
  const redisAddress = `${redisUrl.hostname}:${redisUrl.port || 6379}`;

  it("refuses WebSocket upgrades that carry an Origin header, before touching the target", async () => {
    const refused = await upgradeResponse(bridge, `/v2?address=${redisAddress}`, evil);
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toEqual({ message: expect.stringMatching(/Origin/) });
    expect((await upgradeResponse(bridge, `/v2?address=${dbHost}:${dbPort}`, { Origin: "null" })).status).toBe(403);
    // The same upgrade without Origin (as the driver sends it) is accepted.
    expect((await upgradeResponse(bridge, `/v2?address=${dbHost}:${dbPort}`)).status).toBe(101);
  });

  it("refuses HTTP requests that carry an Origin header", async () => {
    const res = await fetch(`${bridge.url}/sql`, {
      method: "POST",
      headers: { ...evil, "Neon-Connection-String": databaseUrl, "content-type": "application/json" },
      body: JSON.stringify({ query: "select 1", params: [] }),
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ message: expect.stringMatching(/Origin/) });
  });

  it("with allowedTargets, reaches only the listed addresses over both doors", async () => {
    const strict = await startNeonBridge({ port: 0, allowedTargets: [`${dbHost}:${dbPort}`] });
    try {
      // Loopback, but not listed: the default would have let a tunnel to Redis through.
      expect((await upgradeResponse(strict, `/v2?address=${redisAddress}`)).status).toBe(403);
      expect((await upgradeResponse(strict, `/v2?address=${dbHost}:${dbPort + 1}`)).status).toBe(403);
      expect((await upgradeResponse(strict, `/v2?address=${dbHost}:${dbPort}`)).status).toBe(101);

      const query = (connectionString: string): Promise<Response> =>
        fetch(`${strict.url}/sql`, {
          method: "POST",
          headers: { "Neon-Connection-String": connectionString },
          body: JSON.stringify({ query: "select 1 as one", params: [] }),
        });
      const toRedis = new URL(databaseUrl);
      toRedis.hostname = redisUrl.hostname;
      toRedis.port = redisUrl.port || "6379";
      const refused = await query(toRedis.toString());
      expect(refused.status).toBe(403);
      expect(await refused.json()).toEqual({ message: expect.stringMatching(/allowedTargets/) });
      const allowed = await query(databaseUrl);
      expect(allowed.status).toBe(200);
      expect(await allowed.json()).toMatchObject({ rows: [["1"]] });
    } finally {
      await strict.close();
    }
  });

  it("matches allowedTargets literally and refuses malformed entries at start-up", async () => {
    const v6 = await startNeonBridge({ port: 0, allowedTargets: ["[::1]:5999", "LocalHost:5998"] });
    try {
      // Bracketed and bare IPv6 spell the same address, and host names ignore case…
      expect((await upgradeResponse(v6, "/v2?address=::1:5999")).status).not.toBe(403);
      expect((await upgradeResponse(v6, "/v2?address=localhost:5998")).status).not.toBe(403);
      // …but no name resolution: 127.0.0.1 is not "localhost".
      expect((await upgradeResponse(v6, "/v2?address=127.0.0.1:5998")).status).toBe(403);
    } finally {
      await v6.close();
    }
    await expect(startNeonBridge({ port: 0, allowedTargets: ["no-port"] })).rejects.toThrow(/allowedTargets/);
    await expect(startNeonBridge({ port: 0, allowedTargets: ["127.0.0.1:99999"] })).rejects.toThrow(/allowedTargets/);
  });
});

describe("query statistics", () => {
  /** Stats over HTTP, as a test in workerd would read them. */
  async function httpStats(target: NeonBridge, contains?: string): Promise<NeonBridgeStats> {
    const query = contains === undefined ? "" : `?contains=${encodeURIComponent(contains)}`;
    const res = await fetch(`${target.url}/__stats${query}`);
    expect(res.status).toBe(200);
    return (await res.json()) as NeonBridgeStats;
  }

  const tag = (label: string): string => `stats-${label}-${randomBytes(6).toString("hex")}`;

  it("counts HTTP statements, batch items one by one, with text and parameters", async () => {
    bridge.resetStats();
    const t = tag("http");
    const sql = neon(databaseUrl);
    const started = Date.now();
    await sql.query("select $1::text as v", [t]);
    await sql.transaction([sql`select ${t}::text as a`, sql`select ${`${t}-2`}::text as b`, sql`select 1 as unrelated`]);

    const stats = await httpStats(bridge, t);
    // The bridge's own BEGIN/COMMIT around the batch are not client statements.
    expect(stats).toMatchObject({ total: 4, byTransport: { http: 4, ws: 0 }, retained: 4, matching: 3 });
    expect(stats.statements.map((s) => [s.text, s.params, s.transport])).toEqual([
      ["select $1::text as v", [t], "http"],
      ["select $1::text as a", [t], "http"],
      ["select $1::text as b", [`${t}-2`], "http"],
    ]);
    for (const s of stats.statements) expect(s.at).toBeGreaterThanOrEqual(started - 1);
    // In-process and over HTTP are the same numbers; no filter matches everything retained.
    expect(bridge.stats({ contains: t })).toEqual(stats);
    expect(bridge.stats()).toMatchObject({ total: 4, matching: 4 });
    expect((await httpStats(bridge)).statements.at(-1)?.text).toBe("select 1 as unrelated");

    // Long statements and parameters are clipped, and so is the parameter list.
    const many = Array.from({ length: 25 }, (_, i) => `${t}-p${i}-${"y".repeat(300)}`);
    await sql.query(`select ${many.map((_, i) => `$${i + 1}::text`).join(", ")}, '${"z".repeat(600)}' as pad`, many);
    const [clipped] = (await httpStats(bridge, `${t}-p0-`)).statements;
    expect(clipped?.text.length).toBe(500);
    expect(clipped?.params).toHaveLength(20);
    expect(clipped?.params[0]).toBe(many[0]?.slice(0, 200));
  });

  it("counts statements run through a Pool over the WebSocket, parameters included", async () => {
    bridge.resetStats();
    const t = tag("ws");
    const pool = new Pool({ connectionString: databaseUrl, max: 1 });
    try {
      // Extended protocol: the text from Parse, the values from Bind; a bytea goes over in binary.
      await pool.query("select $1::text as v, $2::int as n, length($3::bytea) as len", [t, 5, Buffer.from([0xde, 0xad])]);
      // Simple protocol (no parameters): the text comes from the Query message.
      await pool.query(`select '${t}-simple' as v`);
      // A named prepared statement is parsed once and bound twice: two executions, two counts.
      const named = { name: `nb-stats-${suffix}`, text: "select $1::text as v" };
      await pool.query({ ...named, values: [`${t}-named`] });
      await pool.query({ ...named, values: [`${t}-named`] });
      // A NULL parameter and a statement that fails still reached Postgres.
      await pool.query("select $1::text is null as missing, $2::text as t", [null, `${t}-null`]);
      await pool.query("select $1::int as boom", [`${t}-not-an-int`]).catch(() => {});
    } finally {
      await pool.end();
    }

    const stats = bridge.stats({ contains: t });
    expect(stats.matching).toBe(6);
    expect(stats.byTransport.ws).toBe(stats.total);
    expect(stats.statements.map((s) => [s.text, s.params, s.transport])).toEqual([
      ["select $1::text as v, $2::int as n, length($3::bytea) as len", [t, "5", "\\xdead"], "ws"],
      [`select '${t}-simple' as v`, [], "ws"],
      ["select $1::text as v", [`${t}-named`], "ws"],
      ["select $1::text as v", [`${t}-named`], "ws"],
      ["select $1::text is null as missing, $2::text as t", [null, `${t}-null`], "ws"],
      ["select $1::int as boom", [`${t}-not-an-int`], "ws"],
    ]);
    // `contains` looks at parameter values too: this one appears in no statement text.
    expect(bridge.stats({ contains: `${t}-named` }).matching).toBe(2);
    expect((await httpStats(bridge, `${t}-null`)).statements.map((s) => s.params)).toEqual([[null, `${t}-null`]]);
    expect(bridge.stats({ contains: `${t}-absent` })).toMatchObject({ matching: 0, statements: [] });
  });

  it("follows protocol messages split across WebSocket frames", async () => {
    bridge.resetStats();
    const t = tag("frames");
    const url = new URL(databaseUrl);
    const ws = new WebSocket(`${bridge.url.replace("http", "ws")}/v2?address=${dbHost}:${dbPort}`);
    ws.binaryType = "nodebuffer";
    await new Promise<void>((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    let readyCount = 0;
    let received = Buffer.alloc(0);
    const readies = (n: number): Promise<void> =>
      new Promise((resolve) => {
        const check = (): void => {
          if (readyCount >= n) resolve();
          else setTimeout(check, 10);
        };
        check();
      });
    ws.on("message", (data: Buffer) => {
      received = Buffer.concat([received, data]);
      readyCount = received.toString("latin1").split("Z\0\0\0\x05").length - 1;
    });
    try {
      ws.send(startupMessage({ user: decodeURIComponent(url.username) || "postgres", database: url.pathname.slice(1) }));
      await readies(1);
      const bytes = Buffer.concat([
        parseMessage("select $1::text as v"),
        bindMessage([t]),
        pgMessage("E", Buffer.from([0, 0, 0, 0, 0])),
        pgMessage("S", Buffer.alloc(0)),
        pgMessage("Q", Buffer.from(`select '${t}-q' as v\0`)),
      ]);
      // One byte per frame: every header and body straddles frame boundaries.
      for (const byte of bytes) ws.send(Buffer.from([byte]));
      await readies(3);
    } finally {
      ws.terminate();
    }
    expect(bridge.stats({ contains: t }).statements.map((s) => [s.text, s.params])).toEqual([
      ["select $1::text as v", [t]],
      [`select '${t}-q' as v`, []],
    ]);
  });

  it("resets over HTTP and in-process", async () => {
    await neon(databaseUrl).query("select 1 as one");
    expect(bridge.stats().total).toBeGreaterThan(0);
    const reset = await fetch(`${bridge.url}/__stats/reset`, { method: "POST" });
    expect(reset.status).toBe(200);
    expect(await reset.json()).toEqual({ ok: true });
    expect(await httpStats(bridge)).toEqual({ total: 0, byTransport: { http: 0, ws: 0 }, retained: 0, matching: 0, statements: [] });
    await neon(databaseUrl).query("select 1 as one");
    expect(bridge.stats().total).toBe(1);
    bridge.resetStats();
    expect(bridge.stats().total).toBe(0);
    expect((await fetch(`${bridge.url}/__stats/reset`)).status).toBe(405);
    expect((await fetch(`${bridge.url}/__stats`, { method: "POST" })).status).toBe(405);
  });

  it("keeps the last 10,000 statements and exact counters", async () => {
    bridge.resetStats();
    const t = tag("ring");
    const n = 10_050;
    const res = await fetch(`${bridge.url}/sql`, {
      method: "POST",
      headers: { "Neon-Connection-String": databaseUrl, "content-type": "application/json" },
      body: JSON.stringify({ queries: Array.from({ length: n }, (_, i) => ({ query: "select $1::text", params: [`${t}-${i}.`] })) }),
    });
    expect(res.status).toBe(200);
    const stats = await httpStats(bridge, t);
    expect(stats).toMatchObject({ total: n, byTransport: { http: n }, retained: 10_000, matching: 10_000 });
    expect(stats.statements).toHaveLength(200);
    expect(stats.statements.at(-1)?.params).toEqual([`${t}-${n - 1}.`]);
    expect(stats.statements[0]?.params).toEqual([`${t}-${n - 200}.`]);
    // The oldest fell out of the ring.
    expect((await httpStats(bridge, `${t}-0.`)).matching).toBe(0);
    expect((await httpStats(bridge, `${t}-50.`)).matching).toBe(1);
    bridge.resetStats();
  });

  it("refuses the statistics endpoints to requests with an Origin header", async () => {
    const evil = { Origin: "https://evil.example" };
    const read = await fetch(`${bridge.url}/__stats`, { headers: evil });
    expect(read.status).toBe(403);
    expect(await read.json()).toEqual({ message: expect.stringMatching(/Origin/) });
    expect((await fetch(`${bridge.url}/__stats/reset`, { method: "POST", headers: evil })).status).toBe(403);
  });

  it("is off by default: no endpoints, no counting, stats() throws", async () => {
    const plain = await startNeonBridge({ port: 0 });
    try {
      const ok = await fetch(`${plain.url}/sql`, {
        method: "POST",
        headers: { "Neon-Connection-String": databaseUrl },
        body: JSON.stringify({ query: "select 1 as one", params: [] }),
      });
      expect(ok.status).toBe(200);
      expect((await fetch(`${plain.url}/__stats`)).status).toBe(404);
      expect((await fetch(`${plain.url}/__stats/reset`, { method: "POST" })).status).toBe(404);
      expect(() => plain.stats()).toThrow(/exposeStats/);
      expect(() => plain.resetStats()).toThrow(/exposeStats/);
    } finally {
      await plain.close();
    }
  });
});

describe("command line", () => {
  it("starts when run as a script and stops on SIGTERM", async () => {
    const script = fileURLToPath(new URL("../../dev/neon-bridge.ts", import.meta.url));
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, NEON_BRIDGE_PORT: "0", NEON_BRIDGE_ALLOWED_TARGETS: `${dbHost}:${dbPort}` },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("\n")) resolve(out);
        });
        child.once("exit", (code) => reject(new Error(`exited with ${code} before listening`)));
      });
      const url = /listening on (http:\/\/\S+)/.exec(line)?.[1];
      expect(url).toBeDefined();
      const health = await fetch(`${url}/`);
      expect(await health.json()).toEqual({ ok: true, service: "neon-bridge" });
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});

// ---------------------------------------------------------------- helpers

function startupMessage(params: Record<string, string>): Buffer {
  const body = Buffer.concat([
    ...Object.entries(params).flatMap(([k, v]) => [Buffer.from(`${k}\0`), Buffer.from(`${v}\0`)]),
    Buffer.from([0]),
  ]);
  const header = Buffer.alloc(8);
  header.writeInt32BE(8 + body.length, 0);
  header.writeInt32BE(196608, 4); // protocol 3.0
  return Buffer.concat([header, body]);
}

/** One typed frontend message: type byte, length, body. */
function pgMessage(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, "latin1");
  header.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([header, body]);
}

/** Parse of the unnamed statement, no parameter types given. */
function parseMessage(text: string): Buffer {
  return pgMessage("P", Buffer.concat([Buffer.from(`\0${text}\0`), Buffer.from([0, 0])]));
}

/** Bind of the unnamed statement to the unnamed portal, all parameters in text format. */
function bindMessage(params: string[]): Buffer {
  const count = Buffer.alloc(2);
  count.writeInt16BE(params.length);
  const values = params.map((p) => {
    const length = Buffer.alloc(4);
    length.writeInt32BE(Buffer.byteLength(p));
    return Buffer.concat([length, Buffer.from(p)]);
  });
  return pgMessage("B", Buffer.concat([Buffer.from([0, 0, 0, 0]), count, ...values, Buffer.from([0, 0])]));
}

/** The HTTP status the bridge answers a WebSocket upgrade on `path` with (101 when it accepts). */
async function upgradeStatus(path: string): Promise<number> {
  return (await upgradeResponse(bridge, path)).status;
}

/** Status and body of a bridge's answer to a WebSocket upgrade (101 and "" when it accepts). */
function upgradeResponse(target: NeonBridge, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${target.url.replace("http", "ws")}${path}`, { headers });
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body });
        ws.terminate();
      });
    });
    ws.once("open", () => {
      resolve({ status: 101, body: "" });
      ws.terminate();
    });
    ws.once("error", (e) => reject(e));
  });
}

/** A TCP forwarder that counts the connections passing through it, whatever the server behind. */
async function countingProxy(
  host: string,
  port: number,
): Promise<{ port: number; url(base: string): string; open(): number; close(): Promise<void> }> {
  const inbound = new Set<Socket>();
  const server: Server = createServer((client) => {
    inbound.add(client);
    const upstream = tcpConnect({ host, port });
    client.pipe(upstream).pipe(client);
    const done = (): void => {
      inbound.delete(client);
      client.destroy();
      upstream.destroy();
    };
    // Counted until the bridge closes its side: the server (PGlite) may never close its own.
    client.on("close", done);
    client.on("error", done);
    upstream.on("close", done);
    upstream.on("error", done);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    port: address.port,
    url(base) {
      const url = new URL(base);
      url.hostname = "127.0.0.1";
      url.port = String(address.port);
      return url.toString();
    },
    open: () => inbound.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of inbound) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Just enough of a Postgres server for a client to connect (trust auth, no queries), which,
 * like PGlite's socket server, never closes a connection on Terminate.
 */
async function fakePostgres(): Promise<{ port: number; open(): number; sawTerminate(): boolean; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let terminated = false;
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => s.destroy());
    let started = false;
    s.on("data", (chunk: Buffer) => {
      if (!started) {
        started = true;
        // AuthenticationOk, then ReadyForQuery (idle).
        s.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0, 0x5a, 0, 0, 0, 5, 0x49]));
        return;
      }
      if (chunk.includes(Buffer.from([0x58, 0, 0, 0, 4]))) terminated = true;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    port: address.port,
    open: () => sockets.size,
    sawTerminate: () => terminated,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** Accepts TCP connections and never says a word, like a wedged database. */
async function silentServer(): Promise<{ port: number; open(): number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    // Read and drop: an unread socket never notices the peer's FIN, so "close" would never fire.
    s.resume();
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    port: address.port,
    open: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
