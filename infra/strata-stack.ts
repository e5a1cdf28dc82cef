/**
 * @module Strata's AWS side, generated from functions/queues.ts: every queue with its dead-letter
 * queue, one Lambda per handler that exists, SQS event sources reporting partial batch failures,
 * and an EventBridge rule per schedule.
 */
import { existsSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { Annotations, CfnOutput, Duration, RemovalPolicy, SecretValue, Stack, type StackProps } from "aws-cdk-lib";
import { Rule, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { Architecture, Code, Function as LambdaFn, Runtime, type IFunction } from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import {
  assertValidDefinitions,
  DEFAULT_HANDLER_MEMORY_MB,
  DEFAULT_HANDLER_TIMEOUT_SECONDS,
  queueUrlEnvName,
  toEventBridgeCronParts,
  type HandlerRef,
  type QueueDefinition,
  type ScheduleDefinition,
} from "../functions/queues.ts";

export interface SecretNames {
  /** Secrets Manager secret whose string is the Postgres (Neon) connection URL. */
  databaseUrl: string;
  /** Secrets Manager secret holding JSON `{"url": "...", "token": "..."}` for Upstash's REST API. */
  upstash: string;
}

export const DEFAULT_SECRET_NAMES: SecretNames = {
  databaseUrl: "strata/database-url",
  upstash: "strata/upstash-redis",
};

export interface StrataStackProps extends StackProps {
  queues: readonly QueueDefinition[];
  schedules: readonly ScheduleDefinition[];
  /** Directory that handler entries are relative to: the repository root. */
  root: string;
  secretNames?: SecretNames;
  /**
   * `bundle` (default) builds each handler with esbuild. `placeholder` swaps in inline stub code
   * so assertion tests can synthesize without bundling; everything else is identical.
   */
  code?: "bundle" | "placeholder";
  /**
   * Cloudflare purge for the invalidation fan-out (core/invalidation/cdn-purge.ts): the zone in
   * front of the worker, its public base URL, and the Secrets Manager secret holding an API token
   * with Cache Purge permission. Absent: the fan-out purges nothing (epochs alone keep reads correct).
   */
  cdnPurge?: { zoneId: string; publicBaseUrl: string; apiTokenSecret: string };
}

function pascal(s: string): string {
  return s
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]?.toUpperCase() + w.slice(1))
    .join("");
}

export class StrataStack extends Stack {
  readonly queues = new Map<string, Queue>();
  readonly functions = new Map<string, IFunction>();

  constructor(scope: Construct, id: string, props: StrataStackProps) {
    super(scope, id, props);
    assertValidDefinitions(props.queues, props.schedules);
    const secretNames = props.secretNames ?? DEFAULT_SECRET_NAMES;

    for (const def of props.queues) {
      const name = pascal(def.key);
      const dlq = new Queue(this, `${name}Dlq`, {
        queueName: def.dlq.name,
        fifo: def.fifo || undefined,
        retentionPeriod: Duration.seconds(def.dlq.retentionSeconds),
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
      });
      const queue = new Queue(this, `${name}Queue`, {
        queueName: def.name,
        fifo: def.fifo || undefined,
        contentBasedDeduplication: def.fifo ? (def.contentBasedDeduplication ?? false) : undefined,
        visibilityTimeout: Duration.seconds(def.visibilityTimeoutSeconds),
        retentionPeriod: Duration.seconds(def.retentionSeconds),
        receiveMessageWaitTime: Duration.seconds(20),
        deadLetterQueue: { queue: dlq, maxReceiveCount: def.maxReceiveCount },
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
      });
      this.queues.set(def.key, queue);
      new CfnOutput(this, `${name}QueueUrl`, { value: queue.queueUrl });
      new CfnOutput(this, `${name}DlqUrl`, { value: dlq.queueUrl });
    }

    const makeFunction = (id: string, handler: HandlerRef): IFunction | undefined => {
      const entry = isAbsolute(handler.entry) ? handler.entry : resolve(props.root, handler.entry);
      if (!existsSync(entry)) {
        // Definitions may name handlers that later issues will write; deploy what exists today.
        Annotations.of(this).addInfo(`${id}: ${handler.entry} does not exist yet; no function created`);
        return undefined;
      }
      const fn = this.createFunction(id, entry, handler, props, secretNames);
      for (const key of handler.sendsTo ?? []) {
        const target = this.queues.get(key);
        if (!target) throw new Error(`${id}: sendsTo names unknown queue ${key}`);
        target.grantSendMessages(fn);
        fn.addEnvironment(queueUrlEnvName(key), target.queueUrl);
      }
      this.functions.set(id, fn);
      return fn;
    };

    for (const def of props.queues) {
      if (!def.handler) continue;
      const fn = makeFunction(`${pascal(def.key)}Consumer`, def.handler);
      const queue = this.queues.get(def.key);
      if (!fn || !queue) continue;
      fn.addEventSource(
        new SqsEventSource(queue, {
          batchSize: def.batchSize,
          maxBatchingWindow: def.maxBatchingWindowSeconds > 0 ? Duration.seconds(def.maxBatchingWindowSeconds) : undefined,
          reportBatchItemFailures: true,
          maxConcurrency: def.maxConcurrency,
        }),
      );
    }

    for (const def of props.schedules) {
      const id = pascal(def.name);
      const fn = makeFunction(`${id}Function`, def.handler);
      if (!fn) continue;
      const { day, weekDay, ...rest } = toEventBridgeCronParts(def.cron);
      // CDK fills in the `?` itself and refuses to be given both fields.
      const cron = day === "?" ? { ...rest, weekDay } : { ...rest, day };
      new Rule(this, `${id}Schedule`, {
        description: def.description ?? `${def.name} (${def.cron} UTC)`,
        schedule: Schedule.cron(cron),
        targets: [new LambdaFunction(fn, { retryAttempts: 2, maxEventAge: Duration.hours(1) })],
      });
    }
  }

  private createFunction(
    id: string,
    entry: string,
    handler: HandlerRef,
    props: StrataStackProps,
    secretNames: SecretNames,
  ): LambdaFn {
    const logGroup = new LogGroup(this, `${id}Logs`, {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const common = {
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      timeout: Duration.seconds(handler.timeoutSeconds ?? DEFAULT_HANDLER_TIMEOUT_SECONDS),
      memorySize: handler.memoryMb ?? DEFAULT_HANDLER_MEMORY_MB,
      logGroup,
      environment: {
        // CloudFormation dynamic references: resolved at deploy time, so no secret is in the repo
        // or the synthesized template. Chosen over "pass the ARN and fetch at cold start" because
        // handlers then read configuration from env exactly as dev/dev.ts provides it locally,
        // with no Secrets Manager SDK, call or latency at cold start. The trade-off: the values
        // are visible to principals allowed lambda:GetFunctionConfiguration, and a rotated
        // secret reaches the functions on the next deploy.
        DATABASE_URL: SecretValue.secretsManager(secretNames.databaseUrl).unsafeUnwrap(),
        UPSTASH_REDIS_REST_URL: SecretValue.secretsManager(secretNames.upstash, { jsonField: "url" }).unsafeUnwrap(),
        UPSTASH_REDIS_REST_TOKEN: SecretValue.secretsManager(secretNames.upstash, { jsonField: "token" }).unsafeUnwrap(),
        ...(props.cdnPurge
          ? {
              CLOUDFLARE_ZONE_ID: props.cdnPurge.zoneId,
              STRATA_PUBLIC_BASE_URL: props.cdnPurge.publicBaseUrl,
              CLOUDFLARE_API_TOKEN: SecretValue.secretsManager(props.cdnPurge.apiTokenSecret).unsafeUnwrap(),
            }
          : {}),
      },
    };
    if (props.code === "placeholder") {
      return new LambdaFn(this, id, {
        ...common,
        handler: `index.${handler.export}`,
        code: Code.fromInline(`exports.${handler.export} = async () => { throw new Error("placeholder"); };`),
      });
    }
    return new NodejsFunction(this, id, {
      ...common,
      // Stack traces point into the TypeScript sources instead of minified bundle lines.
      environment: { ...common.environment, NODE_OPTIONS: "--enable-source-maps" },
      entry,
      handler: handler.export,
      projectRoot: props.root,
      depsLockFilePath: join(props.root, "package-lock.json"),
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: "node24",
        mainFields: ["module", "main"],
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
        banner: "import { createRequire as __strataCreateRequire } from 'node:module'; const require = __strataCreateRequire(import.meta.url);",
        // The Node 24 runtime ships AWS SDK v3; bundling it would only grow cold starts.
        externalModules: ["@aws-sdk/*"],
      },
    });
  }
}
