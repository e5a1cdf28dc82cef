/**
 * The pure helpers of the db module: where the database is by default (db/url.ts) and whether
 * a module is the script Node was started with (db/is-main.ts).
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { isMainModule } from "../../db/is-main.ts";
import { defaultDatabaseUrl, redactDatabaseUrl } from "../../db/url.ts";

describe("defaultDatabaseUrl", () => {
  it("prefers DATABASE_URL over everything else", () => {
    const url = "postgres://app:pw@db.example:6543/strata?sslmode=require";
    expect(defaultDatabaseUrl({ DATABASE_URL: url, PGHOST: "elsewhere", PGDATABASE: "other" })).toBe(url);
  });

  it("falls back to the postgres maintenance database on 127.0.0.1:5432 as postgres", () => {
    expect(defaultDatabaseUrl({})).toBe("postgres://postgres@127.0.0.1:5432/postgres");
    // An empty DATABASE_URL (e.g. `DATABASE_URL= npm run …`) counts as unset.
    expect(defaultDatabaseUrl({ DATABASE_URL: "", PGHOST: " " })).toBe("postgres://postgres@127.0.0.1:5432/postgres");
  });

  it("builds the URL from the libpq variables, escaping what needs it", () => {
    const url = defaultDatabaseUrl({
      PGHOST: "db.internal",
      PGPORT: "6432",
      PGUSER: "strata admin",
      PGPASSWORD: "p@ss:w/rd?#",
      PGDATABASE: "strata dev",
      PGSSLMODE: "require",
    });
    expect(url).toBe("postgres://strata%20admin:p%40ss%3Aw%2Frd%3F%23@db.internal:6432/strata%20dev?sslmode=require");
    // Decoded the way node-postgres decodes it, every part comes back intact.
    const parsed = new URL(url);
    expect(decodeURIComponent(parsed.username)).toBe("strata admin");
    expect(decodeURIComponent(parsed.password)).toBe("p@ss:w/rd?#");
    expect(decodeURI(parsed.pathname.slice(1))).toBe("strata dev");
  });

  it("brackets an IPv6 host and passes a socket directory as the host parameter", () => {
    expect(defaultDatabaseUrl({ PGHOST: "::1" })).toBe("postgres://postgres@[::1]:5432/postgres");
    const socket = defaultDatabaseUrl({ PGHOST: "/var/run/postgresql", PGUSER: "me" });
    expect(socket).toBe("postgres://me@localhost:5432/postgres?host=%2Fvar%2Frun%2Fpostgresql");
    // node-postgres and libpq take the host parameter over the URL's host; and it is still a
    // WHATWG URL, so callers can swap the database with url.pathname.
    expect(new URL(socket).searchParams.get("host")).toBe("/var/run/postgresql");
  });

  it("rejects a PGPORT or PGHOST it cannot express", () => {
    expect(() => defaultDatabaseUrl({ PGPORT: "postgres" })).toThrow(/PGPORT/);
    expect(() => defaultDatabaseUrl({ PGPORT: "70000" })).toThrow(/PGPORT/);
    expect(() => defaultDatabaseUrl({ PGHOST: "a,b" })).toThrow(/PGHOST/);
  });

  it("reads process.env when given nothing", () => {
    expect(defaultDatabaseUrl()).toBe(defaultDatabaseUrl(process.env));
  });
});

describe("redactDatabaseUrl", () => {
  it("masks the password and nothing else", () => {
    expect(redactDatabaseUrl("postgres://u:secret@h:1/d")).toBe("postgres://u:***@h:1/d");
    expect(redactDatabaseUrl("postgres://u@h:1/d")).toBe("postgres://u@h:1/d");
    expect(redactDatabaseUrl("not a url")).not.toContain("not a url");
  });
});

describe("isMainModule", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "strata-is-main-"));
  const script = path.join(dir, "cli.ts");
  writeFileSync(script, "");
  const link = path.join(dir, "link.ts");
  symlinkSync(script, link);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const url = pathToFileURL(script).href;

  it("matches the script by absolute, relative and symlinked path", () => {
    expect(isMainModule(url, script)).toBe(true);
    expect(isMainModule(url, path.relative(process.cwd(), script))).toBe(true);
    expect(isMainModule(url, path.join(dir, "..", path.basename(dir), "cli.ts"))).toBe(true);
    expect(isMainModule(url, link)).toBe(true);
  });

  it("is false for another script, no script (a REPL) or a non-file module", () => {
    expect(isMainModule(url, path.join(dir, "other.ts"))).toBe(false);
    expect(isMainModule(url, undefined)).toBe(false);
    expect(isMainModule("data:text/javascript,", script)).toBe(false);
    // Under vitest, argv[1] is vitest's own entry, not this file.
    expect(isMainModule(import.meta.url)).toBe(false);
  });
});
