/**
 * @module SQS (fauxqs) and the Lambdas for a benchmark run, in a process of their own with their
 * own bridges: a fan-out of 10,000 keys must not stall the event loop that serves the worker's
 * bridges, and a CPU-bound case in the main process (eviction) must not starve SQS.
 * Configured from env like a Lambda (DATABASE_URL, REDIS_URL, UPSTASH_REDIS_REST_TOKEN,
 * STRATA_KEY_PREFIX, …); prints "ready <SQS endpoint>" once polling and stops on SIGTERM.
 */
import { startFauxqs } from "fauxqs";
import { ensureQueues, loadHandlers, localSqsClient, startLambdaRunner } from "../../dev/lambda-runner.ts";
import { startNeonBridge } from "../../dev/neon-bridge.ts";
import { startUpstashBridge } from "../../dev/upstash-bridge.ts";
import { QUEUES } from "../../functions/queues.ts";

const need = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`lambda-child: ${name} is required`);
  return value;
};
const token = need("UPSTASH_REDIS_REST_TOKEN");
const sqs = await startFauxqs({ port: 0, logger: false });
const sqsEndpoint = `http://127.0.0.1:${sqs.port}`;
const sqsClient = localSqsClient(sqsEndpoint);
await ensureQueues(sqsClient, QUEUES);
sqsClient.destroy();
process.env.SQS_ENDPOINT = sqsEndpoint;
const upstash = await startUpstashBridge({ redisUrl: need("REDIS_URL"), token, port: 0 });
const neon = await startNeonBridge({ port: 0 });
process.env.UPSTASH_REDIS_REST_URL = upstash.url;
process.env.NEON_BRIDGE_URL = neon.url;
const handlers = await loadHandlers({ queues: QUEUES });
const runner = await startLambdaRunner({
  sqsEndpoint,
  queues: handlers.queues,
  waitTimeSeconds: 1,
  // Per-batch lines would drown the figures; failures still surface.
  log: (line) => {
    if (!/ 0 failed$/.test(line)) process.stderr.write(`${line}\n`);
  },
});
process.stdout.write(`ready ${sqsEndpoint}\n`);
process.on("SIGTERM", () => {
  void Promise.allSettled([runner.stop(), upstash.close(), neon.close()])
    .then(() => sqs.stop())
    .then(() => process.exit(0), () => process.exit(0));
});
