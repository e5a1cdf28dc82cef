/**
 * @module Where Strata's Postgres is when nobody says: DATABASE_URL, else the standard libpq
 * environment variables, else a local server's `postgres` maintenance database.
 *
 * One function so the CLIs (db/migrate.ts, db/seed.ts), drizzle.config.ts, the dev orchestrator
 * and the test fixtures cannot disagree about the default.
 */

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * `env.DATABASE_URL` when set; otherwise a URL built from PGHOST (default 127.0.0.1), PGPORT
 * (5432), PGUSER (postgres), PGPASSWORD, PGDATABASE (postgres) and PGSSLMODE.
 *
 * The fallback database is `postgres` because every server has it, unlike a database a
 * particular machine happened to create. A PGHOST that is a directory (starts with `/`) is a
 * Unix socket: it goes into the `host` query parameter, which node-postgres and libpq both read
 * in preference to the URL's host, while the URL itself stays parseable by `new URL()`.
 * libpq's comma-separated multi-host form is not supported (node-postgres has no equivalent).
 */
export function defaultDatabaseUrl(env: Env = process.env): string {
  const explicit = nonEmpty(env.DATABASE_URL);
  if (explicit) return explicit;

  const host = nonEmpty(env.PGHOST) ?? "127.0.0.1";
  const port = nonEmpty(env.PGPORT) ?? "5432";
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65_535) {
    throw new RangeError(`PGPORT must be a TCP port (1-65535), got ${JSON.stringify(port)}`);
  }
  if (host.includes(",")) {
    throw new RangeError(`PGHOST lists several hosts (${JSON.stringify(host)}); set DATABASE_URL to pick one`);
  }
  const user = nonEmpty(env.PGUSER) ?? "postgres";
  const password = nonEmpty(env.PGPASSWORD);
  const database = nonEmpty(env.PGDATABASE) ?? "postgres";

  const socketDir = host.startsWith("/") ? host : undefined;
  // A bare IPv6 literal must be bracketed to be a URL host.
  const urlHost = socketDir ? "localhost" : host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  const credentials = encodeURIComponent(user) + (password ? `:${encodeURIComponent(password)}` : "");
  const params = new URLSearchParams();
  if (socketDir) params.set("host", socketDir);
  const sslmode = nonEmpty(env.PGSSLMODE);
  if (sslmode) params.set("sslmode", sslmode);
  const query = params.size > 0 ? `?${params.toString()}` : "";
  return `postgres://${credentials}@${urlHost}:${port}/${encodeURIComponent(database)}${query}`;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

/** The URL with its password masked, for logs and error messages. */
export function redactDatabaseUrl(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = "***";
    return url.toString();
  } catch {
    return "<unparseable database URL>";
  }
}
