/**
 * @module The worker's clients, one factory per dependency, each built once per isolate and
 * reused across requests.
 *
 * Each factory validates only the bindings its client needs, so a missing Redis token marks
 * Redis as misconfigured without taking Postgres down with it. Bindings are fixed for an
 * isolate's lifetime in production; tests may pass a different `env`, so each memo is keyed
 * on every binding that shapes its client (credentials included).
 */
import { Redis } from "@upstash/redis/cloudflare";
import { z } from "zod";
import { DependencyError, type Dependency } from "../core/timeout.ts";
import { httpDb, type HttpDb } from "../db/client.ts";
import type { Bindings } from "./env.ts";
import { SqsFetchClient } from "./sqs.ts";

/** A binding is missing or malformed: the deployment is at fault, not the request. */
export class ConfigError extends DependencyError {
  override readonly name = "ConfigError";
}

const url = z.url();
const secret = z.string().min(1);
const postgresBindings = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL"),
  NEON_BRIDGE_URL: url.optional(),
});
const redisBindings = z.object({ UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: secret });
const queueBindings = z.object({
  SQS_ENDPOINT: url,
  AWS_REGION: z.string().min(1).optional(),
  AWS_ACCESS_KEY_ID: secret,
  AWS_SECRET_ACCESS_KEY: secret,
});

function parse<S extends z.ZodType>(schema: S, env: Bindings, dependency: Dependency): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const name = issue?.path.join(".") ?? "?";
  throw new ConfigError(dependency, `${dependency} is misconfigured: binding ${name} ${issue?.code === "invalid_type" ? "is missing" : (issue?.message ?? "is invalid")}`);
}

function memo<T>(build: (env: Bindings) => { key: string; make: () => T }): (env: Bindings) => T {
  let cached: { env: Bindings; key: string; value: T } | undefined;
  return (env) => {
    // Workers hand the same env object to every request of an isolate: skip the fingerprint then.
    if (cached?.env === env) return cached.value;
    const { key, make } = build(env);
    cached = cached?.key === key ? { ...cached, env } : { env, key, value: make() };
    return cached.value;
  };
}

export function dependencyTimeoutMs(env: Bindings): number {
  const n = env.DEPENDENCY_TIMEOUT_MS ? Number(env.DEPENDENCY_TIMEOUT_MS) : NaN;
  return Number.isFinite(n) && n > 0 ? n : 2000;
}

export const edgeDb = memo<HttpDb>((env) => {
  const b = parse(postgresBindings, env, "postgres");
  const timeoutMs = dependencyTimeoutMs(env);
  return {
    key: JSON.stringify([b.DATABASE_URL, b.NEON_BRIDGE_URL, timeoutMs]),
    make: () => httpDb({ databaseUrl: b.DATABASE_URL, neonBridgeUrl: b.NEON_BRIDGE_URL, queryTimeoutMs: timeoutMs }),
  };
});

export const edgeRedis = memo<Redis>((env) => {
  const b = parse(redisBindings, env, "redis");
  const timeoutMs = dependencyTimeoutMs(env);
  return {
    key: JSON.stringify([b.UPSTASH_REDIS_REST_URL, b.UPSTASH_REDIS_REST_TOKEN, timeoutMs]),
    make: () =>
      new Redis({
        url: b.UPSTASH_REDIS_REST_URL,
        token: b.UPSTASH_REDIS_REST_TOKEN,
        // A fresh signal per request bounds every Redis call; retries would multiply that bound.
        signal: () => AbortSignal.timeout(timeoutMs),
        retry: false,
        enableTelemetry: false,
        // Everything Strata stores is ASCII (cache values are base64 inside the tier format), so
        // base64 response encoding would only add work (about 1 ms on a 64 KiB hit).
        responseEncoding: false,
        // Auto-pipelining batches commands of concurrent requests into one fetch made by one of
        // them: the others then await a promise of another request, which workerd resumes in
        // that request (core/joined.ts). Every hot path issues one script call anyway.
        enableAutoPipelining: false,
      }),
  };
});

export const edgeSqs = memo<SqsFetchClient>((env) => {
  const b = parse(queueBindings, env, "queue");
  const timeoutMs = dependencyTimeoutMs(env);
  const region = b.AWS_REGION ?? "us-east-1";
  return {
    key: JSON.stringify([b.SQS_ENDPOINT, region, b.AWS_ACCESS_KEY_ID, b.AWS_SECRET_ACCESS_KEY, timeoutMs]),
    make: () =>
      new SqsFetchClient({
        endpoint: b.SQS_ENDPOINT,
        region,
        accessKeyId: b.AWS_ACCESS_KEY_ID,
        secretAccessKey: b.AWS_SECRET_ACCESS_KEY,
        timeoutMs,
      }),
  };
});
