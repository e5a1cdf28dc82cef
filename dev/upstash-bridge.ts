/**
 * @module Local stand-in for Upstash Redis: speaks the Upstash REST protocol (as @upstash/redis
 * sends it) over a real Redis, so the L2 tier runs unchanged in dev and tests.
 *
 * Requests carrying an `Origin` header are refused before the token is even checked: browsers send
 * one on every cross-origin request, and a web page open in the developer's browser has no business
 * probing (or timing) a local Redis front door. @upstash/redis in Node and workerd sends none.
 *
 * Run directly: `UPSTASH_REDIS_REST_TOKEN=… node dev/upstash-bridge.ts`
 * (env: REDIS_URL, default redis://127.0.0.1:6379; UPSTASH_BRIDGE_PORT, default 8079).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { BodyTooLargeError, CLOSE_CONNECTION, readBody } from "./http-body.ts";
import { isMainModule } from "../db/is-main.ts";

export interface UpstashBridgeOptions {
  redisUrl: string;
  token: string;
  /** 0 = ephemeral. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Upper bound for each request's Redis work; default 5000. */
  commandTimeoutMs?: number;
  /** Largest accepted request body; default 32 MiB. */
  maxBodyBytes?: number;
  /**
   * Count round trips and commands (for benchmarks that must count Redis work, not estimate it);
   * default false, and then stats() throws rather than report zeros.
   */
  recordStats?: boolean;
}

/** One HTTP request that carried commands: a client round trip, however many commands it held. */
export interface RoundTripRecord {
  at: number;
  door: "single" | "pipeline" | "multi-exec";
  /** Lowercased name and the first key (for EVAL/EVALSHA: the first KEYS entry), per command. */
  commands: Array<{ name: string; key: string | undefined }>;
}

export interface UpstashBridgeStats {
  /** Round trips since start or the last reset: exact. */
  roundTrips: number;
  /** Commands since start or the last reset: exact. */
  commands: number;
  /** The latest round trips (at most 20,000), oldest first. */
  log: RoundTripRecord[];
}

export interface UpstashBridge {
  url: string;
  port: number;
  /** Throws unless started with `recordStats`. */
  stats(): UpstashBridgeStats;
  resetStats(): void;
  close(): Promise<void>;
}

const STATS_LOG_LIMIT = 20_000;

function firstKey(cmd: ParsedCommand): string | undefined {
  if (cmd.name === "eval" || cmd.name === "evalsha" || cmd.name === "eval_ro" || cmd.name === "evalsha_ro") {
    return Number(cmd.args[1]) > 0 ? cmd.args[2] : undefined;
  }
  return cmd.args[0];
}

/** What ioredis hands back for a RESP2 reply when no reply encoding is requested. */
type RedisReply = Buffer | number | string | null | Error | RedisReply[];
type JsonReply = string | number | null | JsonReply[];
type ItemOutcome = { result: JsonReply } | { error: string };

const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 5000;

/**
 * The bridge multiplexes every HTTP request over one connection, so anything that changes
 * connection state or parks the connection would leak into unrelated requests.
 */
const REFUSED = new Set([
  "select", "multi", "exec", "discard", "watch", "unwatch",
  "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe",
  "monitor", "sync", "psync", "replconf", "quit", "reset", "hello", "auth",
  "readonly", "readwrite",
  "blpop", "brpop", "brpoplpush", "blmove", "blmpop", "bzpopmin", "bzpopmax", "bzmpop",
  "wait", "waitaof",
]);
const REFUSED_CLIENT_SUBCOMMANDS = new Set([
  "kill", "reply", "pause", "unpause", "tracking", "caching", "setname", "setinfo",
  "no-evict", "no-touch", "unblock",
]);

class BridgeTimeoutError extends Error {}
class BadRequestError extends Error {}

function refusalReason(name: string, args: readonly string[]): string | undefined {
  if (REFUSED.has(name)) {
    return `ERR bridge: '${name}' is not supported (it would block or change the state of the shared Redis connection)`;
  }
  if (name === "client") {
    const sub = args[0]?.toLowerCase();
    if (sub !== undefined && REFUSED_CLIENT_SUBCOMMANDS.has(sub)) {
      return `ERR bridge: 'client ${sub}' is not supported (it would change the state of the shared Redis connection)`;
    }
  }
  if ((name === "xread" || name === "xreadgroup") && args.some((a) => a.toLowerCase() === "block")) {
    return `ERR bridge: '${name} ... block' is not supported (blocking commands would stall the shared Redis connection)`;
  }
  return undefined;
}

interface ParsedCommand {
  /** Lowercased, for policy checks. */
  name: string;
  /**
   * Upper-cased on purpose: ioredis keys its reply transformers on the lowercase name
   * (hgetall → object, zrange pairs…), and the wire protocol wants the raw flat RESP2 shape.
   */
  wireName: string;
  args: string[];
}

function parseCommand(value: unknown, position: string): ParsedCommand {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BadRequestError(`ERR bridge: ${position} must be a non-empty JSON array`);
  }
  const [head, ...rest] = value as unknown[];
  if (typeof head !== "string" || head.length === 0) {
    throw new BadRequestError(`ERR bridge: ${position}: the command name must be a non-empty string`);
  }
  const args = rest.map((arg, i) => {
    if (typeof arg === "string") return arg;
    if (typeof arg === "number" || typeof arg === "boolean") return String(arg);
    throw new BadRequestError(`ERR bridge: ${position}: argument ${i + 1} must be a string, number or boolean`);
  });
  return { name: head.toLowerCase(), wireName: head.toUpperCase(), args };
}

function toJson(reply: RedisReply, base64: boolean): JsonReply {
  if (reply === null || typeof reply === "number") return reply;
  if (Array.isArray(reply)) return reply.map((r) => toJson(r, base64));
  if (typeof reply === "string") return base64 ? Buffer.from(reply).toString("base64") : reply;
  // Errors nested in a non-transaction reply (e.g. a Lua table holding an error) have no slot
  // of their own in the protocol; their text is the most useful thing to hand back.
  if (reply instanceof Error) return base64 ? Buffer.from(reply.message).toString("base64") : reply.message;
  return reply.toString(base64 ? "base64" : "utf8");
}

const OK_BYTES = Buffer.from("OK");

// Written out because Buffer.isBuffer / instanceof narrow this union to Uint8Array, not Buffer.
function isBytes(reply: RedisReply): reply is Buffer {
  return reply !== null && typeof reply === "object" && !Array.isArray(reply) && !(reply instanceof Error);
}

/** The client passes a bare top-level "OK" through undecoded, as Upstash sends it. */
function topLevelJson(reply: RedisReply, base64: boolean): JsonReply {
  if (base64 && isBytes(reply) && reply.equals(OK_BYTES)) return "OK";
  return toJson(reply, base64);
}

function isReplyError(e: unknown): e is Error {
  return e instanceof Error && e.name === "ReplyError";
}

function send(res: ServerResponse, status: number, body: unknown, extraHeaders: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...extraHeaders,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) throw new BadRequestError("ERR bridge: empty request body, expected a JSON array");
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new BadRequestError("ERR bridge: request body is not valid JSON");
  }
}

export async function startUpstashBridge(opts: UpstashBridgeOptions): Promise<UpstashBridge> {
  if (!opts.token) throw new Error("startUpstashBridge: token must be a non-empty string");
  const timeoutMs = opts.commandTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const host = opts.host ?? "127.0.0.1";
  // Hash both sides so the comparison is constant-time regardless of the presented length.
  const expectedAuth = createHash("sha256").update(`Bearer ${opts.token}`).digest();

  const redis = new Redis(opts.redisUrl, {
    protocol: 2,
    // Replaying half-answered writes after a reconnect could apply them twice.
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 2,
    connectionName: "strata-upstash-bridge",
  });
  let lastLoggedError: string | undefined;
  redis.on("error", (e: Error) => {
    if (e.message !== lastLoggedError) console.error(`[upstash-bridge] redis: ${e.message}`);
    lastLoggedError = e.message;
  });
  // One shared waiter: a listener per request would pile up while Redis is down.
  let readyWait: Promise<void> | undefined;
  redis.on("ready", () => {
    lastLoggedError = undefined;
    readyWait = undefined;
  });

  /**
   * Before "ready", ioredis writes loading-safe commands straight away but queues the rest, which
   * would reorder a MULTI…EXEC batch; waiting keeps every batch contiguous on the wire.
   */
  function whenReady(): Promise<void> | undefined {
    if (redis.status === "ready") return undefined;
    if (redis.status === "end") return Promise.reject(new Error("ERR bridge: Redis connection is closed"));
    readyWait ??= new Promise((resolve) => redis.once("ready", () => resolve()));
    return readyWait;
  }

  function call(cmd: ParsedCommand): Promise<RedisReply> {
    return redis.callBuffer(cmd.wireName, ...cmd.args) as Promise<RedisReply>;
  }

  function withTimeout<T>(work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new BridgeTimeoutError(`ERR bridge: Redis did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const ready = whenReady();
      const run = ready ? ready.then(work) : work();
      run.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  async function single(cmd: ParsedCommand, base64: boolean): Promise<[number, unknown]> {
    const refusal = refusalReason(cmd.name, cmd.args);
    if (refusal) return [400, { error: refusal }];
    try {
      const reply = await withTimeout(() => call(cmd));
      return [200, { result: topLevelJson(reply, base64) }];
    } catch (e) {
      if (isReplyError(e)) return [400, { error: e.message }];
      throw e;
    }
  }

  async function pipeline(cmds: ParsedCommand[], base64: boolean): Promise<[number, unknown]> {
    const outcomes = await withTimeout(() =>
      Promise.all(
        cmds.map((cmd): Promise<ItemOutcome> | ItemOutcome => {
          const refusal = refusalReason(cmd.name, cmd.args);
          if (refusal) return { error: refusal };
          return call(cmd).then(
            (reply) => ({ result: topLevelJson(reply, base64) }),
            (e: unknown) => {
              // Connection-level failures fail the whole request rather than masquerade as replies.
              if (isReplyError(e)) return { error: e.message };
              throw e;
            },
          );
        }),
      ),
    );
    return [200, outcomes];
  }

  async function transaction(cmds: ParsedCommand[], base64: boolean): Promise<[number, unknown]> {
    for (const cmd of cmds) {
      const refusal = refusalReason(cmd.name, cmd.args);
      if (refusal) return [400, { error: refusal }];
    }
    let reply: RedisReply;
    try {
      reply = await withTimeout(async () => {
        // Issued synchronously back to back, so nothing from other requests lands inside the
        // MULTI…EXEC window on the shared connection.
        const sent = [redis.callBuffer("MULTI"), ...cmds.map(call), redis.callBuffer("EXEC")] as Promise<RedisReply>[];
        const settled = await Promise.allSettled(sent);
        const exec = settled.pop()!;
        if (exec.status === "fulfilled") return exec.value;
        const execError: unknown = exec.reason;
        // EXECABORT alone does not say which command was rejected at queue time.
        const queueError = settled.find((r) => r.status === "rejected");
        if (isReplyError(execError) && queueError && isReplyError(queueError.reason)) {
          execError.message = `${execError.message} ${queueError.reason.message}`;
        }
        throw execError;
      });
    } catch (e) {
      if (isReplyError(e)) return [400, { error: e.message }];
      throw e;
    }
    if (!Array.isArray(reply)) return [400, { error: "ERR bridge: transaction aborted" }];
    return [
      200,
      reply.map((item): ItemOutcome =>
        item instanceof Error ? { error: item.message } : { result: topLevelJson(item, base64) },
      ),
    ];
  }

  /** Path style, e.g. GET /set/key/value or POST /set/key with the value as the raw body. */
  function pathCommand(pathname: string, body: Buffer): ParsedCommand {
    const parts = pathname.split("/").filter((p) => p.length > 0).map((p) => decodeURIComponent(p));
    if (body.length > 0) parts.push(body.toString("utf8"));
    return parseCommand(parts, "path command");
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.headers.origin !== undefined) {
      send(res, 403, { error: "ERR bridge: requests from web pages (with an Origin header) are refused" });
      return;
    }
    const auth = req.headers.authorization;
    if (auth === undefined || !timingSafeEqual(createHash("sha256").update(auth).digest(), expectedAuth)) {
      send(res, 401, { error: "Unauthorized" });
      return;
    }
    if (req.method !== "POST" && req.method !== "GET") {
      send(res, 405, { error: "ERR bridge: only POST and GET are supported" });
      return;
    }
    const base64 = req.headers["upstash-encoding"]?.toString().toLowerCase() === "base64";
    const rawUrl = req.url ?? "/";
    const q = rawUrl.indexOf("?");
    const pathname = q === -1 ? rawUrl : rawUrl.slice(0, q);
    const body = await readBody(req, maxBodyBytes);

    let outcome: [number, unknown];
    if (req.method === "POST" && (pathname === "/pipeline" || pathname === "/multi-exec")) {
      const parsed = parseJsonBody(body);
      if (!Array.isArray(parsed) || parsed.length === 0) {
        throw new BadRequestError("ERR bridge: expected a non-empty JSON array of commands");
      }
      const cmds = parsed.map((c: unknown, i) => parseCommand(c, `command ${i + 1}`));
      const door = pathname === "/pipeline" ? "pipeline" : "multi-exec";
      record(door, cmds);
      outcome = door === "pipeline" ? await pipeline(cmds, base64) : await transaction(cmds, base64);
    } else {
      const cmd = req.method === "POST" && pathname === "/" ? parseCommand(parseJsonBody(body), "request body") : pathCommand(pathname, body);
      record("single", [cmd]);
      outcome = await single(cmd, base64);
    }
    send(res, outcome[0], outcome[1]);
  }

  const stats = { roundTrips: 0, commands: 0, log: [] as RoundTripRecord[] };
  function record(door: RoundTripRecord["door"], cmds: readonly ParsedCommand[]): void {
    if (!opts.recordStats) return;
    stats.roundTrips++;
    stats.commands += cmds.length;
    stats.log.push({ at: Date.now(), door, commands: cmds.map((c) => ({ name: c.name, key: firstKey(c) })) });
    if (stats.log.length > STATS_LOG_LIMIT) stats.log.splice(0, stats.log.length - STATS_LOG_LIMIT);
  }
  function requireStats(): void {
    if (!opts.recordStats) throw new Error("upstash bridge: started without recordStats");
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (res.headersSent) return;
      if (e instanceof BodyTooLargeError) send(res, 400, { error: `ERR bridge: ${e.message}` }, CLOSE_CONNECTION);
      else if (e instanceof BadRequestError) send(res, 400, { error: e.message });
      else if (e instanceof BridgeTimeoutError) send(res, 504, { error: e.message });
      else if (e instanceof URIError) send(res, 400, { error: "ERR bridge: malformed percent-encoding in path" });
      else send(res, 502, { error: `ERR bridge: ${e instanceof Error ? e.message : String(e)}` });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    stats() {
      requireStats();
      return { roundTrips: stats.roundTrips, commands: stats.commands, log: stats.log.slice() };
    },
    resetStats() {
      requireStats();
      stats.roundTrips = 0;
      stats.commands = 0;
      stats.log.length = 0;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        redis.disconnect();
      });
      return closing;
    },
  };
}

if (isMainModule(import.meta.url)) {
  const token = process.env.UPSTASH_REDIS_REST_TOKEN;
  if (!token) {
    console.error("upstash-bridge: set UPSTASH_REDIS_REST_TOKEN (the token clients must present as Bearer)");
    process.exit(1);
  }
  const port = Number(process.env.UPSTASH_BRIDGE_PORT ?? 8079);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`upstash-bridge: UPSTASH_BRIDGE_PORT is not a valid port: ${process.env.UPSTASH_BRIDGE_PORT}`);
    process.exit(1);
  }
  const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const bridge = await startUpstashBridge({ redisUrl, token, port });
  console.log(`upstash-bridge: ${bridge.url} -> ${redisUrl}`);
  const stop = (): void => {
    bridge.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
