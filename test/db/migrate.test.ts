/**
 * Migrations from an empty database to head: they apply, a second run is a
 * no-op, and concurrent migrators serialise on the advisory lock.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateDatabase } from "../../db/migrate.ts";
import { type ScratchDatabase, createScratchDatabase } from "./helpers.ts";

const TABLES = [
  "api_keys",
  "cache_invalidation_log",
  "cache_key_registry",
  "cache_layer",
  "cache_metrics",
  "cache_optimization_recommendation",
  "cache_performance_alert",
  "cache_strategy",
  "cache_usage_pattern",
  "cache_warming_job",
  "resource_dependencies",
  "resources",
  "users",
];

const journal = JSON.parse(
  readFileSync(path.join(import.meta.dirname, "../../db/migrations/meta/_journal.json"), "utf8"),
) as { entries: Array<{ tag: string }> };

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

const appliedMigrations = (url: string) =>
  query<{ id: number; hash: string; created_at: string }>(url, "SELECT id, hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id");

describe("migrateDatabase", () => {
  let sequential: ScratchDatabase;
  let concurrent: ScratchDatabase;

  beforeAll(async () => {
    sequential = await createScratchDatabase();
    concurrent = await createScratchDatabase();
  });
  afterAll(async () => {
    await sequential?.drop();
    await concurrent?.drop();
  });

  it("takes an empty database to head", async () => {
    expect(await query(sequential.url, "SELECT 1 FROM pg_tables WHERE schemaname = 'public'")).toEqual([]);
    const started = performance.now();
    await migrateDatabase(sequential.url);
    console.info(`migrate: empty → head in ${Math.round(performance.now() - started)} ms`);

    const tables = await query<{ tablename: string }>(
      sequential.url,
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    );
    expect(tables.map((t) => t.tablename)).toEqual(TABLES);
    const enums = await query<{ typname: string }>(
      sequential.url,
      "SELECT typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public' AND t.typtype = 'e'",
    );
    expect(enums).toHaveLength(18);
    expect(await appliedMigrations(sequential.url)).toHaveLength(journal.entries.length);
  });

  it("is a no-op the second time", async () => {
    const before = await appliedMigrations(sequential.url);
    await migrateDatabase(sequential.url);
    expect(await appliedMigrations(sequential.url)).toEqual(before);
  });

  it("lets concurrent migrators finish without colliding", async (ctx) => {
    // PGlite is one session for every connection: there is no concurrency to serialise.
    if (concurrent.kind === "pglite") ctx.skip();
    await Promise.all([migrateDatabase(concurrent.url), migrateDatabase(concurrent.url), migrateDatabase(concurrent.url)]);
    expect(await appliedMigrations(concurrent.url)).toHaveLength(journal.entries.length);
  });
});
