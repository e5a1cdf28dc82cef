/**
 * @module The one place that builds Drizzle handles over the Neon serverless driver, for the
 * Cloudflare worker (workerd) and the AWS Lambdas (Node 24). Both runtimes ship a global
 * WebSocket and fetch, so nothing here imports `ws` or other Node-only modules.
 *
 * Two shapes, by what the caller needs:
 * - `httpDb`: one query or a non-interactive batch per HTTP request. No connection to open or
 *   close, so it is the default for request handlers.
 * - `poolDb`: a WebSocket Pool for interactive transactions (`db.transaction(async tx => …)`).
 *   In workerd a Pool must not outlive the request that created it: build it inside the handler
 *   and `close()` it (e.g. in `ctx.waitUntil`) before the response is done.
 *
 * neonConfig is process-global, so one process talks to one Neon endpoint: either real Neon or one
 * local bridge (dev/neon-bridge.ts). `configureNeon` refuses to switch between them rather than
 * silently re-pointing handles created earlier.
 */
import { neon, neonConfig, Pool, type NeonQueryFunction } from "@neondatabase/serverless";
import { drizzle as drizzleHttp, type NeonHttpDatabase } from "drizzle-orm/neon-http";
import { drizzle as drizzleWs, type NeonDatabase } from "drizzle-orm/neon-serverless";
import * as schema from "./schema/index.ts";

export interface DbConfig {
  /** postgres://user:pass@host:port/db — for local dev, the Postgres behind the bridge. */
  databaseUrl: string;
  /** Local dev only, e.g. http://127.0.0.1:4444: route both driver paths through dev/neon-bridge.ts. */
  neonBridgeUrl?: string;
  /** Bound on each query (HTTP request or Pool query); default 10000 ms. */
  queryTimeoutMs?: number;
  /** Bound on acquiring/opening a Pool connection; default min(queryTimeoutMs, 5000) ms. */
  connectTimeoutMs?: number;
  /** Pool size for poolDb; default 5. */
  poolMax?: number;
}

export type Schema = typeof schema;
export type HttpDb = NeonHttpDatabase<Schema> & { $client: NeonQueryFunction<false, false> };
export type PoolDb = NeonDatabase<Schema> & { $client: Pool };

export interface PoolHandle {
  db: PoolDb;
  pool: Pool;
  /** Ends the pool; safe to call more than once. */
  close(): Promise<void>;
}

const DEFAULT_QUERY_TIMEOUT_MS = 10_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const DEFAULT_POOL_MAX = 5;
const POOL_IDLE_MS = 10_000;

/** What neonConfig currently points at: undefined = untouched, null = real Neon, string = a bridge. */
let configuredEndpoint: string | null | undefined;

function normaliseBridgeUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`neonBridgeUrl ${JSON.stringify(raw)} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`neonBridgeUrl must be http(s)://host:port, got ${JSON.stringify(raw)}`);
  }
  return url;
}

/**
 * Points the driver at a local bridge when `neonBridgeUrl` is set, and leaves Neon's defaults
 * alone otherwise. Idempotent for the same endpoint; throws when asked to switch, because
 * neonConfig is shared by every handle in the process.
 */
export function configureNeon(cfg: DbConfig): void {
  const bridge = cfg.neonBridgeUrl ? normaliseBridgeUrl(cfg.neonBridgeUrl) : undefined;
  const wanted = bridge ? bridge.href.replace(/\/+$/, "") : null;
  if (configuredEndpoint !== undefined) {
    if (configuredEndpoint === wanted) return;
    throw new Error(
      `neonConfig is process-global and already points at ${configuredEndpoint ?? "Neon"}; ` +
        `refusing to switch to ${wanted ?? "Neon"} (use one Neon endpoint per process)`,
    );
  }
  configuredEndpoint = wanted;
  if (!bridge || !wanted) return;

  const base = `${bridge.host}${bridge.pathname.replace(/\/+$/, "")}`;
  // The bridge speaks plain ws/http on loopback, and a local Postgres may use SCRAM, which the
  // pipelined cleartext-password startup cannot do.
  neonConfig.wsProxy = `${base}/v2`;
  neonConfig.useSecureWebSocket = bridge.protocol === "https:";
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
  // Coalescing only pays off across a real network; locally it adds ~1 ms per round trip.
  neonConfig.coalesceWrites = false;
  neonConfig.fetchEndpoint = `${wanted}/sql`;
}

/**
 * The driver spreads `fetchOptions` into every fetch() it makes, so a getter yields a fresh
 * deadline per request; a plain `AbortSignal.timeout()` would start ticking once, at construction.
 */
function perRequestTimeout(timeoutMs: number): Record<string, unknown> {
  return {
    get signal(): AbortSignal {
      return AbortSignal.timeout(timeoutMs);
    },
  };
}

/** Drizzle over Neon's HTTP path: single queries and `db.batch([...])` (one transaction). */
export function httpDb(cfg: DbConfig): HttpDb {
  configureNeon(cfg);
  const client = neon(cfg.databaseUrl, {
    fetchOptions: perRequestTimeout(cfg.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS),
  });
  return drizzleHttp({ client, schema });
}

/** Drizzle over a WebSocket Pool, for interactive transactions. Call `close()` when done. */
export function poolDb(cfg: DbConfig): PoolHandle {
  configureNeon(cfg);
  const queryTimeoutMs = cfg.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  const pool = new Pool({
    connectionString: cfg.databaseUrl,
    max: cfg.poolMax ?? DEFAULT_POOL_MAX,
    idleTimeoutMillis: POOL_IDLE_MS,
    connectionTimeoutMillis: cfg.connectTimeoutMs ?? Math.min(queryTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS),
    // Client-side rather than statement_timeout: Neon's pooled endpoints (PgBouncer) reject
    // unknown startup parameters, and this also covers a server that stops answering altogether.
    query_timeout: queryTimeoutMs,
  });
  // An idle connection dropping (server restart, proxy idle cut) is emitted on the pool; without a
  // listener that 'error' event would take the whole process down.
  pool.on("error", (error: unknown) => {
    console.warn("db pool: idle connection failed:", error instanceof Error ? error.message : error);
  });
  const db = drizzleWs({ client: pool, schema });
  let ended: Promise<void> | undefined;
  return {
    db,
    pool,
    close: () => (ended ??= pool.end()),
  };
}
