/**
 * @module Bounded Postgres sessions for the maintenance tools (db/migrate.ts, db/seed.ts).
 *
 * They run at deploy time and on `npm run dev` startup, where a server that accepts the TCP
 * connection and then never answers, a statement stuck behind someone's lock, or another run
 * that never lets go of the advisory lock would otherwise hang the command forever. Every wait
 * here has a bound and fails with a message that says what it was waiting for.
 */
import pg from "pg";

export interface SessionOptions {
  /** Bound on opening the connection (TCP, TLS, auth); default 10 s. */
  connectTimeoutMs?: number;
  /**
   * Server-side statement_timeout for every statement; default 120 s, generous because one
   * migration statement may rewrite or index a large table. A client-side timeout a little
   * longer backs it up for a server that stops answering altogether.
   */
  statementTimeoutMs?: number;
  /**
   * Server-side lock_timeout; default 15 s. DDL queued for an ACCESS EXCLUSIVE lock blocks every
   * later reader of that table, so giving up early (and retrying the deploy) beats stalling the
   * application for the whole statement timeout.
   */
  lockTimeoutMs?: number;
  /** How long to wait for the advisory lock another migrator or seeder holds; default 120 s. */
  lockWaitMs?: number;
}

export const SESSION_DEFAULTS: Readonly<Required<SessionOptions>> = {
  connectTimeoutMs: 10_000,
  statementTimeoutMs: 120_000,
  lockTimeoutMs: 15_000,
  lockWaitMs: 120_000,
};

/** Margin of the client-side query timeout over statement_timeout, so the server's clearer error wins. */
const CLIENT_TIMEOUT_MARGIN_MS = 5_000;
/** How long a graceful close may take before the socket is destroyed. */
const CLOSE_GRACE_MS = 5_000;

function resolve(opts: SessionOptions): Required<SessionOptions> {
  // Field by field: callers pass wider option objects (SeedOptions) through.
  const resolved: Required<SessionOptions> = {
    connectTimeoutMs: opts.connectTimeoutMs ?? SESSION_DEFAULTS.connectTimeoutMs,
    statementTimeoutMs: opts.statementTimeoutMs ?? SESSION_DEFAULTS.statementTimeoutMs,
    lockTimeoutMs: opts.lockTimeoutMs ?? SESSION_DEFAULTS.lockTimeoutMs,
    lockWaitMs: opts.lockWaitMs ?? SESSION_DEFAULTS.lockWaitMs,
  };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer (ms), got ${value}`);
  }
  return resolved;
}

/** A connected client whose every wait is bounded; close it with closeSession. */
export async function openSession(databaseUrl: string, opts: SessionOptions = {}): Promise<pg.Client> {
  const o = resolve(opts);
  const client = new pg.Client({
    connectionString: databaseUrl,
    connectionTimeoutMillis: o.connectTimeoutMs,
    query_timeout: o.statementTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS,
  });
  // A connection dropped between queries is emitted as 'error' on the client; without a listener
  // it would crash the process instead of failing the next query.
  client.on("error", () => undefined);
  // On timeout pg destroys the socket itself and rejects with "connection timeout".
  await client.connect();
  try {
    // set_config after connecting, not startup parameters: poolers such as PgBouncer reject
    // unknown startup parameters.
    await client.query(
      "SELECT set_config('statement_timeout', $1, false), set_config('lock_timeout', $2, false)",
      [String(o.statementTimeoutMs), String(o.lockTimeoutMs)],
    );
  } catch (error) {
    await closeSession(client);
    throw error;
  }
  return client;
}

/** Ends the session; destroys the socket if the server does not acknowledge within a few seconds. */
export async function closeSession(client: pg.Client): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<"timeout">((done) => {
    timer = setTimeout(() => done("timeout"), CLOSE_GRACE_MS);
  });
  try {
    const outcome = await Promise.race([client.end().then(() => "ended" as const), grace]);
    if (outcome === "timeout") client.connection.stream.destroy();
  } catch {
    client.connection.stream.destroy();
  } finally {
    clearTimeout(timer);
  }
}

export interface AdvisoryLockWait {
  /** Used in the error message, e.g. "migrate". */
  what: string;
  key: bigint;
  waitMs: number;
}

/**
 * Polls `tryLock` (one `pg_try_advisory_lock` or `pg_try_advisory_xact_lock`) until it succeeds
 * or `waitMs` runs out. Polling rather than a blocking `pg_advisory_lock` under lock_timeout:
 * the error can then say which lock and for how long, instead of a bare "lock timeout".
 */
export async function waitForAdvisoryLock(tryLock: () => Promise<boolean>, wait: AdvisoryLockWait): Promise<void> {
  const deadline = performance.now() + wait.waitMs;
  let pauseMs = 25;
  for (;;) {
    if (await tryLock()) return;
    const left = deadline - performance.now();
    if (left <= 0) {
      throw new Error(
        `${wait.what}: advisory lock ${wait.key} is still held by another session after ${wait.waitMs} ms ` +
          `(another ${wait.what} running, or stuck? see pg_locks WHERE locktype = 'advisory')`,
      );
    }
    await new Promise((done) => setTimeout(done, Math.min(pauseMs, left)));
    pauseMs = Math.min(pauseMs * 2, 500);
  }
}
