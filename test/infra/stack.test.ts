/**
 * The CDK stack synthesized in-process from queue/schedule definitions. Most cases use
 * placeholder code (no bundling); one synthesizes the real definitions with esbuild bundling.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { App } from "aws-cdk-lib";
import { Annotations, Match, Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QUEUES, SCHEDULES, type QueueDefinition, type ScheduleDefinition } from "../../functions/queues.ts";
import { StrataStack, type StrataStackProps } from "../../infra/strata-stack.ts";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The feature flags `cdk synth` runs with, so the assertions see the same template. */
const cdkContext = (JSON.parse(readFileSync(join(repoRoot, "cdk.json"), "utf8")) as { context: Record<string, unknown> })
  .context;

let scratch: string;
let handlerFile: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "strata-stack-"));
  handlerFile = join(scratch, "handler.ts");
  writeFileSync(handlerFile, "export async function handler(): Promise<void> {}\n");
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

function queue(key: string, overrides: Partial<QueueDefinition> = {}): QueueDefinition {
  const fifo = overrides.fifo ?? false;
  const suffix = fifo ? ".fifo" : "";
  return {
    key,
    name: `t-${key}${suffix}`,
    fifo,
    visibilityTimeoutSeconds: 120,
    retentionSeconds: 3600,
    batchSize: 10,
    maxBatchingWindowSeconds: 0,
    maxReceiveCount: 4,
    dlq: { name: `t-${key}-dlq${suffix}`, retentionSeconds: 7200 },
    ...overrides,
  };
}

function synth(
  queues: readonly QueueDefinition[],
  schedules: readonly ScheduleDefinition[],
  extra: Partial<StrataStackProps> = {},
): { stack: StrataStack; template: Template } {
  const app = new App({ context: cdkContext });
  const stack = new StrataStack(app, "Test", { root: repoRoot, queues, schedules, code: "placeholder", ...extra });
  return { stack, template: Template.fromStack(stack) };
}

describe("StrataStack from definitions", () => {
  const defs = (): { queues: QueueDefinition[]; schedules: ScheduleDefinition[] } => ({
    queues: [
      queue("plain", {
        batchSize: 50,
        maxBatchingWindowSeconds: 3,
        maxConcurrency: 4,
        handler: { entry: handlerFile, export: "handler", timeoutSeconds: 20, sendsTo: ["invalidation"] },
      }),
      queue("ordered", { fifo: true, handler: { entry: handlerFile, export: "handler", timeoutSeconds: 15 } }),
      queue("later", { handler: { entry: "functions/does-not-exist/handler.ts", export: "handler", timeoutSeconds: 20 } }),
      queue("invalidation"),
    ],
    schedules: [
      { name: "weekday-job", cron: "0 9 * * 1-5", handler: { entry: handlerFile, export: "handler" } },
      { name: "missing-job", cron: "*/5 * * * *", handler: { entry: "functions/nope/handler.ts", export: "handler" } },
    ],
  });

  it("creates every queue and DLQ with the defined redrive, retention and visibility", () => {
    const { template } = synth(defs().queues, defs().schedules);
    template.resourceCountIs("AWS::SQS::Queue", 8);
    template.hasResourceProperties("AWS::SQS::Queue", {
      QueueName: "t-plain",
      VisibilityTimeout: 120,
      MessageRetentionPeriod: 3600,
      ReceiveMessageWaitTimeSeconds: 20,
      SqsManagedSseEnabled: true,
      RedrivePolicy: {
        deadLetterTargetArn: { "Fn::GetAtt": [Match.stringLikeRegexp("^PlainDlq"), "Arn"] },
        maxReceiveCount: 4,
      },
    });
    template.hasResourceProperties("AWS::SQS::Queue", { QueueName: "t-plain-dlq", MessageRetentionPeriod: 7200 });
    template.hasResourceProperties("AWS::SQS::Queue", {
      QueueName: "t-ordered.fifo",
      FifoQueue: true,
      ContentBasedDeduplication: false,
      RedrivePolicy: { deadLetterTargetArn: { "Fn::GetAtt": [Match.stringLikeRegexp("^OrderedDlq"), "Arn"] } },
    });
    template.hasResourceProperties("AWS::SQS::Queue", { QueueName: "t-ordered-dlq.fifo", FifoQueue: true });
    // Queues without a consumer still exist: producers can send before the handler is written.
    template.hasResourceProperties("AWS::SQS::Queue", { QueueName: "t-later" });
    template.hasOutput("PlainQueueUrl", { Value: { Ref: Match.stringLikeRegexp("^PlainQueue") } });
    template.hasOutput("PlainDlqUrl", {});
    template.hasOutput("InvalidationQueueUrl", {});
  });

  it("creates a function only for handlers that exist, on Node 24 / arm64", () => {
    const { stack, template } = synth(defs().queues, defs().schedules);
    template.resourceCountIs("AWS::Lambda::Function", 3);
    expect([...stack.functions.keys()].sort()).toEqual(["OrderedConsumer", "PlainConsumer", "WeekdayJobFunction"]);
    const functions = template.findResources("AWS::Lambda::Function");
    for (const fn of Object.values(functions) as { Properties: Record<string, unknown> }[]) {
      expect(fn.Properties).toMatchObject({ Runtime: "nodejs24.x", Architectures: ["arm64"] });
    }
    template.hasResourceProperties("AWS::Lambda::Function", { Timeout: 20, MemorySize: 256 });
    const infos = Annotations.fromStack(stack).findInfo("*", Match.stringLikeRegexp("does not exist yet"));
    expect(infos.map((i) => String(i.entry.data))).toEqual([
      expect.stringContaining("functions/does-not-exist/handler.ts"),
      expect.stringContaining("functions/nope/handler.ts"),
    ]);
  });

  it("reads secrets as deploy-time Secrets Manager references, never literal values", () => {
    const { template } = synth(defs().queues, defs().schedules, {
      secretNames: { databaseUrl: "prod/db", upstash: "prod/upstash" },
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          DATABASE_URL: "{{resolve:secretsmanager:prod/db:SecretString:::}}",
          UPSTASH_REDIS_REST_URL: "{{resolve:secretsmanager:prod/upstash:SecretString:url::}}",
          UPSTASH_REDIS_REST_TOKEN: "{{resolve:secretsmanager:prod/upstash:SecretString:token::}}",
        }),
      },
    });
  });

  it("turns on the Cloudflare purge only when configured, with the token as a secret reference", () => {
    const off = synth(defs().queues, defs().schedules).template.toJSON() as { Resources: Record<string, { Type: string; Properties?: { Environment?: { Variables?: Record<string, unknown> } } }> };
    for (const r of Object.values(off.Resources)) {
      if (r.Type === "AWS::Lambda::Function") expect(r.Properties?.Environment?.Variables?.CLOUDFLARE_API_TOKEN).toBeUndefined();
    }
    const { template } = synth(defs().queues, defs().schedules, {
      cdnPurge: { zoneId: "zone-1", publicBaseUrl: "https://api.example.com", apiTokenSecret: "prod/cloudflare" },
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          CLOUDFLARE_ZONE_ID: "zone-1",
          STRATA_PUBLIC_BASE_URL: "https://api.example.com",
          CLOUDFLARE_API_TOKEN: "{{resolve:secretsmanager:prod/cloudflare:SecretString:::}}",
        }),
      },
    });
  });

  it("wires SQS event sources with ReportBatchItemFailures and the defined batching", () => {
    const { template } = synth(defs().queues, defs().schedules);
    template.resourceCountIs("AWS::Lambda::EventSourceMapping", 2);
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": [Match.stringLikeRegexp("^PlainQueue"), "Arn"] },
      FunctionName: { Ref: Match.stringLikeRegexp("^PlainConsumer") },
      BatchSize: 50,
      MaximumBatchingWindowInSeconds: 3,
      ScalingConfig: { MaximumConcurrency: 4 },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": [Match.stringLikeRegexp("^OrderedQueue"), "Arn"] },
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: Match.absent(),
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
    // The consumer may receive and delete from its queue.
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(["sqs:DeleteMessage", "sqs:ReceiveMessage"]),
            Resource: { "Fn::GetAtt": [Match.stringLikeRegexp("^PlainQueue"), "Arn"] },
          }),
        ]),
      },
    });
  });

  it("gives a handler the URL of, and send rights to, the queues it sends to", () => {
    const { template } = synth(defs().queues, defs().schedules);
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          STRATA_INVALIDATION_QUEUE_URL: { Ref: Match.stringLikeRegexp("^InvalidationQueue") },
        }),
      },
    });
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(["sqs:SendMessage"]),
            Resource: { "Fn::GetAtt": [Match.stringLikeRegexp("^InvalidationQueue"), "Arn"] },
          }),
        ]),
      },
    });
  });

  it("schedules cron handlers with an EventBridge rule in the converted syntax", () => {
    const { template } = synth(defs().queues, defs().schedules);
    template.resourceCountIs("AWS::Events::Rule", 1);
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "cron(0 9 ? * MON-FRI *)",
      State: "ENABLED",
      Targets: [
        Match.objectLike({
          Arn: { "Fn::GetAtt": [Match.stringLikeRegexp("^WeekdayJobFunction"), "Arn"] },
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
        }),
      ],
    });
    template.hasResourceProperties("AWS::Lambda::Permission", {
      Action: "lambda:InvokeFunction",
      Principal: "events.amazonaws.com",
    });
  });

  it("refuses a visibility timeout under 6× the handler timeout", () => {
    const bad = queue("tight", { visibilityTimeoutSeconds: 60, handler: { entry: handlerFile, export: "handler", timeoutSeconds: 30 } });
    expect(() => synth([bad], [])).toThrow(/below 6 × handler timeout/);
  });
});

describe("the real definitions", () => {
  it("synthesize with esbuild bundling", () => {
    const app = new App({ context: cdkContext, outdir: join(scratch, "cdk.out") });
    const stack = new StrataStack(app, "Strata", { root: repoRoot, queues: QUEUES, schedules: SCHEDULES });
    const template = Template.fromStack(stack);
    template.resourceCountIs("AWS::SQS::Queue", QUEUES.length * 2);
    for (const q of QUEUES) template.hasResourceProperties("AWS::SQS::Queue", { QueueName: q.name });
    const existing = [...QUEUES.flatMap((q) => (q.handler ? [q.handler] : [])), ...SCHEDULES.map((s) => s.handler)].filter(
      (h) => existsSync(resolve(repoRoot, h.entry)),
    );
    // The registry sweeper exists, so at least one real bundled Lambda and its rule must be there.
    expect(existing.length).toBeGreaterThan(0);
    template.resourceCountIs("AWS::Lambda::Function", existing.length);
    template.hasResourceProperties("AWS::Lambda::Function", {
      Runtime: "nodejs24.x",
      Handler: Match.stringLikeRegexp("^index\\."),
      Code: { S3Bucket: Match.anyValue(), S3Key: Match.stringLikeRegexp("\\.zip$") },
      Environment: { Variables: Match.objectLike({ NODE_OPTIONS: "--enable-source-maps" }) },
    });
    template.hasResourceProperties("AWS::Events::Rule", { ScheduleExpression: "cron(0/5 * * * ? *)" });
  });
});
