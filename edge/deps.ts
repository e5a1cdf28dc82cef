/**
 * @module The worker's clients, built once per isolate and reused across requests.
 *
 * Bindings are fixed for an isolate's lifetime in production; tests may hand a different `env`,
 * so the memo is keyed on the values that shape the clients.
 */
import { Redis } from "@upstash/redis/cloudflare";
import { httpDb } from "../db/client.ts";
import type { Bindings } from "./env.ts";
import { SqsFetchClient } from "./sqs.ts";

export interface EdgeDeps {
  db: ReturnType<typeof httpDb>;
  redis: Redis;
  sqs: SqsFetchClient;
  timeoutMs: number;
}

let memo: { key: string; deps: EdgeDeps } | undefined;

export function edgeDeps(env: Bindings): EdgeDeps {
  const key = [env.DATABASE_URL, env.NEON_BRIDGE_URL, env.UPSTASH_REDIS_REST_URL, env.SQS_ENDPOINT, env.DEPENDENCY_TIMEOUT_MS].join("|");
  if (memo?.key === key) return memo.deps;
  const timeoutMs = parseTimeout(env.DEPENDENCY_TIMEOUT_MS);
  const deps: EdgeDeps = {
    db: httpDb({ databaseUrl: env.DATABASE_URL, neonBridgeUrl: env.NEON_BRIDGE_URL, queryTimeoutMs: timeoutMs }),
    redis: new Redis({
      url: env.UPSTASH_REDIS_REST_URL,
      token: env.UPSTASH_REDIS_REST_TOKEN,
      // A fresh signal per request bounds every Redis call; retries would multiply that bound.
      signal: () => AbortSignal.timeout(timeoutMs),
      retry: false,
      enableTelemetry: false,
    }),
    sqs: new SqsFetchClient({
      endpoint: env.SQS_ENDPOINT,
      region: env.AWS_REGION ?? "us-east-1",
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      timeoutMs,
    }),
    timeoutMs,
  };
  memo = { key, deps };
  return deps;
}

function parseTimeout(raw: string | undefined): number {
  const n = raw ? Number(raw) : NaN;
  return Number.isFinite(n) && n > 0 ? n : 2000;
}
