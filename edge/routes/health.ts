/**
 * @module GET /health: each dependency probed in parallel, each probe bounded by the dependency
 * timeout. The endpoint is public, so it reports a failure's kind, never the raw error text
 * (which can carry hostnames or user names); the detail goes to the log.
 */
import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { bounded, TimeoutError } from "../../core/timeout.ts";
import { queueByKey } from "../../functions/queues.ts";
import { ConfigError, dependencyTimeoutMs, edgeDb, edgeRedis, edgeSqs } from "../deps.ts";
import type { AppEnv } from "../env.ts";

/** The queue every write and invalidation goes through: if it is unreachable, the stack is down. */
const HEALTH_QUEUE = queueByKey("invalidation").name;

export type DependencyName = "postgres" | "redis" | "queue";

export interface DependencyStatus {
  status: "up" | "down";
  latencyMs: number;
  /** Why it is down: `timeout`, `misconfigured: <binding>`, or `unavailable`. */
  error?: string;
}

export interface HealthReport {
  status: "ok" | "down";
  failing: DependencyName[];
  checks: Record<DependencyName, DependencyStatus>;
}

async function probe(name: DependencyName, timeoutMs: number, work: () => Promise<unknown>): Promise<DependencyStatus> {
  const started = performance.now();
  try {
    await bounded(work, timeoutMs, name);
    return { status: "up", latencyMs: round(performance.now() - started) };
  } catch (error) {
    console.error(JSON.stringify({ level: "error", msg: "health probe failed", dependency: name, error: String(error) }));
    return { status: "down", latencyMs: round(performance.now() - started), error: classify(error) };
  }
}

function classify(error: unknown): string {
  if (error instanceof TimeoutError) return `timeout after ${error.timeoutMs} ms`;
  if (error instanceof ConfigError) return error.message;
  return "unavailable";
}

const round = (ms: number): number => Math.round(ms * 100) / 100;

export const health = new Hono<AppEnv>().get("/health", async (c) => {
  const env = c.env;
  const timeoutMs = dependencyTimeoutMs(env);
  const [postgres, redis, queue] = await Promise.all([
    probe("postgres", timeoutMs, () => edgeDb(env).execute(sql`select 1`)),
    probe("redis", timeoutMs, () => edgeRedis(env).ping()),
    probe("queue", timeoutMs, () => edgeSqs(env).getQueueUrl(HEALTH_QUEUE)),
  ]);
  const checks = { postgres, redis, queue };
  const failing = (Object.keys(checks) as DependencyName[]).filter((k) => checks[k].status === "down");
  const report: HealthReport = { status: failing.length === 0 ? "ok" : "down", failing, checks };
  c.header("cache-control", "no-store");
  return c.json(report, failing.length === 0 ? 200 : 503);
});
