/**
 * @module Resource writes, by the strategy's behaviour. Runtime-neutral: Postgres, the queues
 * and the version counter arrive as ports; the edge route is a shell around it.
 *
 * - WRITE_THROUGH: Postgres commits, the key's scope is bumped (every other reader drops what it
 *   holds), the new version goes to L2 and the local tiers stamped with that bump (so it outlives
 *   it and nothing older does), then the change event is queued.
 * - WRITE_BEHIND: a version is reserved in Redis (If-Match checked there, atomically), the write
 *   is queued (FIFO per resource; durable before we answer), then bumped and stored like
 *   write-through. A Lambda persists it in version order.
 * - Anything else (CACHE_ASIDE, READ_THROUGH, REFRESH_AHEAD: write-around): Postgres commits, the
 *   key is bumped and dropped from the tiers this isolate reaches, the change event is queued.
 */
import type { CacheEngine, LoadedValue } from "../engine/engine.ts";
import { scopeOf } from "../invalidation/epochs.ts";
import { resourceKey, type ResourceRef } from "../invalidation/fanout.ts";
import type { ChangeMessage, WriteBehindMessage } from "../invalidation/messages.ts";
import type { EpochView } from "../invalidation/view.ts";
import type { ResolvedStrategy, ResourceType } from "../types.ts";

export interface ResourceWrite {
  type: ResourceType;
  id: string;
  payload: Record<string, unknown>;
  tags: readonly string[];
  /** Replaces the resource's outgoing dependency edges; undefined keeps them. */
  dependsOn?: readonly string[] | undefined;
  /** Expected current version (`If-Match`); `"*"` = must exist; undefined = unconditional. */
  ifMatch?: number | "*" | undefined;
}

export type WriteOutcome =
  | { ok: true; version: number; created: boolean; previousTags: string[]; updatedAt: string }
  | { ok: false; reason: "precondition"; current: number | null }
  | { ok: false; reason: "type-conflict"; actualType: ResourceType };

export type DeleteOutcome =
  | { ok: true; version: number; previousTags: string[] }
  | { ok: false; reason: "not-found" }
  | { ok: false; reason: "precondition"; current: number };

/** Postgres, as the write path needs it. */
export interface WriteOrigin {
  write(w: ResourceWrite): Promise<WriteOutcome>;
  delete(type: ResourceType, id: string, ifMatch?: number | "*"): Promise<DeleteOutcome>;
  currentVersion(type: ResourceType, id: string): Promise<{ version: number; live: boolean } | null>;
}

/** The write-behind version counter (Redis): the authority on versions until the Lambda catches up. */
export interface VersionCounter {
  /**
   * Reserves the next version of `key`: `persisted` is what Postgres holds (the floor when the
   * counter is new). With `ifMatch`, reserves only if the current version equals it (`"*"`: any
   * live version). Resolves `{ ok: false, current }` otherwise.
   */
  reserve(
    key: string,
    persisted: { version: number; live: boolean } | null,
    ifMatch?: number | "*",
    kind?: "write" | "delete",
  ): Promise<{ ok: true; version: number } | { ok: false; current: number | null }>;
}

export interface WriteQueues {
  /** FIFO per resource, deduplicated by key and version. */
  writeBehind(message: WriteBehindMessage): Promise<void>;
  change(message: ChangeMessage): Promise<void>;
}

export interface WritePorts {
  engine: CacheEngine;
  /** This isolate's view of the epoch store: bumps go through it so the writer honours them at once. */
  invalidations: EpochView;
  origin: WriteOrigin;
  versions: VersionCounter;
  queues: WriteQueues;
  /** The cached representation of a written resource (the same shape the origin loader returns). */
  present(ref: ResourceRef, version: number, payload: Record<string, unknown>, tags: readonly string[], updatedAt: string): LoadedValue;
  newId(): string;
  now?: () => number;
  /** Told about a failure after the write itself succeeded (the write stands; the caller warns). */
  onLateFailure?: (step: string, error: unknown) => void;
}

export type WriteResult =
  | { status: 200 | 201 | 202; version: number; value: LoadedValue; warnings: string[] }
  | { status: 412; current: number | null }
  | { status: 409; actualType: ResourceType };

export type RemoveResult = { status: 202 | 204; version: number; warnings: string[] } | { status: 404 } | { status: 412; current: number };

export class WritePath {
  readonly #p: WritePorts;
  readonly #now: () => number;

  constructor(ports: WritePorts) {
    this.#p = ports;
    this.#now = ports.now ?? Date.now;
  }

  async put(w: ResourceWrite, strategy: ResolvedStrategy, actor?: string): Promise<WriteResult> {
    const ref = { type: w.type, id: w.id.toLowerCase() };
    const key = resourceKey(ref);
    const warnings: string[] = [];
    if (strategy.behavior === "WRITE_BEHIND") {
      const at = new Date(this.#now()).toISOString();
      const reserved = await this.#queueBehind(ref, key, w.ifMatch, { payload: w.payload as WriteBehindMessage["payload"], tags: [...w.tags], ...(w.dependsOn ? { dependsOn: [...w.dependsOn] } : {}) }, actor, at);
      if (!reserved.ok) return { status: 412, current: reserved.current };
      const value = this.#p.present(ref, reserved.version, w.payload, w.tags, at);
      await this.#publish(key, strategy, value, warnings);
      return { status: 202, version: reserved.version, value, warnings };
    }

    const outcome = await this.#p.origin.write({ ...w, id: ref.id });
    if (!outcome.ok) return outcome.reason === "precondition" ? { status: 412, current: outcome.current } : { status: 409, actualType: outcome.actualType };
    const value = this.#p.present(ref, outcome.version, w.payload, w.tags, outcome.updatedAt);
    if (strategy.behavior === "WRITE_THROUGH") await this.#publish(key, strategy, value, warnings);
    else await this.#drop(key, warnings);
    await this.#emit("RESOURCE_UPDATED", ref, outcome.version, actor, warnings);
    return { status: outcome.created ? 201 : 200, version: outcome.version, value, warnings };
  }

  async remove(type: ResourceType, id: string, strategy: ResolvedStrategy, ifMatch?: number | "*", actor?: string): Promise<RemoveResult> {
    const ref = { type, id: id.toLowerCase() };
    const key = resourceKey(ref);
    const warnings: string[] = [];
    if (strategy.behavior === "WRITE_BEHIND") {
      const reserved = await this.#queueBehind(ref, key, ifMatch ?? "*", { payload: null, tags: [] }, actor, new Date(this.#now()).toISOString());
      if (!reserved.ok) return reserved.current === null ? { status: 404 } : { status: 412, current: reserved.current };
      await this.#drop(key, warnings);
      return { status: 202, version: reserved.version, warnings };
    }
    const outcome = await this.#p.origin.delete(ref.type, ref.id, ifMatch);
    if (!outcome.ok) return outcome.reason === "not-found" ? { status: 404 } : { status: 412, current: outcome.current };
    await this.#drop(key, warnings);
    await this.#emit("RESOURCE_DELETED", ref, outcome.version, actor, warnings);
    return { status: 204, version: outcome.version, warnings };
  }

  /**
   * Write-behind's durable half: the next version reserved in Redis (If-Match checked there), then
   * the write queued. Once this resolves with ok, the Lambda will persist it.
   */
  async #queueBehind(
    ref: ResourceRef,
    key: string,
    ifMatch: number | "*" | undefined,
    body: Pick<WriteBehindMessage, "payload" | "tags" | "dependsOn">,
    actor: string | undefined,
    at: string,
  ): Promise<{ ok: true; version: number } | { ok: false; current: number | null }> {
    const persisted = await this.#p.origin.currentVersion(ref.type, ref.id);
    const reserved = await this.#p.versions.reserve(key, persisted, ifMatch, body.payload === null ? "delete" : "write");
    if (!reserved.ok) return reserved;
    await this.#p.queues.writeBehind({ v: 1, kind: "write", resource: ref, version: reserved.version, ...body, ...(actor ? { triggeredBy: actor } : {}), at });
    return reserved;
  }

  /** Bumps the key, then stores the new value stamped with that bump in every tier this isolate reaches. */
  async #publish(key: string, strategy: ResolvedStrategy, value: LoadedValue, warnings: string[]): Promise<void> {
    let seq: number;
    try {
      seq = await this.#bump(key);
    } catch (error) {
      // Without the bump other isolates would keep their old copy: store nothing new, drop what we can.
      this.#p.onLateFailure?.("bump", error);
      warnings.push("invalidation-pending");
      await this.#p.engine.delete(key).catch(() => undefined);
      return;
    }
    try {
      await this.#p.engine.put(key, strategy, value, { epochs: { "#": seq } });
    } catch (error) {
      this.#p.onLateFailure?.("store", error);
      warnings.push("cache-not-updated");
    }
  }

  async #drop(key: string, warnings: string[]): Promise<void> {
    try {
      await this.#bump(key);
    } catch (error) {
      this.#p.onLateFailure?.("bump", error);
      warnings.push("invalidation-pending");
    }
    await this.#p.engine.delete(key).catch((error: unknown) => {
      this.#p.onLateFailure?.("delete", error);
      warnings.push("cache-not-updated");
    });
  }

  async #bump(key: string): Promise<number> {
    return (await this.#p.invalidations.bump([scopeOf.key(key)], "HARD")).seq;
  }

  async #emit(event: ChangeMessage["event"], resource: ResourceRef, version: number, actor: string | undefined, warnings: string[]): Promise<void> {
    try {
      await this.#p.queues.change({
        v: 1,
        kind: "change",
        id: this.#p.newId(),
        event,
        resource,
        version,
        ...(actor ? { triggeredBy: actor } : {}),
        at: new Date(this.#now()).toISOString(),
      });
    } catch (error) {
      // The write is committed; dependents fall back to their TTL. Say so rather than fail a done write.
      this.#p.onLateFailure?.("change-event", error);
      warnings.push("change-event-not-queued");
    }
  }
}
