/** @module HTTP load with autocannon, in a child process; see load-child.ts. */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface LoadSpec {
  baseUrl: string;
  /** Requested in order, wrapping around; give one path per request for "every key once". */
  paths: string[];
  connections: number;
  /** Either a fixed number of requests … */
  amount?: number;
  /** … or a duration (default 5 s). */
  durationSeconds?: number;
  method?: "GET" | "POST" | "PUT" | "DELETE";
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadResult {
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  /** Responses per HTTP status. */
  statusCodes: Record<string, number>;
  durationSeconds: number;
  /** 2xx responses per second over the whole run. */
  rps: number;
  /** autocannon's HDR histogram: 1 ms resolution. */
  latencyMs: { p50: number; p90: number; p99: number; mean: number; max: number };
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), "strata-load-"));
  const file = join(dir, "spec.json");
  writeFileSync(file, JSON.stringify(spec));
  try {
    const child = spawn(process.execPath, ["--experimental-strip-types", join(import.meta.dirname, "load-child.ts"), file], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    if (code !== 0) throw new Error(`load generator exited with ${code}: ${stderr.slice(-2000)}`);
    const line = stdout.trim().split("\n").pop() ?? "";
    return JSON.parse(line) as LoadResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
