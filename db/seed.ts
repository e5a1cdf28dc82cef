/**
 * @module Loads the demo data set (db/seed-data.ts) into a migrated database.
 *
 * Usage: `npm run db:seed` (DATABASE_URL, else the libpq PG* variables: see
 * db/url.ts; `--resources=N` or SEED_RESOURCES overrides the default 12,000).
 * Idempotent: every row has a name-based id and is inserted with ON CONFLICT
 * DO NOTHING, so a second run inserts nothing and changes nothing.
 */
import { count, inArray, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import type { PgTable } from "drizzle-orm/pg-core";
import pg from "pg";
import { isMainModule } from "./is-main.ts";
import { cacheLayers, cacheStrategies } from "./schema/cache.ts";
import type { LayerName, ResourceType } from "./schema/enums.ts";
import { resourceDependencies, resources } from "./schema/resources.ts";
import { users } from "./schema/users.ts";
import {
  DEFAULT_SEED_RESOURCES,
  SEED_ADMIN_EMAIL,
  buildSeedGraph,
  seedLayers,
  seedStrategies,
  seedUsers,
} from "./seed-data.ts";
import { type SessionOptions, SESSION_DEFAULTS, closeSession, openSession, waitForAdvisoryLock } from "./session.ts";
import { defaultDatabaseUrl, redactDatabaseUrl } from "./url.ts";

export interface SeedCounts {
  users: number;
  cacheLayers: number;
  cacheStrategies: number;
  resources: number;
  resourceDependencies: number;
}

export interface SeedSummary {
  /** Rows this run added; all zero when the data set was already there. */
  inserted: SeedCounts;
  /** Rows in each table after the run, seeded or not. */
  totals: SeedCounts;
  /** How the requested resources split across types. */
  resourcesByType: Record<ResourceType, number>;
  durationMs: number;
}

/** Connect, statement, lock and lock-wait bounds (see SessionOptions), and the data set's size. */
export interface SeedOptions extends SessionOptions {
  /** Total resources to generate (>= 8); default 12,000. */
  resources?: number;
}

/** Serialises concurrent seeders; distinct from the migration lock. */
const SEED_LOCK_KEY = 7_320_114_965_102n;

/** Rows per INSERT: about 7 parameters each keeps a batch far below Postgres' 65,535. */
const BATCH_ROWS = 1_000;

type Db = NodePgDatabase<Record<string, never>>;
type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

export async function seedDatabase(databaseUrl: string, opts: SeedOptions = {}): Promise<SeedSummary> {
  const started = performance.now();
  const graph = buildSeedGraph(opts.resources ?? DEFAULT_SEED_RESOURCES);
  const client = await openSession(databaseUrl, opts);
  try {
    const db: Db = drizzle({ client });
    const inserted = await db.transaction(async (tx) => {
      // Transaction-scoped, so it is released at COMMIT/ROLLBACK even if the session lingers.
      await waitForAdvisoryLock(
        async () => {
          const { rows } = await tx.execute<{ locked: boolean }>(
            sql`SELECT pg_try_advisory_xact_lock(${SEED_LOCK_KEY.toString()}::bigint) AS locked`,
          );
          return rows[0]?.locked === true;
        },
        { what: "seed", key: SEED_LOCK_KEY, waitMs: opts.lockWaitMs ?? SESSION_DEFAULTS.lockWaitMs },
      );
      const result: SeedCounts = { users: 0, cacheLayers: 0, cacheStrategies: 0, resources: 0, resourceDependencies: 0 };

      const seededUsers = seedUsers();
      result.users = (await tx.insert(users).values(seededUsers).onConflictDoNothing()).rowCount ?? 0;
      // Look ids up by natural key: a user or layer created by hand before the
      // first seed keeps its own id, and the seed must point at that one.
      const admin = await tx
        .select({ id: users.id })
        .from(users)
        .where(inArray(users.email, [SEED_ADMIN_EMAIL]));
      const adminId = admin[0]?.id;
      if (!adminId) throw new Error(`seed: ${SEED_ADMIN_EMAIL} is missing after insert`);

      const layers = seedLayers(adminId);
      result.cacheLayers = (await tx.insert(cacheLayers).values(layers).onConflictDoNothing()).rowCount ?? 0;
      const layerRows = await tx.select({ id: cacheLayers.id, name: cacheLayers.layerName }).from(cacheLayers);
      const layerIds = new Map<LayerName, string>(layerRows.map((r) => [r.name, r.id]));

      const strategies = seedStrategies(adminId, layerIds);
      result.cacheStrategies =
        (await tx.insert(cacheStrategies).values(strategies).onConflictDoNothing()).rowCount ?? 0;

      result.resources = await insertBatches(tx, resources, graph.resources);
      result.resourceDependencies = await insertBatches(tx, resourceDependencies, graph.dependencies);
      return result;
    });

    const totals: SeedCounts = {
      users: await countRows(db, users),
      cacheLayers: await countRows(db, cacheLayers),
      cacheStrategies: await countRows(db, cacheStrategies),
      resources: await countRows(db, resources),
      resourceDependencies: await countRows(db, resourceDependencies),
    };
    return { inserted, totals, resourcesByType: graph.counts, durationMs: Math.round(performance.now() - started) };
  } finally {
    await closeSession(client);
  }
}

async function insertBatches<T extends PgTable>(tx: Tx, table: T, rows: ReadonlyArray<T["$inferInsert"]>): Promise<number> {
  let inserted = 0;
  for (let i = 0; i < rows.length; i += BATCH_ROWS) {
    const result = await tx.insert(table).values(rows.slice(i, i + BATCH_ROWS)).onConflictDoNothing();
    inserted += result.rowCount ?? 0;
  }
  return inserted;
}

async function countRows(db: Db, table: PgTable): Promise<number> {
  const [row] = await db.select({ n: count() }).from(table);
  return row?.n ?? 0;
}

function requestedResources(): number | undefined {
  const arg = process.argv.find((a) => a.startsWith("--resources="))?.slice("--resources=".length);
  const raw = arg ?? process.env.SEED_RESOURCES;
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new RangeError(`--resources must be an integer, got ${raw}`);
  return n;
}

if (isMainModule(import.meta.url)) {
  let databaseUrl: string | undefined;
  try {
    databaseUrl = defaultDatabaseUrl();
    const resourcesWanted = requestedResources();
    const summary = await seedDatabase(databaseUrl, resourcesWanted === undefined ? {} : { resources: resourcesWanted });
    console.log(`seed: ${redactDatabaseUrl(databaseUrl)}: done in ${summary.durationMs} ms`);
    console.table({ inserted: summary.inserted, total: summary.totals });
  } catch (error) {
    // 42P01 undefined_table: the schema is not there yet.
    const cause = error instanceof Error && error.cause instanceof pg.DatabaseError ? error.cause : error;
    const hint = cause instanceof pg.DatabaseError && cause.code === "42P01" ? " (run `npm run db:migrate` first)" : "";
    const target = databaseUrl === undefined ? "" : ` ${redactDatabaseUrl(databaseUrl)}:`;
    console.error(`seed:${target} failed${hint}:`, error);
    process.exitCode = 1;
  }
}
