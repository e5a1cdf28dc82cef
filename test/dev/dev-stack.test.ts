/**
 * `npm run dev` end to end: the real stack starts, /health answers 200 within 60 s, and Ctrl-C
 * (SIGINT to the foreground process group, as a terminal sends it) leaves no process behind.
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import { freePort, isPortOpen } from "../../dev/services.ts";

/** Every live process whose ancestry leads to `rootPid` (Linux /proc). */
function descendants(rootPid: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Field 4 (ppid) follows the parenthesised command name, which may itself contain spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parent.set(Number(entry), ppid);
    } catch {
      // Exited while we looked.
    }
  }
  const out: number[] = [];
  for (const pid of parent.keys()) {
    let p = parent.get(pid);
    while (p !== undefined && p > 1) {
      if (p === rootPid) {
        out.push(pid);
        break;
      }
      p = parent.get(p);
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z/.test(state); // a zombie has exited
  } catch {
    return false;
  }
}

describe("npm run dev", () => {
  const dbName = `strata_dev_${randomBytes(3).toString("hex")}`;
  const serverUrl = inject("databaseUrl");

  afterAll(async () => {
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    await c.query(`drop database if exists ${dbName} with (force)`).catch(() => undefined);
    await c.end();
  });

  it("serves /health 200 within 60 s and Ctrl-C leaves no process running", async () => {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    const created = await admin.query(`create database ${dbName}`).then(() => true, () => false);
    await admin.end();
    const databaseUrl = created ? Object.assign(new URL(serverUrl), { pathname: `/${dbName}` }).toString() : serverUrl;

    const workerPort = await freePort();
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
        UPSTASH_BRIDGE_PORT: "0",
        NEON_BRIDGE_PORT: "0",
        SQS_PORT: "0",
        STRATA_ADMIN_KEY: "strata_devtest1_" + randomBytes(18).toString("base64url"),
      },
    });
    let output = "";
    child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

    try {
      const ready = await new Promise<boolean>((resolve) => {
        const timer = setInterval(() => {
          if (output.includes("ready in")) resolve(true);
          else if (child.exitCode !== null || Date.now() - started > 60_000) resolve(false);
        }, 100);
        void exited.then(() => resolve(false)).finally(() => clearInterval(timer));
        setTimeout(() => clearInterval(timer), 61_000);
      });
      expect(ready, output).toBe(true);
      const res = await fetch(`http://127.0.0.1:${workerPort}/health`);
      expect(res.status, output).toBe(200);
      expect(Date.now() - started).toBeLessThan(60_000);
      const body = (await res.json()) as { checks: Record<string, { status: string }> };
      expect(Object.values(body.checks).map((c) => c.status)).toEqual(["up", "up", "up"]);

      const pids = [child.pid as number, ...descendants(child.pid as number)];
      expect(pids.length).toBeGreaterThan(2); // dev.ts, wrangler, workerd at least

      process.kill(-(child.pid as number), "SIGINT");
      expect(await exited).toBe(0);
      // Give the kernel a moment to reap the group's last members.
      const deadline = Date.now() + 10_000;
      while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(pids.filter(alive), output).toEqual([]);
      expect(await isPortOpen("127.0.0.1", workerPort)).toBe(false);
    } finally {
      if (child.exitCode === null) process.kill(-(child.pid as number), "SIGKILL");
    }
  }, 120_000);
});
