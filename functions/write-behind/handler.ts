/**
 * @module The write-behind Lambda (SQS FIFO: strata-write-behind.fifo, one message group per
 * resource). Persists each queued write to Postgres only if it is newer than what is there, so a
 * redelivery or a retry after a crash changes nothing, then emits the change event. The event's
 * id is derived from resource and version, so emitting it twice is one invalidation.
 *
 * A failed record fails its group only (Powertools' FIFO processor with skipGroupOnError): later
 * writes to the same resource wait for it, other resources go on.
 */
import { createHash } from "node:crypto";
import { processPartialResponse, SqsFifoPartialProcessorAsync } from "@aws-lambda-powertools/batch";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { resourceKey } from "../../core/invalidation/fanout.ts";
import { writeBehindMessageSchema, type ChangeMessage } from "../../core/invalidation/messages.ts";
import { bounded } from "../../core/timeout.ts";
import { persistWrite } from "../../db/writes.ts";
import { functionsHttpDb } from "../db.ts";
import { dependencyTimeoutMs, sendToQueue } from "../deps.ts";
import { loggedRecordHandler, parseRecord } from "../poison.ts";

/** A stable UUID for a (resource, version): the same write's event always has the same id. */
export function changeIdOf(key: string, version: number): string {
  const h = createHash("sha256").update(`change:${key}:${version}`).digest("hex");
  // Shaped as a version-5-style UUID so that it passes uuid validation everywhere.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export async function processRecord(record: SQSRecord): Promise<void> {
  const m = parseRecord(record, writeBehindMessageSchema);
  await bounded(
    () =>
      persistWrite(functionsHttpDb(), {
        type: m.resource.type,
        id: m.resource.id,
        version: m.version,
        payload: m.payload,
        tags: m.tags,
        dependsOn: m.dependsOn,
      }),
    dependencyTimeoutMs(),
    "postgres",
  );
  // Sent whether or not this delivery applied the write: a crash right after persisting must not lose the event.
  const change: ChangeMessage = {
    v: 1,
    kind: "change",
    id: changeIdOf(resourceKey(m.resource), m.version),
    event: m.payload === null ? "RESOURCE_DELETED" : "RESOURCE_UPDATED",
    resource: m.resource,
    version: m.version,
    ...(m.triggeredBy ? { triggeredBy: m.triggeredBy } : {}),
    at: m.at,
  };
  await sendToQueue("invalidation", change);
}

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  const processor = new SqsFifoPartialProcessorAsync();
  return processPartialResponse(event, loggedRecordHandler("write-behind", processRecord), processor, { context, skipGroupOnError: true, throwOnFullBatchFailure: false });
}
