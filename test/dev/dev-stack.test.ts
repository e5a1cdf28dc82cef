/**
 * `npm run dev` end to end: the real stack starts, /health answers 200 within 60 s, the local
 * ADMIN key works, Ctrl-C (SIGINT to the foreground process group, as a terminal sends it) leaves
 * no process behind, and a start after a crash cleans up what the crashed run left.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort, isPortOpen } from "../../dev/services.ts";

/** Every live process whose ancestry leads to `rootPid` (Linux /proc). */
function descendants(rootPid: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Field 4 (ppid) follows the parenthesised command name, which may itself contain spaces.
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // Exited while we looked.
    }
  }
  const out: number[] = [];
  for (const pid of parent.keys()) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === rootPid) {
        out.push(pid);
        break;
      }
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8")); // a zombie has exited
  } catch {
    return false;
  }
}

async function waitUntilGone(pids: number[], timeoutMs = 10_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return pids.filter(alive);
}

interface DevRun {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  ready: Promise<boolean>;
  started: number;
}

describe("npm run dev", () => {
  const serverUrl = inject("databaseUrl");
  const dbName = `strata_dev_${randomBytes(3).toString("hex")}`;
  let databaseUrl = serverUrl;
  let stateDir: string;
  const adminKey = "strata_devtest1_" + randomBytes(18).toString("base64url");
  const runs: DevRun[] = [];

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "strata-dev-"));
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    if (await admin.query(`create database ${dbName}`).then(() => true, () => false)) {
      databaseUrl = Object.assign(new URL(serverUrl), { pathname: `/${dbName}` }).toString();
    }
    await admin.end();
  });

  afterAll(async () => {
    for (const run of runs) {
      try {
        process.kill(-(run.child.pid as number), "SIGKILL");
      } catch {
        // Group already gone.
      }
    }
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    await c.query(`drop database if exists ${dbName} with (force)`).catch(() => undefined);
    await c.end();
    rmSync(stateDir, { recursive: true, force: true });
  });

  function startDev(workerPort: number): DevRun {
    const started = Date.now();
    const child = spawn(process.execPath, ["dev/dev.ts"], {
      cwd: process.cwd(),
      detached: true, // its own process group, like a shell job: SIGINT goes to the whole group
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        REDIS_URL: inject("redisUrl"),
        STRATA_PORT: String(workerPort),
        STRATA_STATE_DIR: stateDir,
        UPSTASH_BRIDGE_PORT: "0",
        NEON_BRIDGE_PORT: "0",
        SQS_PORT: "0",
        STRATA_ADMIN_KEY: adminKey,
      },
    });
    let out = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const ready = new Promise<boolean>((resolve) => {
      const timer = setInterval(() => {
        if (out.includes("ready in")) resolve(true);
        else if (Date.now() - started > 60_000) resolve(false);
      }, 100);
      void exited.then(() => resolve(false));
      void Promise.race([exited, new Promise((r) => setTimeout(r, 61_000))]).then(() => clearInterval(timer));
    });
    const run = { child, output: () => out, exited, ready, started };
    runs.push(run);
    return run;
  }

  it("serves /health 200 within 60 s, prints every URL, honours STRATA_ADMIN_KEY, and Ctrl-C leaves nothing running", async () => {
    const workerPort = await freePort();
    const run = startDev(workerPort);
    expect(await run.ready, run.output()).toBe(true);
    const res = await fetch(`http://127.0.0.1:${workerPort}/health`);
    expect(res.status, run.output()).toBe(200);
    expect(Date.now() - run.started).toBeLessThan(60_000);
    const body = (await res.json()) as { checks: Record<string, { status: string }> };
    expect(Object.values(body.checks).map((c) => c.status)).toEqual(["up", "up", "up"]);

    const out = run.output();
    for (const label of ["postgres", "redis", "upstash", "neon", "sqs", "runner", "worker", "health"]) {
      expect(out, label).toMatch(new RegExp(`\\[strata\\] ${label} +\\S`));
    }
    expect(out).toContain(`http://127.0.0.1:${workerPort}`);
    expect(out).toContain("seeding the demo data (first start)");
    expect(out).not.toContain(adminKey); // a given key is never echoed

    const whoami = await fetch(`http://127.0.0.1:${workerPort}/v1/auth/whoami`, { headers: { authorization: `Bearer ${adminKey}` } });
    expect(whoami.status).toBe(200);
    expect(((await whoami.json()) as { role: string }).role).toBe("ADMIN");

    const pids = [run.child.pid as number, ...descendants(run.child.pid as number)];
    expect(pids.length).toBeGreaterThan(2); // dev.ts, wrangler, workerd at least
    process.kill(-(run.child.pid as number), "SIGINT");
    expect(await run.exited).toBe(0);
    expect(await waitUntilGone(pids), run.output()).toEqual([]);
    expect(await isPortOpen("127.0.0.1", workerPort)).toBe(false);
  }, 120_000);

  it("after a crash (SIGKILL of dev.ts alone) the next start kills the leftovers and comes up on the same port", async () => {
    const workerPort = await freePort();
    const first = startDev(workerPort);
    expect(await first.ready, first.output()).toBe(true);
    expect(first.output()).not.toContain("seeding the demo data"); // seeded by the previous test already
    const orphans = descendants(first.child.pid as number);
    process.kill(first.child.pid as number, "SIGKILL");
    await first.exited;
    expect(orphans.filter(alive).length).toBeGreaterThan(0); // wrangler/workerd outlived their parent
    expect(await isPortOpen("127.0.0.1", workerPort)).toBe(true);

    const second = startDev(workerPort);
    expect(await second.ready, second.output()).toBe(true);
    expect(second.output()).toContain("cleaned up");
    expect(await waitUntilGone(orphans)).toEqual([]);
    const pids = [second.child.pid as number, ...descendants(second.child.pid as number)];
    process.kill(-(second.child.pid as number), "SIGINT");
    expect(await second.exited).toBe(0);
    expect(await waitUntilGone(pids)).toEqual([]);
  }, 180_000);
});
