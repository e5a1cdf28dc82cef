/**
 * @module Fixtures for the database suites: a private, migrated database per
 * test file, and assertions on Postgres error codes.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { expect, inject } from "vitest";
import { migrateDatabase } from "../../db/migrate.ts";
import { defaultDatabaseUrl } from "../../db/url.ts";

export const SQLSTATE = {
  checkViolation: "23514",
  invalidTextRepresentation: "22P02",
  uniqueViolation: "23505",
  foreignKeyViolation: "23503",
  /** Postgres 18 reports ON DELETE RESTRICT with this code instead of 23503. */
  restrictViolation: "23001",
  notNullViolation: "23502",
  /** statement_timeout (or a cancel request) ended the statement. */
  queryCanceled: "57014",
} as const;

/** The server the global setup prepared, or the local default when run without it. */
function serverUrl(): string {
  let provided: string | undefined;
  try {
    provided = inject("databaseUrl");
  } catch {
    provided = undefined;
  }
  return provided ?? defaultDatabaseUrl();
}

export interface ScratchDatabase {
  url: string;
  /** "pglite" when the server cannot host separate databases and a private PGlite stands in. */
  kind: "postgres" | "pglite";
  drop(): Promise<void>;
}

/** An empty database of its own, so suites never see each other's rows. */
export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const server = serverUrl();
  const name = `strata_t_${randomBytes(5).toString("hex")}`;
  const url = new URL(server);
  url.pathname = `/${name}`;
  await withClient(server, (c) => c.query(`CREATE DATABASE ${name}`));
  const drop = async (): Promise<void> => {
    await withClient(server, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  };
  // PGlite accepts CREATE DATABASE but serves one database to every connection.
  const actual = await withClient(url.toString(), (c) => c.query<{ db: string }>("SELECT current_database() AS db"));
  if (actual.rows[0]?.db === name) return { url: url.toString(), kind: "postgres", drop };
  await drop().catch(() => undefined);
  return startPrivatePglite();
}

async function withClient<T>(connectionString: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function startPrivatePglite(): Promise<ScratchDatabase> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  const db = await PGlite.create();
  const server = new PGLiteSocketServer({ db, port: 0, host: "127.0.0.1", maxConnections: 100 });
  await server.start();
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    kind: "pglite",
    async drop() {
      await server.stop();
      await db.close();
    },
  };
}

export async function createMigratedDatabase(): Promise<ScratchDatabase> {
  const db = await createScratchDatabase();
  try {
    await migrateDatabase(db.url);
  } catch (error) {
    await db.drop();
    throw error;
  }
  return db;
}

/**
 * Asserts that the statement fails with the given SQLSTATE and, when named,
 * that the expected constraint (not some other one) is the reason.
 */
export async function expectPgError(
  work: Promise<unknown>,
  code: string | readonly string[],
  constraint?: string,
): Promise<void> {
  let caught: unknown;
  try {
    await work;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected SQLSTATE ${String(code)}${constraint ? ` (${constraint})` : ""}, but the statement succeeded`).toBeInstanceOf(
    pg.DatabaseError,
  );
  const error = caught as pg.DatabaseError;
  const codes: readonly string[] = typeof code === "string" ? [code] : code;
  expect(codes, error.message).toContain(error.code);
  if (constraint !== undefined) expect(error.constraint, error.message).toBe(constraint);
  recordRejection(error);
}

/**
 * What this test file has seen reject a row: constraint names as Postgres reported them, and
 * enum types whose input function refused a value. Per file, because vitest gives every test
 * file its own module graph; a suite compares it with the catalog once its tests have run, so
 * a constraint or enum added without a test fails that suite.
 */
export const rejectedBy = {
  constraints: new Set<string>(),
  enums: new Set<string>(),
};

const ENUM_INPUT_ERROR = /^invalid input value for enum "?([\w.]+)"?: /;

function recordRejection(error: pg.DatabaseError): void {
  if (error.constraint) rejectedBy.constraints.add(error.constraint);
  // 22P02 carries no constraint or type field; the enum is only named in the message.
  const enumName = error.code === SQLSTATE.invalidTextRepresentation ? ENUM_INPUT_ERROR.exec(error.message)?.[1] : undefined;
  if (enumName) rejectedBy.enums.add(enumName);
}

type SqlValue = string | number | boolean | Date | null | SqlJson;
/** Marks a value for a jsonb column: pg would turn a bare JS array into a Postgres array. */
export class SqlJson {
  readonly text: string;
  constructor(value: unknown) {
    this.text = JSON.stringify(value);
  }
}
export const json = (value: unknown): SqlJson => new SqlJson(value);

export type Row = Record<string, SqlValue | undefined>;

/** INSERT one row and return it; undefined values are left to their defaults. */
export async function insert(client: pg.ClientBase, table: string, values: Row): Promise<Record<string, unknown>> {
  const entries = Object.entries(values).filter(([, v]) => v !== undefined);
  const columns = entries.map(([k]) => `"${k}"`).join(", ");
  const params = entries.map(([, v]) => (v instanceof SqlJson ? v.text : v));
  const placeholders = entries.map((_, i) => `$${i + 1}`).join(", ");
  const sql =
    entries.length === 0
      ? `INSERT INTO "${table}" DEFAULT VALUES RETURNING *`
      : `INSERT INTO "${table}" (${columns}) VALUES (${placeholders}) RETURNING *`;
  const { rows } = await client.query<Record<string, unknown>>(sql, params);
  const row = rows[0];
  if (!row) throw new Error(`insert into ${table} returned no row`);
  return row;
}
