/** @module GET /health: each dependency probed in parallel, each probe bounded by the dependency timeout. */
import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { withTimeout } from "../../core/timeout.ts";
import { queueByKey } from "../../functions/queues.ts";
import { edgeDeps } from "../deps.ts";
import type { AppEnv } from "../env.ts";

/** The queue every write and invalidation goes through: if it is unreachable, the stack is down. */
const HEALTH_QUEUE = queueByKey("invalidation").name;

export type DependencyName = "postgres" | "redis" | "queue";

export interface DependencyStatus {
  status: "up" | "down";
  latencyMs: number;
  error?: string;
}

export interface HealthReport {
  status: "ok" | "down";
  failing: DependencyName[];
  checks: Record<DependencyName, DependencyStatus>;
}

async function probe(work: () => Promise<unknown>, timeoutMs: number, name: DependencyName): Promise<DependencyStatus> {
  const started = performance.now();
  try {
    await withTimeout(work(), timeoutMs, name);
    return { status: "up", latencyMs: round(performance.now() - started) };
  } catch (error) {
    return { status: "down", latencyMs: round(performance.now() - started), error: describe(error) };
  }
}

const round = (ms: number): number => Math.round(ms * 100) / 100;
const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error)).slice(0, 300);

export const health = new Hono<AppEnv>().get("/health", async (c) => {
  const { db, redis, sqs, timeoutMs } = edgeDeps(c.env);
  const [postgres, redisStatus, queue] = await Promise.all([
    probe(() => db.execute(sql`select 1`), timeoutMs, "postgres"),
    probe(() => redis.ping(), timeoutMs, "redis"),
    probe(() => sqs.getQueueUrl(HEALTH_QUEUE), timeoutMs, "queue"),
  ]);
  const checks = { postgres, redis: redisStatus, queue };
  const failing = (Object.keys(checks) as DependencyName[]).filter((k) => checks[k].status === "down");
  const report: HealthReport = { status: failing.length === 0 ? "ok" : "down", failing, checks };
  c.header("cache-control", "no-store");
  return c.json(report, failing.length === 0 ? 200 : 503);
});
