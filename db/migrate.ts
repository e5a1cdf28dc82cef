/**
 * @module Applies the committed drizzle-kit migrations in db/migrations.
 *
 * Usage: `npm run db:migrate` (DATABASE_URL, else the libpq PG* variables; see db/url.ts).
 * Re-running is a no-op: drizzle records applied migrations in drizzle.__drizzle_migrations.
 */
import path from "node:path";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import type pg from "pg";
import { isMainModule } from "./is-main.ts";
import { type SessionOptions, SESSION_DEFAULTS, closeSession, openSession, waitForAdvisoryLock } from "./session.ts";
import { defaultDatabaseUrl, redactDatabaseUrl } from "./url.ts";

const MIGRATIONS_FOLDER = path.join(import.meta.dirname, "migrations");

/**
 * Arbitrary but fixed: every Strata migrator takes the same session-level
 * advisory lock, so deploys racing each other (several Lambdas, CI jobs) run
 * the migrations one after another instead of colliding on CREATE TYPE.
 */
export const MIGRATION_LOCK_KEY = 7_320_114_965_101n;

/** Connect, statement, lock and lock-wait bounds; see SessionOptions for the defaults. */
export type MigrateOptions = SessionOptions;

export async function migrateDatabase(databaseUrl: string, opts: MigrateOptions = {}): Promise<void> {
  const client = await openSession(databaseUrl, opts);
  try {
    // The migrator must use this very connection: the lock belongs to the session.
    await waitForAdvisoryLock(() => tryLock(client), {
      what: "migrate",
      key: MIGRATION_LOCK_KEY,
      waitMs: opts.lockWaitMs ?? SESSION_DEFAULTS.lockWaitMs,
    });
    await migrate(drizzle({ client }), { migrationsFolder: MIGRATIONS_FOLDER });
    // Only on success: after a failure (perhaps a timed-out query still on the wire) closing
    // the session releases the lock anyway, and an unlock would just queue behind the failure.
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY.toString()]);
  } finally {
    await closeSession(client);
  }
}

async function tryLock(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [
    MIGRATION_LOCK_KEY.toString(),
  ]);
  return rows[0]?.locked === true;
}

/** Number of migrations recorded as applied, or 0 before the first run. */
async function appliedMigrationCount(databaseUrl: string): Promise<number> {
  const client = await openSession(databaseUrl);
  try {
    const exists = await client.query<{ table: string | null }>(
      "SELECT to_regclass('drizzle.__drizzle_migrations')::text AS table",
    );
    if (!exists.rows[0]?.table) return 0;
    const { rows } = await client.query<{ count: string }>("SELECT count(*) FROM drizzle.__drizzle_migrations");
    return Number(rows[0]?.count ?? 0);
  } finally {
    await closeSession(client);
  }
}

if (isMainModule(import.meta.url)) {
  const started = performance.now();
  let databaseUrl: string | undefined;
  try {
    databaseUrl = defaultDatabaseUrl();
    const before = await appliedMigrationCount(databaseUrl);
    await migrateDatabase(databaseUrl);
    const after = await appliedMigrationCount(databaseUrl);
    const ms = Math.round(performance.now() - started);
    console.log(
      `migrate: ${redactDatabaseUrl(databaseUrl)}: ${after - before} applied, ${after} total (${ms} ms)`,
    );
  } catch (error) {
    const target = databaseUrl === undefined ? "" : ` ${redactDatabaseUrl(databaseUrl)}:`;
    console.error(`migrate:${target} failed:`, error);
    process.exitCode = 1;
  }
}
