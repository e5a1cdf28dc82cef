/**
 * @module What every queue consumer does with a record before its own work: parse and validate
 * the body, and log a failure before Powertools reports it as a batch item failure.
 */
import type { SQSRecord } from "aws-lambda";
import type { z } from "zod";

/** A message body no retry can fix: thrown so its record fails, and SQS dead-letters it after maxReceiveCount. */
export class PoisonMessageError extends Error {
  override readonly name = "PoisonMessageError";
}

/** The record's body as `schema` describes it, or a PoisonMessageError naming what is wrong. */
export function parseRecord<S extends z.ZodType>(record: SQSRecord, schema: S): z.infer<S> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(record.body);
  } catch {
    throw new PoisonMessageError(`message ${record.messageId}: body is not JSON`);
  }
  const result = schema.safeParse(parsed);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new PoisonMessageError(`message ${record.messageId}: ${issue ? `${issue.path.join(".")}: ${issue.message}` : "invalid"}`);
}

/** Wraps a record handler so each failure is logged once, with the message id, and still fails the record. */
export function loggedRecordHandler(consumer: string, work: (record: SQSRecord) => Promise<void>): (record: SQSRecord) => Promise<void> {
  return async (record) => {
    try {
      await work(record);
    } catch (error) {
      console.error(JSON.stringify({ level: "error", msg: `${consumer} record failed`, messageId: record.messageId, error: String(error) }));
      throw error;
    }
  };
}
