/**
 * @module The write path of this isolate, wired from bindings: Postgres through Drizzle, the
 * write-behind version counter and the epoch store in Upstash, the queues in SQS.
 */
import type { LoadedValue } from "../core/engine/engine.ts";
import type { ResourceRef } from "../core/invalidation/fanout.ts";
import { RedisVersionCounter } from "../core/write/version-counter.ts";
import { WritePath } from "../core/write/write-path.ts";
import { resourceSlug } from "../core/types.ts";
import { bounded } from "../core/timeout.ts";
import type { ResourceBody } from "../db/origin.ts";
import { currentVersion, deleteResource, writeResource } from "../db/writes.ts";
import { queueByKey } from "../functions/queues.ts";
import type { EdgeCache } from "./cache.ts";
import { dependencyTimeoutMs, edgeDb, edgeRedis, edgeSqs } from "./deps.ts";
import type { Bindings } from "./env.ts";

export function present(ref: ResourceRef, version: number, payload: Record<string, unknown>, tags: readonly string[], updatedAt: string): LoadedValue {
  const body: ResourceBody = { id: ref.id, type: resourceSlug(ref.type), version, payload, tags: [...tags], updatedAt };
  return { value: body, version: String(version), tags: [...tags] };
}

export function writePath(env: Bindings, cache: EdgeCache): WritePath {
  const timeoutMs = dependencyTimeoutMs(env);
  const db = edgeDb(env);
  const pg = <T>(work: () => Promise<T>): Promise<T> => bounded(work, timeoutMs, "postgres");
  const writeBehindQueue = queueByKey("write-behind").name;
  const invalidationQueue = queueByKey("invalidation").name;
  return new WritePath({
    engine: cache.engine,
    invalidations: cache.epochView,
    origin: {
      write: (w) => pg(() => writeResource(db, w)),
      delete: (type, id, ifMatch) => pg(() => deleteResource(db, type, id, ifMatch)),
      currentVersion: (type, id) => pg(() => currentVersion(db, type, id)),
    },
    versions: new RedisVersionCounter({ client: edgeRedis(env), keyPrefix: env.STRATA_KEY_PREFIX ?? "strata:v1:", timeoutMs }),
    queues: {
      async writeBehind(message) {
        const key = `${resourceSlug(message.resource.type)}:${message.resource.id}`;
        // Group per resource: its writes apply in order. Dedup by version: a retried send is one message.
        await edgeSqs(env).send(writeBehindQueue, message, { groupId: key, deduplicationId: `${key}:${message.version}` });
      },
      async change(message) {
        await edgeSqs(env).send(invalidationQueue, message);
      },
    },
    present,
    newId: () => crypto.randomUUID(),
    onLateFailure: (step, error) => console.error(JSON.stringify({ level: "error", msg: "write follow-up failed", step, error: String(error) })),
  });
}
