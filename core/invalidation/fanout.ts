/**
 * @module The invalidation fan-out: resolves what an invalidation covers, makes it unreachable
 * (epoch bumps), returns L2 memory early (UNLINK in batches), asks the CDN in front of the worker
 * to purge, and reports exact counts for the invalidation log. Runtime-neutral: Redis, Postgres
 * and the CDN arrive through ports; the Lambda (functions/invalidation) is a shell around it.
 *
 * Correctness rests on the bumps alone: every reader checks every entry against them. UNLINK and
 * the CDN purge only free memory and shorten what a CDN in front of the worker serves, so their
 * partial failure is reported, not retried forever.
 */
import { RESOURCE_SLUGS, resourceSlug, type ResolvedStrategy, type ResourceType } from "../types.ts";
import type { CdnPurger, PurgeReport } from "./cdn-purge.ts";
import { MAX_SCOPES_PER_BUMP, scopeOf, type EpochStore } from "./epochs.ts";
import type { InvalidationMode, InvalidationType, TriggerEvent } from "./types.ts";

export interface ResourceRef {
  type: ResourceType;
  id: string;
}

/** What to invalidate; exactly one target, by type. */
export type InvalidationTarget =
  | { type: "SINGLE_KEY"; key: string }
  | { type: "PATTERN_MATCH"; pattern: string }
  | { type: "TAG_BASED"; tags: string[] }
  | { type: "DEPENDENCY_CASCADE"; resource: ResourceRef; maxDepth?: number }
  | { type: "MANUAL_FLUSH"; strategyId?: string; layerId?: string };

export interface InvalidationRequest {
  id: string;
  target: InvalidationTarget;
  mode: InvalidationMode;
  reason?: string;
  triggeredBy?: string;
  triggerEvent: TriggerEvent;
}

/** A resource change, as every write emits it. */
export interface ResourceChange {
  id: string;
  event: "RESOURCE_UPDATED" | "RESOURCE_DELETED";
  resource: ResourceRef;
  version: number;
  triggeredBy?: string;
}

/** A strategy as the fan-out needs it: its identity and rules, not its timings. */
export interface StrategyInfo extends Pick<ResolvedStrategy, "id" | "name" | "resourceType" | "keyPattern" | "layerId" | "behavior" | "invalidation"> {
  /** DEPENDENCY_BASED: how many parent levels a change reaches (invalidation_rules.maxDepth, default 1). */
  maxDepth: number;
}

/** Redis as the fan-out sees it: cache keys, not Redis keys. */
export interface L2Keyspace {
  /** Cache keys whose L2 entry matches `glob` (a Redis glob over the cache key, metacharacters already escaped). */
  scan(glob: string, limit: number): Promise<string[]>;
  tagMembers(tag: string): Promise<string[]>;
  /** UNLINKs the entries of these cache keys; resolves with how many existed. */
  unlink(keys: readonly string[]): Promise<number>;
  dropTags(tags: readonly string[]): Promise<void>;
}

/** Postgres as the fan-out sees it. */
export interface InvalidationCatalog {
  strategies(): Promise<StrategyInfo[]>;
  /** Active registry keys matching a LIKE pattern (already escaped). */
  registryKeysLike(like: string, limit: number): Promise<string[]>;
  registryKeysOfStrategies(strategyIds: readonly string[], limit: number): Promise<string[]>;
  registryKeysOfResource(resourceId: string): Promise<string[]>;
  /** Resources (live or not) carrying any of these tags, as their cache keys. */
  resourceKeysWithTags(tags: readonly string[], limit: number): Promise<string[]>;
  /** Direct parents of these resources (edges parent → child, walked child → parent). */
  parentsOf(childIds: readonly string[]): Promise<Array<{ childId: string; id: string; type: ResourceType }>>;
}

export interface FanoutPorts {
  epochs: EpochStore;
  l2: L2Keyspace;
  catalog: InvalidationCatalog;
  cdn: CdnPurger;
}

export interface CascadeReport {
  root: string;
  maxDepth: number;
  depthReached: number;
  /** Edges that led back to a resource already visited: a cycle (or a diamond), walked once. */
  revisitsSkipped: number;
  /** Parents existed beyond maxDepth and were not followed. */
  truncated: boolean;
}

export interface FanoutResult {
  type: InvalidationType;
  /** The key or pattern, for the log's cache_key_pattern. */
  keyPattern?: string;
  keys: string[];
  scopes: string[];
  l2Unlinked: number;
  cdn?: PurgeReport;
  cascade?: CascadeReport;
  /** Bumps skipped because this invalidation id had already applied them (a redelivery). */
  replayedBumps: number;
  /** A source (SCAN, registry, tag index, tagged resources) returned MAX_KEYS keys: there may be more. */
  limitReached?: boolean;
  triggerResource?: ResourceRef;
}

/** Upper bound on keys one source (SCAN, registry, tag index, tagged resources) yields, so one request cannot walk an unbounded keyspace. */
export const MAX_KEYS = 250_000;
export const MAX_CASCADE_DEPTH = 10;
const UNLINK_BATCH = 500;

export function resourceKey(ref: ResourceRef): string {
  return `${resourceSlug(ref.type)}:${ref.id.toLowerCase()}`;
}

/** Escapes Redis glob metacharacters, keeping `*` as the one wildcard users may write. */
export function userPatternToGlob(pattern: string): string {
  return pattern.replace(/[?[\]\\]/g, (c) => `\\${c}`);
}

/** The same pattern as SQL LIKE (`*` → `%`), with LIKE's own metacharacters escaped. */
export function userPatternToLike(pattern: string): string {
  return pattern.replace(/[%_\\]/g, (c) => `\\${c}`).replaceAll("*", "%");
}

/** A strategy key pattern (`media:{id}:{variant}`) as a user pattern: each placeholder becomes `*`. */
export function keyPatternToUserPattern(keyPattern: string): string {
  return keyPattern.replace(/\{[^}]*\}/g, "*");
}

export class Fanout {
  readonly #ports: FanoutPorts;

  constructor(ports: FanoutPorts) {
    this.#ports = ports;
  }

  /** Runs one invalidation request end to end (bumps, UNLINK, CDN) and reports what it covered. */
  async run(request: InvalidationRequest): Promise<FanoutResult> {
    const { target } = request;
    const keys = new Set<string>();
    const scopes: string[] = [];
    const result: Omit<FanoutResult, "keys" | "scopes" | "l2Unlinked" | "replayedBumps"> = { type: target.type };
    let tags: string[] = [];
    const collect = (lists: readonly (readonly string[])[]): void => {
      for (const list of lists) {
        if (list.length >= MAX_KEYS) result.limitReached = true;
        for (const k of list) keys.add(k);
      }
    };

    switch (target.type) {
      case "SINGLE_KEY":
        keys.add(target.key);
        result.keyPattern = target.key;
        break;
      case "PATTERN_MATCH": {
        result.keyPattern = target.pattern;
        collect(
          await Promise.all([
            this.#ports.l2.scan(userPatternToGlob(target.pattern), MAX_KEYS),
            this.#ports.catalog.registryKeysLike(userPatternToLike(target.pattern), MAX_KEYS),
          ]),
        );
        break;
      }
      case "TAG_BASED": {
        tags = [...new Set(target.tags)];
        for (const tag of tags) scopes.push(scopeOf.tag(tag));
        const [members, resources] = await Promise.all([
          Promise.all(tags.map((t) => this.#ports.l2.tagMembers(t))),
          this.#ports.catalog.resourceKeysWithTags(tags, MAX_KEYS),
        ]);
        collect([...members, resources]);
        break;
      }
      case "DEPENDENCY_CASCADE": {
        const depth = Math.min(target.maxDepth ?? 3, MAX_CASCADE_DEPTH);
        const walk = await this.#cascade(target.resource, () => depth);
        collect([walk.keys]);
        result.cascade = walk.report;
        result.triggerResource = target.resource;
        break;
      }
      case "MANUAL_FLUSH": {
        const strategies = await this.#ports.catalog.strategies();
        const flushed = target.strategyId
          ? strategies.filter((s) => s.id === target.strategyId)
          : strategies.filter((s) => s.layerId === target.layerId);
        if (target.strategyId) scopes.push(scopeOf.strategy(target.strategyId));
        if (target.layerId) scopes.push(scopeOf.layer(target.layerId));
        collect(
          await Promise.all([
            this.#ports.catalog.registryKeysOfStrategies(
              flushed.map((s) => s.id),
              MAX_KEYS,
            ),
            ...flushed.map((s) => this.#ports.l2.scan(userPatternToGlob(keyPatternToUserPattern(s.keyPattern)), MAX_KEYS)),
          ]),
        );
        break;
      }
    }

    const keyList = [...keys];
    // A scope bump (tags, strategy, layer) already covers every entry of it; keys need their own only without one.
    const applied = await this.#apply(request.id, request.mode, scopes, scopes.length === 0 ? keyList : []);
    // Soft keeps L2 entries: they are to be served stale while one refresh runs.
    const l2Unlinked = request.mode === "HARD" ? await this.#unlink(keyList) : 0;
    if (request.mode === "HARD" && tags.length > 0) await this.#ports.l2.dropTags(tags);
    const cdn = await this.#ports.cdn.purge({ keys: keyList, tags });
    return { ...result, keys: keyList, scopes, l2Unlinked, cdn, replayedBumps: applied.replayed };
  }

  /**
   * A resource changed. The write itself already bumped the resource's own key (and stored the new
   * value, for write-through); this reaches what depends on it: other keys registered for the
   * resource when its strategy is EVENT_DRIVEN, and parents whose strategy is DEPENDENCY_BASED, up
   * to that strategy's maxDepth. Resolves undefined when no strategy asks for anything.
   */
  async onChange(change: ResourceChange): Promise<FanoutResult | undefined> {
    const strategies = await this.#ports.catalog.strategies();
    const byType = new Map(strategies.map((s) => [s.resourceType, s] as const));
    const own = byType.get(change.resource.type);
    const rootKey = resourceKey(change.resource);
    const keys = new Set<string>();
    let cascade: CascadeReport | undefined;

    if (own?.invalidation === "EVENT_DRIVEN") {
      for (const k of await this.#ports.catalog.registryKeysOfResource(change.resource.id)) if (k !== rootKey) keys.add(k);
    }
    const dependencyDepths = strategies.filter((s) => s.invalidation === "DEPENDENCY_BASED").map((s) => s.maxDepth);
    if (dependencyDepths.length > 0) {
      const deepest = Math.min(Math.max(...dependencyDepths), MAX_CASCADE_DEPTH);
      // A parent at depth d is reached only if its own strategy reaches that far.
      const walk = await this.#cascade(change.resource, (type) => {
        const s = byType.get(type);
        return s?.invalidation === "DEPENDENCY_BASED" ? s.maxDepth : 0;
      }, deepest);
      for (const k of walk.keys) if (k !== rootKey) keys.add(k);
      if (walk.keys.length > 1 || walk.report.truncated) cascade = walk.report;
    }
    if (own?.invalidation !== "EVENT_DRIVEN" && own?.invalidation !== "DEPENDENCY_BASED" && keys.size === 0) return undefined;

    const dependents = [...keys];
    const applied = await this.#apply(change.id, "HARD", [], dependents);
    const l2Unlinked = await this.#unlink(dependents);
    const all = [rootKey, ...dependents];
    const cdn = await this.#ports.cdn.purge({ keys: all });
    return {
      type: cascade ? "DEPENDENCY_CASCADE" : "SINGLE_KEY",
      keyPattern: rootKey,
      keys: all,
      scopes: [],
      l2Unlinked,
      cdn,
      ...(cascade ? { cascade } : {}),
      replayedBumps: applied.replayed,
      triggerResource: change.resource,
    };
  }

  /**
   * Breadth-first from `root` to its parents (child → parent), each resource once: a cycle or a
   * diamond is walked once and counted. `reach(type)` is how deep a parent of that type may be
   * and still be invalidated; the walk stops at `limit` levels.
   */
  async #cascade(
    root: ResourceRef,
    reach: (type: ResourceType) => number,
    limit = reach(root.type),
  ): Promise<{ keys: string[]; report: CascadeReport }> {
    const rootId = root.id.toLowerCase();
    const visited = new Set<string>([rootId]);
    const keys = [resourceKey(root)];
    let frontier = [rootId];
    let depth = 0;
    let depthReached = 0;
    let revisits = 0;
    let truncated = false;
    while (frontier.length > 0) {
      const parents = await this.#ports.catalog.parentsOf(frontier);
      if (depth >= limit) {
        truncated = parents.some((p) => !visited.has(p.id));
        break;
      }
      depth++;
      const next: string[] = [];
      for (const p of parents) {
        if (visited.has(p.id)) {
          revisits++;
          continue;
        }
        visited.add(p.id);
        next.push(p.id);
        if (depth <= reach(p.type)) keys.push(resourceKey(p));
      }
      if (next.length > 0) depthReached = depth;
      frontier = next;
    }
    return {
      keys,
      report: { root: resourceKey(root), maxDepth: limit, depthReached, revisitsSkipped: revisits, truncated },
    };
  }

  /** Bumps in chunks, each chunk idempotent under `<id>:<part>`, so a redelivery bumps nothing twice. */
  async #apply(id: string, mode: InvalidationMode, scopes: readonly string[], keys: readonly string[]): Promise<{ replayed: number }> {
    let replayed = 0;
    if (scopes.length > 0) {
      const r = await this.#ports.epochs.bump(scopes, mode, `${id}:scopes`);
      if (!r.applied) replayed++;
    }
    for (let i = 0; i < keys.length; i += MAX_SCOPES_PER_BUMP) {
      const chunk = keys.slice(i, i + MAX_SCOPES_PER_BUMP).map((k) => scopeOf.key(k));
      const r = await this.#ports.epochs.bump(chunk, mode, `${id}:k${i / MAX_SCOPES_PER_BUMP}`);
      if (!r.applied) replayed++;
    }
    return { replayed };
  }

  async #unlink(keys: readonly string[]): Promise<number> {
    let removed = 0;
    for (let i = 0; i < keys.length; i += UNLINK_BATCH) removed += await this.#ports.l2.unlink(keys.slice(i, i + UNLINK_BATCH));
    return removed;
  }
}

/** Whether `key` names a resource (`<slug>:<uuid>`), and which. */
export function parseResourceKey(key: string): ResourceRef | undefined {
  const sep = key.indexOf(":");
  if (sep < 0) return undefined;
  const slug = key.slice(0, sep);
  const id = key.slice(sep + 1);
  if (!RESOURCE_SLUGS.includes(slug) || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) return undefined;
  return { type: slug.toUpperCase().replaceAll("-", "_") as ResourceType, id };
}
