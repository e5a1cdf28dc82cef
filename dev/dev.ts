/**
 * @module `npm run dev`: the whole Strata stack on one machine.
 *
 * Postgres and Redis are found or started (dev/services.ts), the database is migrated and seeded
 * on first start, an ADMIN key equal to STRATA_ADMIN_KEY is ensured, then both bridges, fauxqs,
 * the local Lambda runner and the worker (wrangler dev → workerd) start. Ctrl-C stops every child:
 * wrangler runs in its own process group so workerd goes down with it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { startFauxqs } from "fauxqs";
import pg from "pg";
import { generateApiKey, hashApiKey, parseApiKey } from "../core/auth/api-key.ts";
import { generateEncryptionKey } from "../core/crypto/keyring.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { redactDatabaseUrl } from "../db/url.ts";
import { seedDatabase } from "../db/seed.ts";
import { QUEUES, SCHEDULES, queueUrlEnvName } from "../functions/queues.ts";
import { ensureQueues, loadHandlers, localSqsClient, startLambdaRunner } from "./lambda-runner.ts";
import { startNeonBridge } from "./neon-bridge.ts";
import { ensurePostgres, ensureRedis, freePort, isPortOpen, type ServiceHandle } from "./services.ts";
import { startUpstashBridge } from "./upstash-bridge.ts";

const root = resolve(import.meta.dirname, "..");
// Local state (PGlite data, admin key, child records); tests point it elsewhere.
const stateDir = resolve(root, process.env.STRATA_STATE_DIR ?? ".dev");
const port = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new Error(`${name} must be a port number, got ${raw}`);
  return n;
};

const stops: Array<{ name: string; stop: () => Promise<void> }> = [];
let stopping = false;

function log(line: string): void {
  process.stdout.write(`[strata] ${line}\n`);
}

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  log("stopping…");
  for (const { name, stop } of stops.reverse()) {
    await stop().catch((e: unknown) => log(`  ${name}: ${e instanceof Error ? e.message : String(e)}`));
  }
  forgetChildren();
  log("stopped");
  process.exit(code);
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    if (!stopping) return void shutdown(0);
    // A second Ctrl-C while stopping: stop waiting, kill what we started, leave.
    log("forced stop");
    killRecordedChildren();
    process.exit(130);
  });
}
for (const event of ["uncaughtException", "unhandledRejection"] as const) {
  process.on(event, (error: unknown) => {
    log(`fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    void shutdown(1);
  });
}

/**
 * Processes we start outside our own process group, recorded so that a dev.ts that died without
 * cleaning up (SIGKILL, OOM) has its leftovers killed by the next start instead of holding ports.
 */
interface RecordedChild {
  name: string;
  pid: number;
  /** True when `pid` leads its own process group (wrangler → workerd): kill the whole group. */
  group: boolean;
  /** A fragment of the command line, so a recycled pid is never killed by mistake. */
  match: string;
}
const childrenFile = join(stateDir, "children.json");
const recorded: RecordedChild[] = [];

function recordChild(child: RecordedChild): void {
  recorded.push(child);
  writeFileSync(childrenFile, JSON.stringify(recorded));
}

function forgetChildren(): void {
  recorded.length = 0;
  rmSync(childrenFile, { force: true });
}

function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return undefined; // gone, or no /proc (then we cannot tell it is ours, so leave it)
  }
}

/** Kills what is still ours of `list`; returns the pids killed. */
function killRecordedChildren(list: readonly RecordedChild[] = recorded): number[] {
  const killed: number[] = [];
  for (const child of list) {
    if (!commandLine(child.pid)?.includes(child.match)) continue;
    try {
      process.kill(child.group ? -child.pid : child.pid, "SIGKILL");
      killed.push(child.pid);
    } catch {
      // Already gone.
    }
  }
  return killed;
}

async function killLeftovers(): Promise<void> {
  if (!existsSync(childrenFile)) return;
  let list: RecordedChild[] = [];
  try {
    list = JSON.parse(readFileSync(childrenFile, "utf8")) as RecordedChild[];
  } catch {
    // A corrupt record is not worth failing the start for.
  }
  const killed = killRecordedChildren(list);
  // SIGKILL is asynchronous: wait until they are gone so their ports are free again.
  const deadline = Date.now() + 5000;
  while (killed.some((pid) => commandLine(pid) !== undefined) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (killed.length > 0) log(`cleaned up ${killed.length} process group(s) left by an earlier run that did not stop cleanly`);
  rmSync(childrenFile, { force: true });
}

/** Uses the `strata` database on a shared local server so `npm test`'s scratch databases never mix with it. */
async function devDatabaseUrl(postgres: ServiceHandle): Promise<string> {
  if (postgres.origin !== "local") return postgres.url;
  const url = new URL(postgres.url);
  const admin = new pg.Client({ connectionString: postgres.url, connectionTimeoutMillis: 5000, query_timeout: 30_000 });
  await admin.connect();
  try {
    const exists = await admin.query("select 1 from pg_database where datname = 'strata'");
    if (exists.rowCount === 0) await admin.query("create database strata");
  } finally {
    await admin.end();
  }
  url.pathname = "/strata";
  return url.toString();
}

async function isSeeded(databaseUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000, query_timeout: 30_000 });
  await client.connect();
  try {
    const r = await client.query<{ n: string }>("select count(*)::text as n from cache_layer");
    return Number(r.rows[0]?.n ?? 0) > 0;
  } finally {
    await client.end();
  }
}

/** The local ADMIN key: STRATA_ADMIN_KEY if given, else one generated once and kept in .dev/. */
async function adminKey(): Promise<{ key: string; note: string }> {
  const given = process.env.STRATA_ADMIN_KEY;
  if (given) {
    if (!parseApiKey(given)) {
      throw new Error(
        "STRATA_ADMIN_KEY must look like strata_<8 lower-case letters or digits>_<16–128 of A-Z a-z 0-9 _ ->, " +
          "e.g. strata_localdev_" + "x".repeat(32),
      );
    }
    return { key: given, note: "STRATA_ADMIN_KEY" };
  }
  const file = join(stateDir, "admin-key");
  if (existsSync(file)) return { key: readFileSync(file, "utf8").trim(), note: `in ${file}` };
  const { key } = await generateApiKey();
  writeFileSync(file, key + "\n", { mode: 0o600 });
  // Shown once, when it is new; later starts point at the file instead of printing a secret again.
  return { key, note: `${key} (new; kept in ${file})` };
}

/** A local AES-256 key for strategies with encryption on, generated once and kept in the state dir. */
function devEncryptionKeys(): { keys: string; keyId: string } {
  const file = join(stateDir, "encryption-keys.json");
  if (!existsSync(file)) writeFileSync(file, JSON.stringify({ dev1: generateEncryptionKey() }), { mode: 0o600 });
  return { keys: readFileSync(file, "utf8").trim(), keyId: "dev1" };
}

async function ensureAdminKey(databaseUrl: string, key: string): Promise<void> {
  const parsed = parseApiKey(key);
  if (!parsed) throw new Error("invalid admin key");
  const hash = await hashApiKey(key);
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000, query_timeout: 30_000 });
  await client.connect();
  try {
    await client.query("begin");
    const user = await client.query<{ id: string }>(
      `insert into users (email, display_name, role) values ('local-admin@strata.local', 'Local admin', 'ADMIN')
       on conflict (email) do update set role = 'ADMIN', is_active = true returning id`,
    );
    // Same prefix, new secret (STRATA_ADMIN_KEY changed): replace the hash and un-revoke.
    await client.query(
      `insert into api_keys (user_id, name, key_prefix, key_hash, role) values ($1, 'local admin (STRATA_ADMIN_KEY)', $2, $3, 'ADMIN')
       on conflict (key_prefix) do update set key_hash = excluded.key_hash, role = 'ADMIN', revoked_at = null, user_id = excluded.user_id`,
      [user.rows[0]?.id, parsed.prefix, hash],
    );
    // Only the current STRATA_ADMIN_KEY stays valid: a changed key must not leave the old one working.
    await client.query(
      "update api_keys set revoked_at = now() where user_id = $1 and key_prefix <> $2 and revoked_at is null",
      [user.rows[0]?.id, parsed.prefix],
    );
    await client.query("commit");
  } catch (error) {
    await client.query("rollback");
    throw error;
  } finally {
    await client.end();
  }
}

/** Secrets go to wrangler in a 0600 file, not on its command line where `ps` shows them to everyone. */
function writeWorkerEnv(vars: Record<string, string>): string {
  const file = join(stateDir, "worker.env");
  // Single quotes: dotenv takes the text literally (JSON values keep their double quotes).
  const lines = Object.entries(vars).map(([k, v]) => {
    if (v.includes("'") || v.includes("\n")) throw new Error(`${k} cannot be passed to the worker: it contains a quote or newline`);
    return `${k}='${v}'`;
  });
  writeFileSync(file, lines.join("\n") + "\n", { mode: 0o600 });
  return file;
}

function spawnWorker(envFile: string, workerPort: number, inspectorPort: number): ChildProcess {
  const args = [
    "dev",
    "--local",
    "--port",
    String(workerPort),
    "--ip",
    "127.0.0.1",
    "--inspector-port",
    String(inspectorPort),
    "--show-interactive-dev-session=false",
    "--env-file",
    envFile,
  ];
  return spawn(join(root, "node_modules", ".bin", "wrangler"), args, {
    cwd: root,
    // Own process group: wrangler starts workerd as a grandchild; killing the group reaches it.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      XDG_CONFIG_HOME: join(stateDir, "xdg"),
    },
  });
}

function stopGroup(child: ChildProcess, graceMs = 5000): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return Promise.resolve();
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // Group already gone.
    }
  };
  // wrangler may be gone while workerd, in its group, still runs: the group is what must die.
  if (child.exitCode !== null || child.signalCode !== null) {
    kill("SIGKILL");
    return Promise.resolve();
  }
  return new Promise((done) => {
    const timer = setTimeout(() => kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      // Anything wrangler left behind in its group goes too.
      kill("SIGKILL");
      done();
    });
    kill("SIGTERM");
  });
}

async function waitForHealth(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + timeoutMs;
  let last = { status: 0, body: "" };
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
      last = { status: res.status, body: await res.text() };
      if (res.status === 200) return last;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return last;
}

async function main(): Promise<void> {
  const started = Date.now();
  mkdirSync(stateDir, { recursive: true });
  await killLeftovers();
  const workerPort = port("STRATA_PORT", 8787);
  if (workerPort !== 0 && (await isPortOpen("127.0.0.1", workerPort))) {
    throw new Error(`port ${workerPort} is taken (another npm run dev?); set STRATA_PORT to use another`);
  }

  const postgres = await ensurePostgres({ pgliteDataDir: join(stateDir, "pglite") });
  stops.push({ name: "postgres", stop: postgres.stop });
  const databaseUrl = await devDatabaseUrl(postgres);
  log(`postgres   ${redactDatabaseUrl(databaseUrl)} (${postgres.origin})`);
  for (const note of postgres.notes) log(`           ${note}`);
  await migrateDatabase(databaseUrl);
  if (!(await isSeeded(databaseUrl))) {
    log("seeding the demo data (first start)…");
    const summary = await seedDatabase(databaseUrl);
    log(`seeded     ${JSON.stringify(summary)}`);
  }
  const { key, note: adminKeyNote } = await adminKey();
  await ensureAdminKey(databaseUrl, key);

  const redis = await ensureRedis({ workDir: join(stateDir, "redis") });
  stops.push({ name: "redis", stop: redis.stop });
  if (redis.pid !== undefined) recordChild({ name: "redis", pid: redis.pid, group: false, match: "redis-server" });
  log(`redis      ${redis.url} (${redis.origin})`);

  const upstashToken = randomBytes(24).toString("hex");
  const upstash = await startUpstashBridge({ redisUrl: redis.url, token: upstashToken, port: port("UPSTASH_BRIDGE_PORT", 8079) });
  stops.push({ name: "upstash bridge", stop: upstash.close });
  log(`upstash    ${upstash.url} (REST bridge → ${redis.url})`);

  const neon = await startNeonBridge({ port: port("NEON_BRIDGE_PORT", 4444) });
  stops.push({ name: "neon bridge", stop: neon.close });
  log(`neon       ${neon.url} (WebSocket /v2 + HTTP /sql bridge → Postgres)`);

  const sqsServer = await startFauxqs({ port: port("SQS_PORT", 4566), logger: false });
  stops.push({ name: "fauxqs", stop: () => sqsServer.stop() });
  const sqsEndpoint = `http://127.0.0.1:${sqsServer.port}`;
  log(`sqs        ${sqsEndpoint} (fauxqs)`);

  const sqs = localSqsClient(sqsEndpoint);
  const urls = await ensureQueues(sqs, QUEUES);
  sqs.destroy();
  // Handlers run in this process and read their configuration the way a Lambda does: from env.
  Object.assign(process.env, {
    DATABASE_URL: databaseUrl,
    NEON_BRIDGE_URL: neon.url,
    UPSTASH_REDIS_REST_URL: upstash.url,
    UPSTASH_REDIS_REST_TOKEN: upstashToken,
    SQS_ENDPOINT: sqsEndpoint,
    // fauxqs accepts any signature; the SDK insists on having credentials to sign with.
    AWS_REGION: process.env.AWS_REGION ?? "us-east-1",
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? "local",
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? "local",
  });
  for (const q of QUEUES) {
    const url = urls.get(q.name);
    if (url) process.env[queueUrlEnvName(q.key)] = url;
  }
  const handlers = await loadHandlers({ root, queues: QUEUES, schedules: SCHEDULES });
  const runner = await startLambdaRunner({ sqsEndpoint, queues: handlers.queues, schedules: handlers.schedules, log: (l) => log(`runner     ${l}`) });
  stops.push({ name: "lambda runner", stop: runner.stop });
  log(`runner     ${handlers.queues.length} queue consumer(s), ${handlers.schedules.length} schedule(s): ${SCHEDULES.map((s) => `${s.name} "${s.cron}"`).join(", ")}`);

  const encryption = devEncryptionKeys();
  const envFile = writeWorkerEnv({
      DATABASE_URL: databaseUrl,
      NEON_BRIDGE_URL: neon.url,
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN: upstashToken,
      SQS_ENDPOINT: sqsEndpoint,
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
      STRATA_ENCRYPTION_KEYS: encryption.keys,
      STRATA_ENCRYPTION_KEY_ID: encryption.keyId,
  });
  const worker = spawnWorker(envFile, workerPort, await freePort());
  if (worker.pid !== undefined) recordChild({ name: "worker", pid: worker.pid, group: true, match: "wrangler" });
  stops.push({ name: "worker", stop: () => stopGroup(worker) });
  const workerLog: string[] = [];
  const keep = (chunk: Buffer) => {
    workerLog.push(chunk.toString());
    if (workerLog.length > 200) workerLog.shift();
    if (process.env.STRATA_DEV_VERBOSE) process.stderr.write(chunk);
  };
  worker.stdout?.on("data", keep);
  worker.stderr?.on("data", keep);
  worker.once("exit", (code) => {
    if (!stopping) {
      log(`the worker exited (code ${code}); its last output:\n${workerLog.join("").slice(-4000)}`);
      void shutdown(1);
    }
  });

  const workerUrl = `http://127.0.0.1:${workerPort}`;
  // The invalidation Lambda purges this worker's Cache API through its admin route (LocalPurger).
  process.env.STRATA_DEV_WORKER_URL = workerUrl;
  process.env.STRATA_ADMIN_KEY = key;
  const health = await waitForHealth(`${workerUrl}/health`, 90_000);
  if (health.status !== 200) {
    log(`the worker did not report healthy: ${health.status} ${health.body}\n${workerLog.join("").slice(-4000)}`);
    return void shutdown(1);
  }
  log(`worker     ${workerUrl} (wrangler dev → workerd)`);
  log(`health     ${workerUrl}/health → 200 ${health.body}`);
  log(`admin key  ${adminKeyNote}`);
  log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s — Ctrl-C stops everything`);
}


main().catch((error: unknown) => {
  log(`failed: ${error instanceof Error ? error.message : String(error)}`);
  void shutdown(1);
});
