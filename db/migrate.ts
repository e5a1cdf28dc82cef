/**
 * @module Applies the committed drizzle-kit migrations in db/migrations.
 *
 * Usage: `npm run db:migrate` (reads DATABASE_URL). Re-running is a no-op:
 * drizzle records applied migrations in drizzle.__drizzle_migrations.
 */
import path from "node:path";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";

export const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";

const MIGRATIONS_FOLDER = path.join(import.meta.dirname, "migrations");

/**
 * Arbitrary but fixed: every Strata migrator takes the same session-level
 * advisory lock, so deploys racing each other (several Lambdas, CI jobs) run
 * the migrations one after another instead of colliding on CREATE TYPE.
 */
const MIGRATION_LOCK_KEY = 7_320_114_965_101n;

export async function migrateDatabase(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // The migrator must use this very connection: the lock belongs to the session.
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY.toString()]);
    try {
      await migrate(drizzle({ client }), { migrationsFolder: MIGRATIONS_FOLDER });
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY.toString()]);
    }
  } finally {
    await client.end();
  }
}

/** Number of migrations recorded as applied, or 0 before the first run. */
async function appliedMigrationCount(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const exists = await client.query<{ table: string | null }>(
      "SELECT to_regclass('drizzle.__drizzle_migrations')::text AS table",
    );
    if (!exists.rows[0]?.table) return 0;
    const { rows } = await client.query<{ count: string }>("SELECT count(*) FROM drizzle.__drizzle_migrations");
    return Number(rows[0]?.count ?? 0);
  } finally {
    await client.end();
  }
}

function redactPassword(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = "***";
    return url.toString();
  } catch {
    return "<unparseable DATABASE_URL>";
  }
}

if (import.meta.main) {
  const databaseUrl = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  const started = performance.now();
  try {
    const before = await appliedMigrationCount(databaseUrl);
    await migrateDatabase(databaseUrl);
    const after = await appliedMigrationCount(databaseUrl);
    const ms = Math.round(performance.now() - started);
    console.log(
      `migrate: ${redactPassword(databaseUrl)}: ${after - before} applied, ${after} total (${ms} ms)`,
    );
  } catch (error) {
    console.error("migrate: failed:", error);
    process.exitCode = 1;
  }
}
