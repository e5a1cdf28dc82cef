/**
 * @module A minimal SQS client for the worker: the AWS JSON protocol over fetch, SigV4-signed
 * with aws4fetch. The full AWS SDK is built for Node and weighs far more than the two or three
 * actions the edge needs.
 */
import { AwsClient } from "aws4fetch";
import { joined } from "../core/joined.ts";
import { DependencyError, withTimeout } from "../core/timeout.ts";

export interface SqsFetchOptions {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  timeoutMs: number;
}

export class SqsError extends DependencyError {
  override readonly name = "SqsError";
  readonly status: number;
  readonly awsType: string | undefined;
  constructor(message: string, status: number, awsType?: string) {
    super("queue", message);
    this.status = status;
    this.awsType = awsType;
  }
}

export class SqsFetchClient {
  readonly #aws: AwsClient;
  readonly #endpoint: string;
  readonly #timeoutMs: number;

  constructor(opts: SqsFetchOptions) {
    this.#aws = new AwsClient({
      accessKeyId: opts.accessKeyId,
      secretAccessKey: opts.secretAccessKey,
      region: opts.region,
      service: "sqs",
      // Retries are the caller's decision (health must report, not hide, a failing queue).
      retries: 0,
    });
    this.#endpoint = opts.endpoint.replace(/\/+$/, "") + "/";
    this.#timeoutMs = opts.timeoutMs;
  }

  async call<T>(action: string, body: Record<string, unknown>): Promise<T> {
    const request = this.#send(action, body);
    const response = await withTimeout(request, this.#timeoutMs, "queue");
    return this.#read<T>(action, response);
  }

  async #send(action: string, body: Record<string, unknown>): Promise<Response> {
    try {
      return await this.#aws.fetch(this.#endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": `AmazonSQS.${action}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      throw new DependencyError("queue", `SQS ${action}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  async #read<T>(action: string, response: Response): Promise<T> {
    const text = await response.text();
    if (!response.ok) {
      let type: string | undefined;
      let message = text;
      try {
        const parsed = JSON.parse(text) as { __type?: string; message?: string; Message?: string };
        type = parsed.__type;
        message = parsed.message ?? parsed.Message ?? text;
      } catch {
        // Non-JSON error bodies (proxies, HTML) are reported verbatim.
      }
      throw new SqsError(`SQS ${action} failed (${response.status}): ${message}`, response.status, type);
    }
    return (text ? JSON.parse(text) : {}) as T;
  }

  async getQueueUrl(queueName: string): Promise<string> {
    const out = await this.call<{ QueueUrl: string }>("GetQueueUrl", { QueueName: queueName });
    return out.QueueUrl;
  }

  readonly #urls = new Map<string, Promise<string>>();

  /** SendMessage by queue name (its URL looked up once per isolate). FIFO queues need the group and dedup ids. */
  async send(queueName: string, body: unknown, fifo?: { groupId: string; deduplicationId: string }): Promise<string> {
    let url = this.#urls.get(queueName);
    if (!url) {
      url = this.getQueueUrl(queueName);
      this.#urls.set(queueName, url);
      // A failed lookup must not be remembered.
      url.catch(() => this.#urls.delete(queueName));
    }
    const out = await this.call<{ MessageId: string }>("SendMessage", {
      // The lookup is shared by the isolate's requests: each waits through its own promise.
      QueueUrl: await joined(url),
      MessageBody: JSON.stringify(body),
      ...(fifo ? { MessageGroupId: fifo.groupId, MessageDeduplicationId: fifo.deduplicationId } : {}),
    });
    return out.MessageId;
  }
}
