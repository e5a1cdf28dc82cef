/**
 * Migrations from an empty database to head: they apply, a second run is a
 * no-op (same journal, same schema), concurrent migrators serialise on the
 * advisory lock, and a migrator that cannot get the lock gives up in time.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATION_LOCK_KEY, migrateDatabase } from "../../db/migrate.ts";
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

/**
 * md5 over the public schema as the catalog describes it: relations, columns (type, nullability,
 * default), constraints, indexes and enum labels in order. No OIDs, so two databases with the
 * same schema agree; `lines` says how much went in, so an empty result cannot pass as a match.
 */
const SCHEMA_FINGERPRINT = `
  SELECT md5(string_agg(line, E'\\n' ORDER BY line)) AS md5, count(*)::int AS lines FROM (
    SELECT format('rel %s %s', c.relname, c.relkind)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
    UNION ALL
    SELECT format('col %s.%s %s notnull=%s default=%s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                  a.attnotnull, pg_get_expr(d.adbin, d.adrelid))
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT format('con %s %s %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid))
    FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'
    UNION ALL
    SELECT format('idx %s %s', indexname, indexdef) FROM pg_indexes WHERE schemaname = 'public'
    UNION ALL
    SELECT format('enum %s %s', t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder))
    FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = 'public' GROUP BY t.typname
  ) AS lines(line)`;

async function schemaFingerprint(url: string): Promise<{ md5: string; lines: number }> {
  const [row] = await query<{ md5: string; lines: number }>(url, SCHEMA_FINGERPRINT);
  if (!row) throw new Error("schema fingerprint returned no row");
  return row;
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
    expect(enums).toHaveLength(20);
    expect(await appliedMigrations(sequential.url)).toHaveLength(journal.entries.length);
  });

  it("is a no-op the second time: same journal, same schema", async () => {
    const journalBefore = await appliedMigrations(sequential.url);
    const schemaBefore = await schemaFingerprint(sequential.url);
    expect(schemaBefore.lines).toBeGreaterThan(300);
    await migrateDatabase(sequential.url);
    expect(await appliedMigrations(sequential.url)).toEqual(journalBefore);
    expect(await schemaFingerprint(sequential.url)).toEqual(schemaBefore);
  });

  it("has a fingerprint that notices a schema change", async () => {
    const before = await schemaFingerprint(sequential.url);
    await query(sequential.url, "CREATE INDEX fingerprint_probe ON users (display_name)");
    try {
      expect((await schemaFingerprint(sequential.url)).md5).not.toBe(before.md5);
    } finally {
      await query(sequential.url, "DROP INDEX fingerprint_probe");
    }
    expect(await schemaFingerprint(sequential.url)).toEqual(before);
  });

  it("lets concurrent migrators finish without colliding", async (ctx) => {
    // PGlite serves every connection from one backend session, so there is no concurrency to serialise.
    if (concurrent.kind === "pglite") ctx.skip("needs a multi-session PostgreSQL server (PGlite stood in)");
    await Promise.all([migrateDatabase(concurrent.url), migrateDatabase(concurrent.url), migrateDatabase(concurrent.url)]);
    expect(await appliedMigrations(concurrent.url)).toHaveLength(journal.entries.length);
    expect(await schemaFingerprint(concurrent.url)).toEqual(await schemaFingerprint(sequential.url));
  });

  it("gives up waiting for a lock another session holds, with an error that says so", async (ctx) => {
    // Advisory locks are per session, and PGlite has only one: the lock would be granted re-entrantly.
    if (sequential.kind === "pglite") ctx.skip("needs a multi-session PostgreSQL server (PGlite stood in)");
    const holder = new pg.Client({ connectionString: sequential.url });
    await holder.connect();
    try {
      await holder.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY.toString()]);
      const started = performance.now();
      await expect(migrateDatabase(sequential.url, { lockWaitMs: 300 })).rejects.toThrow(
        /migrate: advisory lock \d+ is still held by another session after 300 ms/,
      );
      expect(performance.now() - started).toBeLessThan(5_000);
      // Once the holder lets go, the next run gets through.
      await holder.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY.toString()]);
      await migrateDatabase(sequential.url, { lockWaitMs: 300 });
    } finally {
      await holder.end();
    }
  });
});
