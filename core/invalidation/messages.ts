/**
 * @module The bodies of the queue messages between the edge and the Lambdas, with the zod schemas
 * both ends use: the producer builds them typed, the consumer validates them (a body that fails is
 * a poison message: reported as a batch item failure until SQS moves it to the dead-letter queue).
 */
import { z } from "zod";
import { RESOURCE_TYPES } from "../types.ts";
import { INVALIDATION_MODES, REQUESTABLE_INVALIDATION_TYPES, TRIGGER_EVENTS } from "./types.ts";

const uuid = z.uuid();

/** A tag as resources and invalidations carry it (also a Postgres text[] element and a Redis key part). */
export const tagSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[^\s,"\\{}]+$/, "no whitespace, commas, quotes, backslashes or braces");
const resourceRef = z.strictObject({ type: z.enum(RESOURCE_TYPES), id: uuid });

export const invalidationTargetSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("SINGLE_KEY"), key: z.string().min(1).max(500) }),
  z.strictObject({ type: z.literal("PATTERN_MATCH"), pattern: z.string().min(1).max(500) }),
  z.strictObject({ type: z.literal("TAG_BASED"), tags: z.array(tagSchema).min(1).max(100) }),
  z.strictObject({ type: z.literal("DEPENDENCY_CASCADE"), resource: resourceRef, maxDepth: z.number().int().min(0).max(10).optional() }),
  z.strictObject({ type: z.literal("MANUAL_FLUSH"), strategyId: uuid.optional(), layerId: uuid.optional() }),
]);
// Keep the list of requestable types and the union in step.
const _typesCovered: readonly (typeof REQUESTABLE_INVALIDATION_TYPES)[number][] = invalidationTargetSchema.options.map((o) => o.shape.type.value);
void _typesCovered;

export const invalidationMessageSchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal("invalidation"),
  id: uuid,
  target: invalidationTargetSchema,
  mode: z.enum(INVALIDATION_MODES),
  reason: z.string().max(1000).optional(),
  triggeredBy: uuid.optional(),
  triggerEvent: z.enum(TRIGGER_EVENTS),
  requestedAt: z.iso.datetime(),
});

export const changeMessageSchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal("change"),
  id: uuid,
  event: z.enum(["RESOURCE_UPDATED", "RESOURCE_DELETED"]),
  resource: resourceRef,
  version: z.number().int().min(1),
  triggeredBy: uuid.optional(),
  at: z.iso.datetime(),
});

export const invalidationQueueMessageSchema = z.discriminatedUnion("kind", [invalidationMessageSchema, changeMessageSchema]);

export const writeBehindMessageSchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal("write"),
  resource: resourceRef,
  version: z.number().int().min(1),
  /** Null for a delete. */
  payload: z.record(z.string(), z.json()).nullable(),
  tags: z.array(tagSchema).max(16),
  dependsOn: z.array(uuid).max(100).optional(),
  triggeredBy: uuid.optional(),
  at: z.iso.datetime(),
});

export type InvalidationMessage = z.infer<typeof invalidationMessageSchema>;
export type ChangeMessage = z.infer<typeof changeMessageSchema>;
export type InvalidationQueueMessage = z.infer<typeof invalidationQueueMessageSchema>;
export type WriteBehindMessage = z.infer<typeof writeBehindMessageSchema>;
