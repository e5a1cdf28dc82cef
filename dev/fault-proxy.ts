/**
 * @module TCP proxy that makes a dependency (Postgres, Redis) fail on demand, for tests.
 *
 * Tests cannot stop the real servers (other suites share them, and code under test in workerd has
 * no way to reach a process anyway), so they point a client at this proxy and flip its mode:
 * - `up`: bytes flow both ways, with backpressure and Nagle off, as if connected directly.
 * - `refuse`: every open connection is reset at once and new ones are reset as soon as they are
 *   accepted, so clients see "server is down" (ECONNRESET / connection closed) without delay.
 * - `hang`: connections stay open but nothing moves in either direction; new connections are
 *   accepted and not connected upstream. Clients see "server stopped answering" and only their own
 *   timeouts end the wait.
 *
 * Leaving `hang` for `up` resumes the paused connections where they stopped (and connects the ones
 * accepted during the hang), so a client whose request timed out but kept its connection carries
 * on, which is what happens when a real server recovers from a stall. Nothing is dropped: bytes a
 * connection had already read when the hang began (at most one stream buffer, 16 KiB, per side)
 * wait in the proxy and go on after it. A hung connection reads nothing, so it cannot notice its
 * client giving up: it stays open (and counted) until the mode changes or the proxy closes; on
 * `up` it then closes by itself once the client's leftover bytes and FIN have gone through.
 *
 * `startFaultControl` adds a small HTTP control plane so code that can only make HTTP requests
 * (tests running inside workerd reach loopback HTTP) can flip the modes. Like dev/neon-bridge.ts it
 * refuses requests carrying an `Origin` header: a web page in the developer's browser must not be
 * able to break, or probe, local services.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { connect as tcpConnect, createServer as createTcpServer, isIP, type Server, type Socket } from "node:net";
import { BodyTooLargeError, CLOSE_CONNECTION, readBody } from "./http-body.ts";

export type FaultMode = "up" | "refuse" | "hang";

export interface FaultProxy {
  readonly port: number;
  readonly host: string;
  /** Current mode; assigning it is the same as setMode(). */
  mode: FaultMode;
  setMode(mode: FaultMode): void;
  /** Client connections currently open through the proxy (hung ones included, even if their client has given up). */
  readonly connections: number;
  /** Stops listening and destroys every connection, both sides. */
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  target: { host: string; port: number };
  /** 0 (the default) picks an ephemeral port. */
  port?: number;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
}

export interface FaultControl {
  /** e.g. http://127.0.0.1:5555 — POST `${url}/<name>/mode`, GET `${url}/<name>`. */
  url: string;
  close(): Promise<void>;
}

export interface FaultControlOptions {
  /** 0 (the default) picks an ephemeral port. */
  port?: number;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
}

const MODES: readonly FaultMode[] = ["up", "refuse", "hang"];

const isFaultMode = (value: unknown): value is FaultMode => typeof value === "string" && (MODES as readonly string[]).includes(value);

/**
 * After one side closes cleanly, how long the other may take to flush what it still holds before
 * it is destroyed: a peer that never closes its end must not keep the connection open forever.
 */
const LINGER_MS = 1_000;

/** One accepted client connection and, once connected, its upstream twin. */
interface Link {
  client: Socket;
  upstream: Socket | undefined;
}

/** Pipes `from` into `to` with backpressure; paused sources resume on drain only while `up`. */
function pump(from: Socket, to: Socket, isUp: () => boolean): void {
  from.on("data", (chunk: Buffer) => {
    if (!to.write(chunk)) from.pause();
  });
  to.on("drain", () => {
    if (isUp()) from.resume();
  });
  // FIN travels through, so a client's orderly goodbye (after Postgres' Terminate, say) reaches the server.
  from.on("end", () => to.end());
  from.on("close", (hadError) => {
    if (to.destroyed) return;
    // A clean close whose FIN has been passed on lets `to` flush first; anything else is abrupt.
    if (hadError || !to.writableEnded) {
      to.destroy();
      return;
    }
    const timer = setTimeout(() => to.destroy(), LINGER_MS);
    timer.unref();
    to.once("close", () => clearTimeout(timer));
  });
}

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const { target } = opts;
  const host = opts.host ?? "127.0.0.1";
  let mode: FaultMode = "up";
  const links = new Set<Link>();
  const isUp = (): boolean => mode === "up";

  const connectUpstream = (link: Link): void => {
    const upstream = tcpConnect({ host: target.host, port: target.port });
    upstream.setNoDelay(true);
    link.upstream = upstream;
    // An unreachable target looks like a server that is down: the client's connection closes.
    upstream.on("error", () => upstream.destroy());
    pump(link.client, upstream, isUp);
    pump(upstream, link.client, isUp);
    upstream.on("close", () => {
      if (link.client.destroyed) links.delete(link);
    });
  };

  const resume = (link: Link): void => {
    if (link.client.destroyed) return;
    if (link.upstream === undefined) {
      connectUpstream(link);
      link.client.resume();
      return;
    }
    // Each side resumes only if its destination is not still waiting to drain.
    if (!link.upstream.writableNeedDrain) link.client.resume();
    if (!link.client.writableNeedDrain) link.upstream.resume();
  };

  const hang = (link: Link): void => {
    link.client.pause();
    link.upstream?.pause();
  };

  const reset = (link: Link): void => {
    links.delete(link);
    link.upstream?.destroy();
    // RST rather than FIN: the client should see a failure, not an orderly goodbye.
    if (!link.client.destroyed) link.client.resetAndDestroy();
  };

  // pauseOnConnect: nothing is read from a new client until its mode says so, so `hang` buffers nothing.
  const server: Server = createTcpServer({ pauseOnConnect: true, noDelay: true }, (client) => {
    client.on("error", () => client.destroy());
    const link: Link = { client, upstream: undefined };
    if (mode === "refuse") {
      reset(link);
      return;
    }
    links.add(link);
    client.setNoDelay(true);
    client.on("close", () => {
      if (link.upstream === undefined || link.upstream.destroyed) links.delete(link);
    });
    if (mode === "up") {
      connectUpstream(link);
      client.resume();
    }
    // In `hang` the client stays paused and unconnected until the mode changes.
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("fault proxy: server has no TCP address");

  const setMode = (next: FaultMode): void => {
    if (!isFaultMode(next)) throw new Error(`fault proxy: unknown mode ${JSON.stringify(next)}; use ${MODES.join(", ")}`);
    if (next === mode) return;
    mode = next;
    for (const link of [...links]) {
      if (next === "refuse") reset(link);
      else if (next === "hang") hang(link);
      else resume(link);
    }
  };

  let closing: Promise<void> | undefined;
  return {
    port: address.port,
    host,
    get mode() {
      return mode;
    },
    set mode(next: FaultMode) {
      setMode(next);
    },
    setMode,
    get connections() {
      let open = 0;
      for (const link of links) if (!link.client.destroyed) open++;
      return open;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const link of links) {
          link.client.destroy();
          link.upstream?.destroy();
        }
        links.clear();
      });
      return closing;
    },
  };
}

// ---------------------------------------------------------------- control plane

const ORIGIN_REFUSAL = "requests from web pages (with an Origin header) are refused: this control plane is for tests";
/** Mode changes are a few bytes of JSON; anything bigger is not a mode change. */
const MAX_CONTROL_BODY_BYTES = 4 * 1024;

function sendJson(res: ServerResponse, status: number, body: unknown, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const payload = JSON.stringify(body);
  res.writeHead(status, { ...extraHeaders, "content-type": "application/json", "content-length": Buffer.byteLength(payload) });
  res.end(payload);
}

function describeProxy(name: string, proxy: FaultProxy): { name: string; mode: FaultMode; connections: number; port: number } {
  return { name, mode: proxy.mode, connections: proxy.connections, port: proxy.port };
}

async function handleControl(req: IncomingMessage, res: ServerResponse, proxies: ReadonlyMap<string, FaultProxy>): Promise<void> {
  const path = new URL(req.url ?? "/", "http://control").pathname;
  if (path === "/") {
    if (req.method !== "GET") return sendJson(res, 405, { message: "use GET /" });
    return sendJson(res, 200, { proxies: [...proxies].map(([name, proxy]) => describeProxy(name, proxy)) });
  }
  const parts = path.slice(1).split("/");
  let name: string;
  try {
    name = decodeURIComponent(parts[0] ?? "");
  } catch {
    return sendJson(res, 400, { message: "malformed proxy name in path" });
  }
  const proxy = proxies.get(name);
  if (proxy === undefined || parts.length > 2 || (parts.length === 2 && parts[1] !== "mode")) {
    return sendJson(res, 404, { message: `no fault proxy at ${JSON.stringify(path)}; known: ${[...proxies.keys()].join(", ") || "none"}` });
  }
  if (parts.length === 1) {
    if (req.method !== "GET") return sendJson(res, 405, { message: `use GET /${name}` });
    return sendJson(res, 200, describeProxy(name, proxy));
  }
  if (req.method !== "POST") return sendJson(res, 405, { message: `use POST /${name}/mode` });
  let body: unknown;
  try {
    body = JSON.parse((await readBody(req, MAX_CONTROL_BODY_BYTES)).toString("utf8"));
  } catch (error) {
    if (error instanceof BodyTooLargeError) return sendJson(res, 413, { message: error.message }, CLOSE_CONNECTION);
    return sendJson(res, 400, { message: 'body must be JSON: {"mode": "up" | "refuse" | "hang"}' });
  }
  const requested = typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>).mode : undefined;
  if (!isFaultMode(requested)) {
    return sendJson(res, 400, { message: `field "mode" must be one of ${MODES.map((m) => JSON.stringify(m)).join(", ")}`, field: "mode" });
  }
  proxy.setMode(requested);
  return sendJson(res, 200, { name, mode: proxy.mode });
}

/**
 * HTTP control plane over named proxies: POST `{url}/<name>/mode` with `{"mode": ...}` answers
 * 200 `{name, mode}`; GET `{url}/<name>` answers `{name, mode, connections, port}`; GET `{url}/`
 * lists them all. Unknown names answer 404 JSON, a bad mode 400 JSON naming the field.
 */
export async function startFaultControl(proxies: Record<string, FaultProxy>, opts: FaultControlOptions = {}): Promise<FaultControl> {
  const host = opts.host ?? "127.0.0.1";
  const named = new Map(Object.entries(proxies));
  const server = createHttpServer((req, res) => {
    if (req.headers.origin !== undefined) {
      sendJson(res, 403, { message: ORIGIN_REFUSAL });
      return;
    }
    handleControl(req, res, named).catch((error: unknown) => {
      sendJson(res, 500, { message: error instanceof Error ? error.message : String(error) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("fault control: server has no TCP address");
  const urlHost = isIP(host) === 6 ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${address.port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
