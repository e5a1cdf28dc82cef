/**
 * @module CDK app entry (`cdk.json`: `node infra/app.ts`). Synthesizes offline: nothing here
 * looks anything up in an AWS account, and secrets are deploy-time dynamic references.
 *
 * Context overrides (`cdk synth -c key=value` or cdk.json):
 * - `strata:stackName` (default `Strata`)
 * - `strata:databaseUrlSecret` (default `strata/database-url`)
 * - `strata:upstashSecret` (default `strata/upstash-redis`, JSON with `url` and `token`)
 * - `strata:cloudflareZoneId`, `strata:publicBaseUrl`, `strata:cloudflareTokenSecret`: all three
 *   turn on the fan-out's Cloudflare purge; none leaves it off.
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { App } from "aws-cdk-lib";
import { QUEUES, SCHEDULES } from "../functions/queues.ts";
import { DEFAULT_SECRET_NAMES, StrataStack } from "./strata-stack.ts";

const app = new App();
const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return typeof value === "string" && value !== "" ? value : undefined;
};

new StrataStack(app, context("strata:stackName") ?? "Strata", {
  description: "Strata: SQS queues, consumers and scheduled jobs behind the edge cache",
  // Unset offline, so the stack stays environment-agnostic; `cdk deploy` fills them from the profile.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  root: resolve(dirname(fileURLToPath(import.meta.url)), ".."),
  queues: QUEUES,
  schedules: SCHEDULES,
  secretNames: {
    databaseUrl: context("strata:databaseUrlSecret") ?? DEFAULT_SECRET_NAMES.databaseUrl,
    upstash: context("strata:upstashSecret") ?? DEFAULT_SECRET_NAMES.upstash,
  },
  ...cdnPurge(),
});

function cdnPurge(): { cdnPurge?: { zoneId: string; publicBaseUrl: string; apiTokenSecret: string } } {
  const zoneId = context("strata:cloudflareZoneId");
  const publicBaseUrl = context("strata:publicBaseUrl");
  const apiTokenSecret = context("strata:cloudflareTokenSecret");
  if (!zoneId && !publicBaseUrl && !apiTokenSecret) return {};
  if (!zoneId || !publicBaseUrl || !apiTokenSecret) {
    throw new Error("Cloudflare purge needs all of strata:cloudflareZoneId, strata:publicBaseUrl and strata:cloudflareTokenSecret");
  }
  return { cdnPurge: { zoneId, publicBaseUrl, apiTokenSecret } };
}

app.synth();
