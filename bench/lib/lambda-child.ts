/**
 * @module The Lambdas for a benchmark run, in a process of their own with their own bridges: a
 * fan-out of 10,000 keys must not stall the event loop that serves the worker's bridges, or the
 * invalidation case would measure this machine's single Node process instead of Strata.
 * Configured from env like a Lambda (DATABASE_URL, REDIS_URL, UPSTASH_REDIS_REST_TOKEN,
 * SQS_ENDPOINT, STRATA_KEY_PREFIX, …); prints "ready" once polling and stops on SIGTERM.
 */
import { loadHandlers, startLambdaRunner } from "../../dev/lambda-runner.ts";
import { startNeonBridge } from "../../dev/neon-bridge.ts";
import { startUpstashBridge } from "../../dev/upstash-bridge.ts";
import { QUEUES } from "../../functions/queues.ts";

const need = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`lambda-child: ${name} is required`);
  return value;
};
const token = need("UPSTASH_REDIS_REST_TOKEN");
const upstash = await startUpstashBridge({ redisUrl: need("REDIS_URL"), token, port: 0 });
const neon = await startNeonBridge({ port: 0 });
process.env.UPSTASH_REDIS_REST_URL = upstash.url;
process.env.NEON_BRIDGE_URL = neon.url;
const handlers = await loadHandlers({ queues: QUEUES });
const runner = await startLambdaRunner({
  sqsEndpoint: need("SQS_ENDPOINT"),
  queues: handlers.queues,
  waitTimeSeconds: 1,
  // Per-batch lines would drown the figures; failures still surface.
  log: (line) => {
    if (!/ 0 failed$/.test(line)) process.stderr.write(`${line}\n`);
  },
});
process.stdout.write("ready\n");
process.on("SIGTERM", () => {
  void Promise.allSettled([runner.stop(), upstash.close(), neon.close()]).then(() => process.exit(0));
});
