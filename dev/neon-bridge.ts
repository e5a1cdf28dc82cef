/**
 * @module Local stand-in for Neon's serverless proxy, so the official `@neondatabase/serverless`
 * driver (and Drizzle on top of it) runs unchanged against a plain Postgres.
 *
 * Two doors, as the driver expects them:
 * - WebSocket `/v2?address=host:port`: the frames carry raw Postgres wire bytes, so the bridge is a
 *   byte pipe to a TCP socket. Authentication stays between the driver and Postgres.
 * - HTTP `POST /sql`: Neon's "SQL over HTTP". The bridge runs the query with `pg` and answers with
 *   column metadata plus rows of raw text, which the driver then parses by type OID exactly as it
 *   does for Neon.
 *
 * Guards, because a dev tool listening on a port must not become a way in:
 * - Only loopback addresses are reachable by default on both doors, or exactly the `allowedTargets`
 *   when given: the bridge must not reach arbitrary hosts.
 * - Requests carrying an `Origin` header are refused. Browsers send one on every WebSocket upgrade
 *   and every cross-origin POST, so without this any web page open in the developer's browser could
 *   tunnel bytes to a local Postgres (or Redis, or any loopback service). The Neon driver in Node
 *   and in workerd sends none.
 *
 * Query statistics (`exposeStats`, off by default) let tests count origin queries at the last hop
 * before Postgres, whichever door and driver they took: every statement the bridge passes on is
 * recorded (text, parameters, time, door), readable in-process with `stats()` and over HTTP at
 * `GET /__stats?contains=…` (reset with `POST /__stats/reset`). StatementLog says what is kept,
 * TunnelStatements what counts as a statement on the WebSocket door.
 *
 * Run directly: `node dev/neon-bridge.ts` (env: NEON_BRIDGE_PORT, default 4444; NEON_BRIDGE_HOST,
 * default 127.0.0.1; NEON_BRIDGE_ALLOWED_TARGETS, comma-separated host:port list;
 * NEON_BRIDGE_EXPOSE_STATS=1 turns the statistics on).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { BlockList, connect as tcpConnect, isIP, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import pg from "pg";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import { BodyTooLargeError, CLOSE_CONNECTION, readBody } from "./http-body.ts";
import { isMainModule } from "../db/is-main.ts";

export interface NeonBridgeOptions {
  /** 0 picks an ephemeral port. */
  port?: number;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Bound on opening a TCP connection to Postgres (both doors); default 5000 ms. */
  connectTimeoutMs?: number;
  /** Bound on one HTTP statement (server-side statement_timeout plus a client-side net); default 30000 ms. */
  queryTimeoutMs?: number;
  /**
   * The only Postgres addresses either door may reach, as "host:port" ("[::1]:5432" for IPv6),
   * compared literally: no DNS, so "localhost:5432" does not admit "127.0.0.1:5432". Replaces
   * the default, which is any loopback host on any port.
   */
  allowedTargets?: readonly string[];
  /** Largest accepted /sql request body; default 10 MiB. */
  maxBodyBytes?: number;
  /**
   * Record every statement passed on to Postgres and serve `GET /__stats` and
   * `POST /__stats/reset`; default false (then those paths answer 404 and stats() throws).
   */
  exposeStats?: boolean;
}

export type StatementTransport = "http" | "ws";

/** One statement as the bridge passed it on. */
export interface StatementRecord {
  /** Statement text, first 500 characters ("" when a WebSocket Bind names a statement the bridge never saw parsed). */
  text: string;
  /**
   * Parameter values, first 20, each first 200 characters; null is SQL NULL. Binary-format
   * values (the WebSocket door, e.g. bytea) appear as `\x` + hex.
   */
  params: Array<string | null>;
  /** When the bridge passed it on, ms since the epoch. */
  at: number;
  transport: StatementTransport;
}

export interface NeonBridgeStats {
  /** Statements passed on since start or the last reset: exact, however many the log retains. */
  total: number;
  /** The same, per door: exact. */
  byTransport: Record<StatementTransport, number>;
  /** How many of the latest statements the log still holds (at most 10,000): `matching` counts among these. */
  retained: number;
  /** Retained statements whose text or any parameter contains the filter (all retained without one). */
  matching: number;
  /** The last 200 matching statements, oldest first. */
  statements: StatementRecord[];
}

export interface NeonBridge {
  /** e.g. http://127.0.0.1:4444 — `${url}/sql` is the fetch endpoint, `host:port/v2` the WebSocket proxy. */
  url: string;
  port: number;
  /**
   * Statement statistics, optionally only statements whose text or a parameter contains
   * `contains` (case-sensitive). Throws unless the bridge was started with `exposeStats`: an
   * empty answer would let "no query reached Postgres" assertions pass for the wrong reason.
   */
  stats(filter?: { contains?: string }): NeonBridgeStats;
  /** Forgets all recorded statements and zeroes the counters; throws unless `exposeStats`. */
  resetStats(): void;
  close(): Promise<void>;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const DEFAULT_QUERY_TIMEOUT_MS = 30_000;
/** Neon caps request bodies too; a runaway body should fail fast instead of filling memory. */
const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
/** Above this many bytes queued towards a slow WebSocket reader, stop reading from Postgres. */
const WS_HIGH_WATER_BYTES = 1024 * 1024;
const POOL_MAX_CLIENTS = 10;
const POOL_IDLE_MS = 10_000;
/** Each distinct connection string gets a pool; an LRU bound keeps stray ones from piling up. */
const MAX_POOLS = 16;

const loopback = new BlockList();
loopback.addSubnet("127.0.0.0", 8, "ipv4");
loopback.addAddress("::1", "ipv6");

/** Literal loopback IPs (v4, v6, v4-mapped v6) and the name `localhost` only: no DNS look-ups to trust. */
function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === "localhost") return true;
  const family = isIP(bare);
  if (family === 0) return false;
  return loopback.check(bare, family === 6 ? "ipv6" : "ipv4");
}

interface Target {
  host: string;
  port: number;
}

/** Parses `host:port`, `[v6]:port` or a bare `v6:port` (the driver does not bracket IPv6 hosts). */
function parseHostPort(address: string): Target | string {
  const cut = address.lastIndexOf(":");
  if (cut <= 0) return `address ${JSON.stringify(address)} is not host:port`;
  let host = address.slice(0, cut);
  const portText = address.slice(cut + 1);
  const port = /^[0-9]+$/.test(portText) ? Number(portText) : Number.NaN;
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (!host) return `address ${JSON.stringify(address)} has no host`;
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `address ${JSON.stringify(address)} has no valid port`;
  return { host, port };
}

/** One spelling per address, so the allowlist compares like with like ("[::1]:5432" = "::1:5432"). */
function targetKey(t: Target): string {
  return `${t.host.toLowerCase()}|${t.port}`;
}

/** Decides which Postgres addresses the bridge may reach; a string is the refusal message. */
type TargetPolicy = (t: Target) => string | undefined;

function targetPolicy(allowedTargets: readonly string[] | undefined): TargetPolicy {
  if (allowedTargets === undefined) {
    return (t) =>
      isLoopbackHost(t.host) ? undefined : `${t.host}:${t.port} is not a loopback host; this bridge only reaches local Postgres`;
  }
  const allowed = new Set<string>();
  for (const entry of allowedTargets) {
    const parsed = parseHostPort(entry);
    // Failing at start-up beats an allowlist that silently admits nothing.
    if (typeof parsed === "string") throw new Error(`neon bridge: allowedTargets: ${parsed}`);
    allowed.add(targetKey(parsed));
  }
  return (t) => (allowed.has(targetKey(t)) ? undefined : `${t.host}:${t.port} is not in this bridge's allowedTargets`);
}

function parseAddress(address: string | null, policy: TargetPolicy): Target | string {
  if (!address) return "missing ?address=host:port";
  const target = parseHostPort(address);
  if (typeof target === "string") return target;
  return policy(target) ?? target;
}

// ---------------------------------------------------------------- statement statistics

const STATS_LOG_CAPACITY = 10_000;
const STATS_MAX_RETURNED = 200;
const STATS_TEXT_CHARS = 500;
const STATS_MAX_PARAMS = 20;
const STATS_PARAM_CHARS = 200;

/** First `chars` characters of UTF-8 bytes, decoding no more bytes than that many characters can take. */
function clippedUtf8(bytes: Buffer, chars: number): string {
  return bytes.toString("utf8", 0, Math.min(bytes.length, chars * 4)).slice(0, chars);
}

function clipParams(params: ReadonlyArray<string | null>): Array<string | null> {
  return params.slice(0, STATS_MAX_PARAMS).map((p) => (p === null ? null : p.slice(0, STATS_PARAM_CHARS)));
}

/**
 * What the bridge passed on to Postgres. The counters are exact; the statements themselves sit in
 * a ring of the last STATS_LOG_CAPACITY, so a long test run cannot grow the bridge without bound.
 */
class StatementLog {
  readonly #ring: Array<StatementRecord | undefined> = new Array<StatementRecord | undefined>(STATS_LOG_CAPACITY);
  /** Slot the next record goes to. */
  #next = 0;
  #retained = 0;
  #total = 0;
  #byTransport: Record<StatementTransport, number> = { http: 0, ws: 0 };

  record(transport: StatementTransport, text: string, params: Array<string | null>): void {
    this.#ring[this.#next] = { text: text.slice(0, STATS_TEXT_CHARS), params, at: Date.now(), transport };
    this.#next = (this.#next + 1) % STATS_LOG_CAPACITY;
    this.#retained = Math.min(this.#retained + 1, STATS_LOG_CAPACITY);
    this.#total++;
    this.#byTransport[transport]++;
  }

  stats(contains: string | undefined): NeonBridgeStats {
    const matches = (r: StatementRecord): boolean =>
      contains === undefined || r.text.includes(contains) || r.params.some((p) => p !== null && p.includes(contains));
    let matching = 0;
    const latest: StatementRecord[] = [];
    // Newest first, so the returned slice is the latest matches without holding every match.
    for (let i = 1; i <= this.#retained; i++) {
      const record = this.#ring[(this.#next - i + STATS_LOG_CAPACITY) % STATS_LOG_CAPACITY];
      if (record === undefined || !matches(record)) continue;
      matching++;
      if (latest.length < STATS_MAX_RETURNED) latest.push(record);
    }
    return {
      total: this.#total,
      byTransport: { ...this.#byTransport },
      retained: this.#retained,
      matching,
      statements: latest.reverse().map((r) => ({ ...r, params: [...r.params] })),
    };
  }

  reset(): void {
    this.#ring.fill(undefined);
    this.#next = 0;
    this.#retained = 0;
    this.#total = 0;
    this.#byTransport = { http: 0, ws: 0 };
  }
}

// ---------------------------------------------------------------- HTTP /sql

/** Request-level failure with the HTTP status the client should see. */
class BridgeHttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

interface SqlQuery {
  query: string;
  params: Array<string | null>;
}

type SqlBody = { kind: "single"; query: SqlQuery } | { kind: "batch"; queries: SqlQuery[] };

interface NeonField {
  name: string;
  dataTypeID: number;
  tableID: number;
  columnID: number;
  dataTypeSize: number;
  dataTypeModifier: number;
  format: string;
}

interface NeonResult {
  command: string;
  rowCount: number;
  rowAsArray: true;
  fields: NeonField[];
  rows: Array<Array<string | null>>;
}

type RawRow = Array<string | null>;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function parseQuery(value: unknown, where: string): SqlQuery {
  if (!isRecord(value) || typeof value.query !== "string") throw new BridgeHttpError(400, `${where}: expected {query: string, params?: array}`);
  const rawParams = value.params ?? [];
  if (!Array.isArray(rawParams)) throw new BridgeHttpError(400, `${where}: params must be an array`);
  // The driver pre-serialises every value to Postgres text (or null); scalars from hand-written
  // requests are stringified the same way, anything structured is ambiguous and refused.
  const params = rawParams.map((p: unknown, i): string | null => {
    if (p === null || typeof p === "string") return p;
    if (typeof p === "number" || typeof p === "boolean" || typeof p === "bigint") return String(p);
    throw new BridgeHttpError(400, `${where}: parameter $${i + 1} must be a string, number, boolean or null`);
  });
  return { query: value.query, params };
}

function parseBody(text: string): SqlBody {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BridgeHttpError(400, "request body is not valid JSON");
  }
  if (isRecord(json) && Array.isArray(json.queries)) {
    return { kind: "batch", queries: json.queries.map((q: unknown, i) => parseQuery(q, `queries[${i}]`)) };
  }
  return { kind: "single", query: parseQuery(json, "body") };
}

const ISOLATION_LEVELS: Record<string, string> = {
  ReadUncommitted: "READ UNCOMMITTED",
  ReadCommitted: "READ COMMITTED",
  RepeatableRead: "REPEATABLE READ",
  Serializable: "SERIALIZABLE",
};

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function parseBoolHeader(req: IncomingMessage, name: string): boolean | undefined {
  const v = headerValue(req, name);
  if (v === undefined) return undefined;
  if (v === "true") return true;
  if (v === "false") return false;
  throw new BridgeHttpError(400, `${name} must be "true" or "false"`);
}

/** The BEGIN for a batch, from the Neon-Batch-* headers the driver sends for transaction() options. */
function beginStatement(req: IncomingMessage): string {
  const modes: string[] = [];
  const isolation = headerValue(req, "neon-batch-isolation-level");
  if (isolation !== undefined) {
    const level = ISOLATION_LEVELS[isolation];
    if (!level) throw new BridgeHttpError(400, `unknown Neon-Batch-Isolation-Level ${JSON.stringify(isolation)}`);
    modes.push(`ISOLATION LEVEL ${level}`);
  }
  const readOnly = parseBoolHeader(req, "neon-batch-read-only");
  if (readOnly !== undefined) modes.push(readOnly ? "READ ONLY" : "READ WRITE");
  const deferrable = parseBoolHeader(req, "neon-batch-deferrable");
  if (deferrable !== undefined) modes.push(deferrable ? "DEFERRABLE" : "NOT DEFERRABLE");
  return modes.length ? `BEGIN ${modes.join(", ")}` : "BEGIN";
}

/**
 * Connection settings taken from the Neon-Connection-String header through an allowlist: passing
 * the URL itself to pg would honour query parameters such as `host=` or `sslmode=`, which could
 * redirect the bridge off loopback or demand TLS from a local server.
 */
function connectionConfig(header: string | undefined, policy: TargetPolicy): pg.ClientConfig {
  if (!header) throw new BridgeHttpError(400, "missing Neon-Connection-String header");
  let url: URL;
  try {
    url = new URL(header);
  } catch {
    throw new BridgeHttpError(400, "Neon-Connection-String is not a URL");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new BridgeHttpError(400, "Neon-Connection-String must be a postgres:// URL");
  }
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  if (!host) throw new BridgeHttpError(400, "Neon-Connection-String has no host");
  const port = url.port ? Number(url.port) : 5432;
  const refusal = policy({ host, port });
  if (refusal) throw new BridgeHttpError(403, `database ${refusal}`);
  const config: pg.ClientConfig = {
    host,
    port,
    user: decodeURIComponent(url.username) || "postgres",
    database: decodeURIComponent(url.pathname.replace(/^\//, "")) || undefined,
  };
  if (url.password) config.password = decodeURIComponent(url.password);
  const appName = url.searchParams.get("application_name");
  if (appName) config.application_name = appName;
  const options = url.searchParams.get("options");
  if (options) config.options = options;
  return config;
}

/** Hands every column back as the text Postgres sent: the driver parses by dataTypeID on its side. */
const rawText: pg.CustomTypesConfig = {
  getTypeParser: (() => (value: string) => value) as pg.CustomTypesConfig["getTypeParser"],
};

function queryConfig(q: SqlQuery): pg.QueryArrayConfig<Array<string | null>> & { queryMode: "extended" } {
  // Extended protocol even without parameters, as Neon does: a multi-statement string then fails
  // here just as it would in production instead of silently working locally.
  return { text: q.query, values: q.params, rowMode: "array", types: rawText, queryMode: "extended" };
}

function toNeonResult(r: pg.QueryArrayResult<RawRow>): NeonResult {
  return {
    command: r.command,
    rowCount: r.rowCount ?? 0,
    rowAsArray: true,
    fields: r.fields.map((f) => ({
      name: f.name,
      dataTypeID: f.dataTypeID,
      tableID: f.tableID,
      columnID: f.columnID,
      dataTypeSize: f.dataTypeSize,
      dataTypeModifier: f.dataTypeModifier,
      format: f.format,
    })),
    rows: r.rows,
  };
}

const ERROR_FIELDS = [
  "severity",
  "code",
  "detail",
  "hint",
  "position",
  "internalPosition",
  "internalQuery",
  "where",
  "schema",
  "table",
  "column",
  "dataType",
  "constraint",
  "file",
  "line",
  "routine",
] as const;

/** Maps a failure to what the driver understands: 400 + Postgres fields becomes a NeonDbError with `code`. */
function errorResponse(error: unknown): { status: number; body: Record<string, unknown> } {
  if (error instanceof BridgeHttpError) return { status: error.status, body: { message: error.message } };
  if (error instanceof pg.DatabaseError) {
    const body: Record<string, unknown> = { message: error.message };
    for (const key of ERROR_FIELDS) if (error[key] !== undefined) body[key] = error[key];
    return { status: 400, body };
  }
  const message = error instanceof Error ? error.message : String(error);
  // Failing to reach Postgres or getting no answer in time is the bridge's upstream problem, not a
  // bad query: a 5xx keeps it apart from SQL errors (the driver reports the status and this body).
  if (/timeout|timed out/i.test(message)) return { status: 504, body: { message } };
  return { status: 502, body: { message } };
}

function sendJson(res: ServerResponse, status: number, body: unknown, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const payload = JSON.stringify(body);
  res.writeHead(status, { ...extraHeaders, "content-type": "application/json", "content-length": Buffer.byteLength(payload) });
  res.end(payload);
}

const ORIGIN_REFUSAL = "requests from web pages (with an Origin header) are refused: this bridge is for the Neon driver in Node or workerd";

class PoolRegistry {
  readonly #pools = new Map<string, pg.Pool>();
  readonly #connectTimeoutMs: number;
  readonly #queryTimeoutMs: number;

  constructor(connectTimeoutMs: number, queryTimeoutMs: number) {
    this.#connectTimeoutMs = connectTimeoutMs;
    this.#queryTimeoutMs = queryTimeoutMs;
  }

  get(config: pg.ClientConfig): pg.Pool {
    const key = JSON.stringify(config);
    const existing = this.#pools.get(key);
    if (existing) {
      // Re-insert so Map order doubles as least-recently-used order.
      this.#pools.delete(key);
      this.#pools.set(key, existing);
      return existing;
    }
    const pool = new pg.Pool({
      ...config,
      max: POOL_MAX_CLIENTS,
      idleTimeoutMillis: POOL_IDLE_MS,
      connectionTimeoutMillis: this.#connectTimeoutMs,
      statement_timeout: this.#queryTimeoutMs,
      // Net under statement_timeout for when the server itself stops answering.
      query_timeout: this.#queryTimeoutMs + 2_000,
      allowExitOnIdle: true,
    });
    // An idle client dying (server restart, terminated backend) must not crash the bridge.
    pool.on("error", () => {});
    this.#pools.set(key, pool);
    if (this.#pools.size > MAX_POOLS) {
      const [oldestKey, oldest] = this.#pools.entries().next().value as [string, pg.Pool];
      this.#pools.delete(oldestKey);
      void oldest.end().catch(() => {});
    }
    return pool;
  }

  async closeAll(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.allSettled(pools.map((p) => p.end()));
  }
}

/** Called as each client statement is sent to Postgres (the bridge's own BEGIN/COMMIT are not the client's). */
type StatementSink = (q: SqlQuery) => void;

async function runSingle(pool: pg.Pool, q: SqlQuery, sent: StatementSink): Promise<NeonResult> {
  sent(q);
  return toNeonResult(await pool.query<RawRow>(queryConfig(q)));
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

async function runBatch(pool: pg.Pool, queries: SqlQuery[], begin: string, sent: StatementSink): Promise<{ results: NeonResult[] }> {
  if (queries.length === 0) return { results: [] };
  const client = await pool.connect();
  // A connection whose state we cannot vouch for (client-side timeout, failed ROLLBACK) is
  // discarded rather than handed to the next request.
  let broken: Error | undefined;
  try {
    await client.query(begin);
    try {
      const results: NeonResult[] = [];
      for (const q of queries) {
        sent(q);
        results.push(toNeonResult(await client.query<RawRow>(queryConfig(q))));
      }
      await client.query("COMMIT");
      return { results };
    } catch (error) {
      await client.query("ROLLBACK").catch((e: unknown) => {
        broken = asError(e);
      });
      throw error;
    }
  } catch (error) {
    if (!(error instanceof pg.DatabaseError)) broken ??= asError(error);
    throw error;
  } finally {
    client.release(broken);
  }
}

interface SqlDoor {
  pools: PoolRegistry;
  policy: TargetPolicy;
  maxBodyBytes: number;
  /** Present when statistics are on. */
  log: StatementLog | undefined;
}

async function handleSql(req: IncomingMessage, res: ServerResponse, door: SqlDoor): Promise<void> {
  try {
    if (req.method !== "POST") throw new BridgeHttpError(405, "use POST /sql");
    const config = connectionConfig(headerValue(req, "neon-connection-string"), door.policy);
    const body = parseBody((await readBody(req, door.maxBodyBytes)).toString("utf8"));
    const pool = door.pools.get(config);
    const { log } = door;
    const sent: StatementSink = log ? (q) => log.record("http", q.query, clipParams(q.params)) : () => {};
    const result =
      body.kind === "single" ? await runSingle(pool, body.query, sent) : await runBatch(pool, body.queries, beginStatement(req), sent);
    sendJson(res, 200, result);
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      sendJson(res, 413, { message: error.message }, CLOSE_CONNECTION);
      return;
    }
    const { status, body } = errorResponse(error);
    sendJson(res, status, body);
  }
}

// ---------------------------------------------------------------- WebSocket /v2

function rejectUpgrade(socket: Duplex, status: number, reason: string, message: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  // Same JSON shape as the HTTP door's errors.
  const body = JSON.stringify({ message });
  const response = `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  // Destroy only once the answer is flushed, or the client may see a reset instead of the status.
  socket.end(response, () => socket.destroy());
  setTimeout(() => socket.destroy(), 1_000).unref();
}

function rawToBuffer(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? Buffer.from(data) : data;
}

const SSL_REQUEST_CODE = 80877103;
const GSSENC_REQUEST_CODE = 80877104;
const TERMINATE = 0x58; // 'X'
const QUERY = 0x51; // 'Q'
const PARSE = 0x50; // 'P'
const BIND = 0x42; // 'B'
/**
 * How much of one Query/Parse/Bind body is kept for statistics. Enough for any statement text and
 * the first parameters; a Bind whose early values are larger loses the later ones, which is fine
 * for counting and searching in tests and keeps a bulk insert from being copied whole.
 */
const STATS_CAPTURE_BYTES = 256 * 1024;
/** Named prepared statements remembered per tunnel, to give a Bind its statement text. */
const STATS_STATEMENT_NAMES = 256;

/** Reads a message body front to back; every read past the end yields undefined instead of throwing. */
class BodyReader {
  readonly #bytes: Buffer;
  #at = 0;

  constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }

  /** A NUL-terminated string's bytes; a string cut off by the capture limit yields what is there. */
  cstring(): Buffer | undefined {
    if (this.#at >= this.#bytes.length) return undefined;
    const nul = this.#bytes.indexOf(0, this.#at);
    const end = nul === -1 ? this.#bytes.length : nul;
    const value = this.#bytes.subarray(this.#at, end);
    this.#at = end + 1;
    return value;
  }

  int16(): number | undefined {
    if (this.#at + 2 > this.#bytes.length) return undefined;
    const value = this.#bytes.readInt16BE(this.#at);
    this.#at += 2;
    return value;
  }

  int32(): number | undefined {
    if (this.#at + 4 > this.#bytes.length) return undefined;
    const value = this.#bytes.readInt32BE(this.#at);
    this.#at += 4;
    return value;
  }

  /** Up to `length` bytes (fewer when the capture ends first). */
  bytes(length: number): Buffer {
    const value = this.#bytes.subarray(this.#at, this.#at + length);
    this.#at += length;
    return value;
  }
}

/**
 * Turns one tunnel's Query, Parse and Bind messages into statement records. A statement counts
 * when it is executed: a simple Query, or a Bind (extended protocol), which takes its text from
 * the Parse that prepared the statement it names. So a named prepared statement run three times
 * counts three times, and a Parse that is never bound (describe only) does not count.
 */
class TunnelStatements {
  readonly #log: StatementLog;
  /** Statement name ("" is the unnamed one) to its clipped text; insertion order doubles as age. */
  readonly #prepared = new Map<string, string>();

  constructor(log: StatementLog) {
    this.#log = log;
  }

  message(type: number, body: Buffer): void {
    const reader = new BodyReader(body);
    if (type === QUERY) {
      this.#log.record("ws", clippedUtf8(reader.cstring() ?? Buffer.alloc(0), STATS_TEXT_CHARS), []);
    } else if (type === PARSE) {
      const name = (reader.cstring() ?? Buffer.alloc(0)).toString("utf8");
      const text = clippedUtf8(reader.cstring() ?? Buffer.alloc(0), STATS_TEXT_CHARS);
      this.#prepared.delete(name);
      this.#prepared.set(name, text);
      if (this.#prepared.size > STATS_STATEMENT_NAMES) {
        const oldest = this.#prepared.keys().next().value;
        if (oldest !== undefined) this.#prepared.delete(oldest);
      }
    } else if (type === BIND) {
      reader.cstring(); // portal
      const name = (reader.cstring() ?? Buffer.alloc(0)).toString("utf8");
      this.#log.record("ws", this.#prepared.get(name) ?? "", bindParams(reader));
    }
  }
}

/** A Bind's parameter values from after the statement name, as far as the captured bytes go. */
function bindParams(reader: BodyReader): Array<string | null> {
  const formatCount = reader.int16() ?? 0;
  const formats: number[] = [];
  for (let i = 0; i < formatCount; i++) formats.push(reader.int16() ?? 0);
  const count = reader.int16() ?? 0;
  const params: Array<string | null> = [];
  for (let i = 0; i < Math.min(count, STATS_MAX_PARAMS); i++) {
    const length = reader.int32();
    if (length === undefined) break;
    if (length < 0) {
      params.push(null);
      continue;
    }
    // No format codes: all text; one: it applies to every parameter; otherwise one each.
    const binary = (formatCount === 1 ? formats[0] : formats[i]) === 1;
    const value = reader.bytes(length);
    params.push(binary ? `\\x${value.toString("hex", 0, Math.min(value.length, (STATS_PARAM_CHARS - 2) / 2))}` : clippedUtf8(value, STATS_PARAM_CHARS));
  }
  return params;
}

/**
 * Follows message boundaries in the driver-to-Postgres direction: to spot Terminate, and, when
 * statistics are on, to hand Query/Parse/Bind bodies to a TunnelStatements.
 *
 * Postgres closes the connection on Terminate and the driver relies on that: its end() sends
 * Terminate and then waits for the socket to close without closing the WebSocket itself. PGlite's
 * socket server never closes, so without this `client.end()` would hang there forever.
 */
class FrontendWatch {
  /** Untyped start-up packets (SSLRequest, StartupMessage) come before the typed messages. */
  #startup = true;
  /** Set when the stream stops being parseable plaintext (TLS or GSS encryption negotiated). */
  #blind = false;
  readonly #header = Buffer.alloc(8);
  #headerBytes = 0;
  #skip = 0;
  readonly #statements: TunnelStatements | undefined;
  /** The body being captured for statistics: its type, the buffer, how much of it is filled. */
  #capture: { type: number; body: Buffer; filled: number } | undefined;

  constructor(statements: TunnelStatements | undefined) {
    this.#statements = statements;
  }

  /** Feeds driver-to-Postgres bytes; true once a complete Terminate message has gone by. */
  feed(chunk: Buffer): boolean {
    let at = 0;
    while (!this.#blind && at < chunk.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - at);
        const capture = this.#capture;
        if (capture !== undefined && capture.filled < capture.body.length) {
          capture.filled += chunk.copy(capture.body, capture.filled, at, at + Math.min(n, capture.body.length - capture.filled));
        }
        this.#skip -= n;
        at += n;
        if (this.#skip === 0) this.#captured();
        continue;
      }
      const headerSize = this.#startup ? 8 : 5;
      const n = Math.min(headerSize - this.#headerBytes, chunk.length - at);
      chunk.copy(this.#header, this.#headerBytes, at, at + n);
      this.#headerBytes += n;
      at += n;
      if (this.#headerBytes < headerSize) break;
      this.#headerBytes = 0;
      if (this.#startup) {
        const length = this.#header.readInt32BE(0);
        const code = this.#header.readInt32BE(4);
        // Whatever follows an encryption request may be TLS/GSS bytes: stop looking rather than guess.
        if (code === SSL_REQUEST_CODE || code === GSSENC_REQUEST_CODE) this.#blind = true;
        // Protocol 3.x start-up message: typed messages follow. (A CancelRequest ends the connection anyway.)
        else if (code >> 16 === 3) this.#startup = false;
        this.#skip = Math.max(0, length - 8);
      } else {
        const type = this.#header[0] ?? 0;
        const length = this.#header.readInt32BE(1);
        if (type === TERMINATE && length === 4) return true;
        this.#skip = Math.max(0, length - 4);
        if (this.#statements !== undefined && (type === QUERY || type === PARSE || type === BIND)) {
          this.#capture = { type, body: Buffer.allocUnsafe(Math.min(this.#skip, STATS_CAPTURE_BYTES)), filled: 0 };
          if (this.#skip === 0) this.#captured();
        }
      }
    }
    return false;
  }

  #captured(): void {
    const capture = this.#capture;
    if (capture === undefined) return;
    this.#capture = undefined;
    // Statistics must never cost the tunnel: a body that defeats the parser is simply not recorded.
    try {
      this.#statements?.message(capture.type, capture.body.subarray(0, capture.filled));
    } catch {
      // ignored on purpose, see above
    }
  }
}

/** Joins a WebSocket and a TCP socket; either side ending or failing ends the other. */
function splice(ws: WebSocket, tcp: Socket, live: Set<() => void>, log: StatementLog | undefined): void {
  let done = false;
  const teardown = (): void => {
    if (done) return;
    done = true;
    live.delete(teardown);
    // end() first so a Terminate message the driver just sent still reaches Postgres, then destroy
    // outright: some servers (PGlite) never close their side, and a half-open socket would leak.
    if (!tcp.destroyed) tcp.end(() => tcp.destroy());
    setTimeout(() => tcp.destroy(), 1_000).unref();
    if (ws.readyState === ws.OPEN) ws.close(1000);
    else if (ws.readyState !== ws.CLOSED) ws.terminate();
  };
  live.add(teardown);

  tcp.setNoDelay(true);
  const watch = new FrontendWatch(log ? new TunnelStatements(log) : undefined);
  ws.on("message", (data) => {
    const bytes = rawToBuffer(data);
    const drained = tcp.write(bytes);
    // teardown() ends the TCP side after this write is flushed, so Postgres still gets the Terminate.
    if (watch.feed(bytes)) teardown();
    else if (!drained) ws.pause();
  });
  tcp.on("drain", () => ws.resume());
  tcp.on("data", (chunk: Buffer) => {
    ws.send(chunk, { binary: true }, () => {
      if (tcp.isPaused() && ws.bufferedAmount < WS_HIGH_WATER_BYTES / 2) tcp.resume();
    });
    if (ws.bufferedAmount > WS_HIGH_WATER_BYTES) tcp.pause();
  });
  ws.on("close", teardown);
  ws.on("error", teardown);
  tcp.on("end", teardown);
  tcp.on("close", teardown);
  tcp.on("error", teardown);
}

interface WsDoor {
  wss: WebSocketServer;
  policy: TargetPolicy;
  connectTimeoutMs: number;
  live: Set<() => void>;
  /** Present when statistics are on. */
  log: StatementLog | undefined;
}

function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, door: WsDoor): void {
  const { wss, connectTimeoutMs, live } = door;
  // Until ws takes over, errors on the raw socket (client gone mid-handshake) are ours to absorb.
  socket.on("error", () => socket.destroy());
  if (req.headers.origin !== undefined) {
    rejectUpgrade(socket, 403, "Forbidden", ORIGIN_REFUSAL);
    return;
  }
  const url = new URL(req.url ?? "/", "http://bridge");
  if (url.pathname !== "/v2" && url.pathname !== "/") {
    rejectUpgrade(socket, 404, "Not Found", "WebSocket endpoint is /v2?address=host:port");
    return;
  }
  const target = parseAddress(url.searchParams.get("address"), door.policy);
  if (typeof target === "string") {
    rejectUpgrade(socket, 403, "Forbidden", target);
    return;
  }

  // Connect before accepting the upgrade so an unreachable database shows up as an HTTP status on
  // the client instead of a WebSocket that opens and immediately dies.
  const tcp = tcpConnect({ host: target.host, port: target.port });
  const timer = setTimeout(() => {
    live.delete(cancel);
    tcp.destroy();
    rejectUpgrade(socket, 504, "Gateway Timeout", `connecting to ${target.host}:${target.port} timed out after ${connectTimeoutMs} ms`);
  }, connectTimeoutMs);
  const abandon = (): void => {
    clearTimeout(timer);
    live.delete(cancel);
    tcp.destroy();
  };
  // Lets bridge.close() reach handshakes still waiting on Postgres.
  const cancel = (): void => {
    abandon();
    socket.destroy();
  };
  live.add(cancel);
  socket.once("close", abandon);
  tcp.once("error", (error: Error) => {
    clearTimeout(timer);
    live.delete(cancel);
    socket.off("close", abandon);
    rejectUpgrade(socket, 502, "Bad Gateway", `cannot reach ${target.host}:${target.port}: ${error.message}`);
  });
  tcp.once("connect", () => {
    clearTimeout(timer);
    live.delete(cancel);
    socket.off("close", abandon);
    tcp.removeAllListeners("error");
    if (socket.destroyed) {
      tcp.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => splice(ws, tcp, live, door.log));
  });
}

// ---------------------------------------------------------------- server

/** `GET /__stats?contains=…` and `POST /__stats/reset`; only routed here when statistics are on. */
function handleStats(req: IncomingMessage, res: ServerResponse, url: URL, log: StatementLog): void {
  if (url.pathname === "/__stats/reset") {
    if (req.method !== "POST") {
      sendJson(res, 405, { message: "use POST /__stats/reset" });
      return;
    }
    log.reset();
    sendJson(res, 200, { ok: true });
    return;
  }
  if (req.method !== "GET") {
    sendJson(res, 405, { message: "use GET /__stats?contains=…" });
    return;
  }
  // An empty ?contains= filters nothing, like no filter at all.
  sendJson(res, 200, log.stats(url.searchParams.get("contains") || undefined));
}

export async function startNeonBridge(opts: NeonBridgeOptions = {}): Promise<NeonBridge> {
  const host = opts.host ?? "127.0.0.1";
  const connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const queryTimeoutMs = opts.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  const policy = targetPolicy(opts.allowedTargets);
  const pools = new PoolRegistry(connectTimeoutMs, queryTimeoutMs);
  const live = new Set<() => void>();
  const wss = new WebSocketServer({ noServer: true });
  const log = opts.exposeStats ? new StatementLog() : undefined;
  const sqlDoor: SqlDoor = { pools, policy, maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, log };
  const wsDoor: WsDoor = { wss, policy, connectTimeoutMs, live, log };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://bridge");
    const path = url.pathname;
    if (req.headers.origin !== undefined) {
      // Answered before the body is read: Node drains an unread body for a keep-alive reuse.
      sendJson(res, 403, { message: ORIGIN_REFUSAL });
    } else if (log !== undefined && (path === "/__stats" || path === "/__stats/reset")) {
      handleStats(req, res, url, log);
    } else if (path === "/sql") {
      void handleSql(req, res, sqlDoor);
    } else if (path === "/" && req.method === "GET") {
      sendJson(res, 200, { ok: true, service: "neon-bridge" });
    } else {
      sendJson(res, 404, { message: "not found: use POST /sql or a WebSocket on /v2?address=host:port" });
    }
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => handleUpgrade(req, socket, head, wsDoor));

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("neon bridge: server has no TCP address");
  const urlHost = isIP(host) === 6 ? `[${host}]` : host;

  const statsLog = (): StatementLog => {
    if (log === undefined) throw new Error("neon bridge: statistics are off; start the bridge with exposeStats: true");
    return log;
  };
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    stats(filter) {
      return statsLog().stats(filter?.contains);
    },
    resetStats() {
      statsLog().reset();
    },
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const teardown of [...live]) teardown();
        for (const ws of wss.clients) ws.terminate();
        server.closeAllConnections();
        await Promise.all([stopped, pools.closeAll(), new Promise<void>((resolve) => wss.close(() => resolve()))]);
      })();
      return closing;
    },
  };
}

if (isMainModule(import.meta.url)) {
  const port = Number(process.env.NEON_BRIDGE_PORT ?? 4444);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`neon-bridge: NEON_BRIDGE_PORT is not a valid port: ${process.env.NEON_BRIDGE_PORT}`);
    process.exit(1);
  }
  const targets = process.env.NEON_BRIDGE_ALLOWED_TARGETS?.split(",").map((t) => t.trim()).filter((t) => t.length > 0);
  const bridge = await startNeonBridge({
    port,
    host: process.env.NEON_BRIDGE_HOST ?? "127.0.0.1",
    allowedTargets: targets?.length ? targets : undefined,
    exposeStats: process.env.NEON_BRIDGE_EXPOSE_STATS === "1" || process.env.NEON_BRIDGE_EXPOSE_STATS === "true",
  });
  console.log(`neon bridge listening on ${bridge.url} (fetchEndpoint ${bridge.url}/sql, wsProxy ${new URL(bridge.url).host}/v2)`);
  const stop = (): void => {
    void bridge.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
