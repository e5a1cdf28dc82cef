/**
 * @module Redis, SQS and the CDN purger for the Lambdas, configured from the environment once per
 * container. Every call is bounded: Upstash per request, SQS by the SDK's request timeout.
 */
import { SQSClient, GetQueueUrlCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { Redis } from "@upstash/redis";
import { purgerFromEnv, type CdnPurger } from "../core/invalidation/cdn-purge.ts";
import { queueByKey, queueUrlEnvName, type QueueKey } from "./queues.ts";

/** DEPENDENCY_TIMEOUT_MS when set to a positive number, else `fallback`. */
export function dependencyTimeoutMs(fallback = 5_000): number {
  const n = Number(process.env.DEPENDENCY_TIMEOUT_MS);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

export function keyPrefix(): string {
  return process.env.STRATA_KEY_PREFIX || "strata:v1:";
}

let redis: Redis | undefined;

export function functionsRedis(): Redis {
  if (redis) return redis;
  const url = process.env.UPSTASH_REDIS_REST_URL;
  const token = process.env.UPSTASH_REDIS_REST_TOKEN;
  if (!url) throw new Error("UPSTASH_REDIS_REST_URL is not set for this function");
  if (!token) throw new Error("UPSTASH_REDIS_REST_TOKEN is not set for this function");
  const timeoutMs = dependencyTimeoutMs();
  redis = new Redis({ url, token, signal: () => AbortSignal.timeout(timeoutMs), retry: false, enableTelemetry: false, responseEncoding: false });
  return redis;
}

let sqs: SQSClient | undefined;
const queueUrls = new Map<string, Promise<string>>();

function functionsSqs(): SQSClient {
  // SQS_ENDPOINT only locally (fauxqs); in AWS the SDK finds the regional endpoint itself.
  sqs ??= new SQSClient({
    ...(process.env.SQS_ENDPOINT ? { endpoint: process.env.SQS_ENDPOINT } : {}),
    region: process.env.AWS_REGION ?? "us-east-1",
    requestHandler: { requestTimeout: dependencyTimeoutMs() },
    maxAttempts: 3,
  });
  return sqs;
}

function queueUrl(key: QueueKey): Promise<string> {
  const fromEnv = process.env[queueUrlEnvName(key)];
  if (fromEnv) return Promise.resolve(fromEnv);
  let url = queueUrls.get(key);
  if (!url) {
    url = functionsSqs()
      .send(new GetQueueUrlCommand({ QueueName: queueByKey(key).name }))
      .then((r) => {
        if (!r.QueueUrl) throw new Error(`no URL for queue ${queueByKey(key).name}`);
        return r.QueueUrl;
      });
    url.catch(() => queueUrls.delete(key));
    queueUrls.set(key, url);
  }
  return url;
}

export async function sendToQueue(key: QueueKey, body: unknown): Promise<void> {
  await functionsSqs().send(new SendMessageCommand({ QueueUrl: await queueUrl(key), MessageBody: JSON.stringify(body) }));
}

let purger: CdnPurger | undefined;

export function functionsPurger(): CdnPurger {
  purger ??= purgerFromEnv(process.env);
  return purger;
}
