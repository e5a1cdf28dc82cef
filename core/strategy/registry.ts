/**
 * @module The isolate's view of strategy and layer configuration: `StrategyRegistry` answers
 * "which strategy governs this key / resource type" from memory, and `ConfigCache` keeps one
 * registry per isolate, loaded from Postgres on first use and reloaded only when the config
 * version in Redis changes, so requests never query SQL for configuration. Protocol and failure
 * behaviour: docs/strategies.md.
 */
import { joined } from "../joined.ts";
import { withTimeout } from "../timeout.ts";
import type { LayerConfig, ResolvedStrategy, ResourceType } from "../types.ts";
import { InvalidKeyError, PatternIndex, keyProblem, type CompiledPattern, type KeyParams } from "./pattern.ts";
import {
  ConfigRowError,
  defaultLayer,
  defaultStrategy,
  extraConfiguration,
  resolveLayer,
  resolveStrategy,
  type LayerRow,
  type StrategyRow,
} from "./resolve.ts";

export type { LayerRow, StrategyRow } from "./resolve.ts";

export interface ConfigSnapshot {
  layers: LayerRow[];
  strategies: StrategyRow[];
}

/** Where layers and strategies come from (db/config-source.ts reads Postgres). */
export interface ConfigSource {
  load(): Promise<ConfigSnapshot>;
}

/** The current configuration version (core/strategy/redis-version.ts: Redis `strata:config:version`); null when never bumped. */
export interface ConfigVersionSource {
  current(): Promise<string | null>;
}

export interface ConfigLog {
  warn(message: string): void;
  info(message: string): void;
}

/** A row left out of the registry, and why. */
export interface RejectedRow {
  kind: "layer" | "strategy";
  id: string;
  name: string;
  /** Column or `strategy_configuration.<key>`, when one field is at fault. */
  field: string | undefined;
  message: string;
}

export interface KeyResolution {
  strategy: ResolvedStrategy;
  /** Placeholder values captured from the key; empty for the default strategy. */
  params: KeyParams;
  /** The matched pattern; undefined for the default strategy. */
  pattern: CompiledPattern | undefined;
}

export interface RegistryOptions {
  /** The config version the snapshot was loaded under (null: never bumped, or unknown). */
  version?: string | null;
  log?: ConfigLog;
}

const NO_PARAMS: KeyParams = Object.freeze(Object.create(null) as Record<string, string>);

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function rejection(kind: "layer" | "strategy", id: string, name: string, error: unknown): RejectedRow {
  const message = error instanceof Error ? error.message : String(error);
  return { kind, id, name, field: error instanceof ConfigRowError ? error.field : undefined, message };
}

/**
 * One immutable configuration snapshot, resolved and indexed. Rows that cannot be used (invalid
 * values, malformed pattern, unknown layer) are logged and left out one by one, so one bad row
 * never takes the others down. Only when no layer is active does construction throw: then there
 * is no layer to bind the default strategy to.
 */
export class StrategyRegistry {
  readonly version: string | null;
  /** Valid layers, active or not, in cache_level order. */
  readonly layers: readonly LayerConfig[];
  /** Active, valid strategies in name order. */
  readonly strategies: readonly ResolvedStrategy[];
  /** The strategy of generic keys no pattern matches (docs/strategies.md). */
  readonly defaultStrategy: ResolvedStrategy;
  readonly rejected: readonly RejectedRow[];
  readonly #layers = new Map<string, LayerConfig>();
  readonly #strategies = new Map<string, ResolvedStrategy>();
  readonly #byType = new Map<ResourceType, ResolvedStrategy>();
  readonly #index = new PatternIndex<ResolvedStrategy>();
  readonly #extras = new Map<string, Readonly<Record<string, unknown>>>();

  constructor(snapshot: ConfigSnapshot, options: RegistryOptions = {}) {
    const log = options.log ?? console;
    this.version = options.version ?? null;
    const rejected: RejectedRow[] = [];

    for (const row of snapshot.layers) {
      try {
        const layer = resolveLayer(row);
        this.#layers.set(layer.id, layer);
      } catch (error) {
        rejected.push(rejection("layer", row.id, String(row.layerName), error));
      }
    }
    this.layers = [...this.#layers.values()].sort((a, b) => a.level - b.level || compareText(a.name, b.name));
    const fallbackLayer = defaultLayer(this.layers);
    if (!fallbackLayer) {
      for (const r of rejected) log.warn(`strategy config: skipped ${r.message}`);
      throw new Error("strategy config: no active cache layer, so there is nothing to bind the default strategy to");
    }
    this.defaultStrategy = defaultStrategy(fallbackLayer);

    // Name order makes every tie below (same pattern, same resource type) resolve the same way.
    const rows = snapshot.strategies.filter((s) => s.isActive).sort((a, b) => compareText(a.strategyName, b.strategyName));
    const resolved: ResolvedStrategy[] = [];
    for (const row of rows) {
      try {
        const layer = this.#layers.get(row.cacheLayerId);
        if (!layer) {
          throw new ConfigRowError("strategy", row.id, row.strategyName, "cache_layer_id", `names no valid layer (${row.cacheLayerId})`);
        }
        const strategy = resolveStrategy(row, layer);
        // add() compiles first and throws before inserting, so a bad pattern leaves no trace.
        this.#index.add(strategy.keyPattern, strategy);
        resolved.push(strategy);
        this.#strategies.set(strategy.id, strategy);
        this.#extras.set(strategy.id, Object.freeze(extraConfiguration(row)));
      } catch (error) {
        rejected.push(rejection("strategy", row.id, row.strategyName, error));
      }
    }
    this.strategies = resolved;

    const byType = new Map<ResourceType, ResolvedStrategy[]>();
    for (const s of resolved) byType.set(s.resourceType, [...(byType.get(s.resourceType) ?? []), s]);
    for (const [type, list] of byType) {
      const chosen = list[0];
      if (!chosen) continue;
      this.#byType.set(type, chosen);
      if (list.length > 1) {
        log.warn(
          `strategy config: ${list.length} active strategies for ${type} (${list.map((s) => s.name).join(", ")}); ` +
            `resource reads use "${chosen.name}", the first by name`,
        );
      }
    }

    this.rejected = rejected;
    for (const r of rejected) log.warn(`strategy config: skipped ${r.message}`);
  }

  /** The strategy for resource reads of `type`: the first active one by strategy_name. */
  forResourceType(type: ResourceType): ResolvedStrategy | undefined {
    return this.#byType.get(type);
  }

  /**
   * The strategy whose pattern matches `key` most specifically, else the default strategy.
   * Throws InvalidKeyError for an empty key or one over MAX_KEY_LENGTH characters.
   */
  forKey(key: string): KeyResolution {
    const problem = keyProblem(key);
    if (problem) throw new InvalidKeyError(problem);
    const hit = this.#index.match(key);
    if (hit) return { strategy: hit.value, params: hit.params, pattern: hit.pattern };
    return { strategy: this.defaultStrategy, params: NO_PARAMS, pattern: undefined };
  }

  strategy(id: string): ResolvedStrategy | undefined {
    return id === this.defaultStrategy.id ? this.defaultStrategy : this.#strategies.get(id);
  }

  /** `strategy_configuration` keys the engine does not read (e.g. writeBehindFlushSeconds), for the modules that do. */
  extraConfiguration(strategyId: string): Readonly<Record<string, unknown>> {
    return this.#extras.get(strategyId) ?? {};
  }

  layer(id: string): LayerConfig | undefined {
    return this.#layers.get(id);
  }

  /** The active L1_APPLICATION layer (isolate memory: eviction policy, max size), or undefined: no isolate tier. */
  l1Layer(): LayerConfig | undefined {
    return this.layers.find((l) => l.name === "L1_APPLICATION" && l.isActive);
  }
}

export interface ConfigCacheOptions {
  source: ConfigSource;
  versionSource: ConfigVersionSource;
  /** Minimum time between two version checks; default 5000 ms. */
  checkIntervalMs?: number;
  /** After a failed first load (no registry to fall back on), callers within this window get the same error instead of a new load; default 1000 ms. */
  retryAfterMs?: number;
  /** Bound on one version read and on one load; default 10000 ms. */
  timeoutMs?: number;
  /** Injectable clock (epoch ms). */
  now?: () => number;
  log?: ConfigLog;
}

export const DEFAULT_CHECK_INTERVAL_MS = 5_000;

/**
 * The registry of this isolate. The first `get()` loads (concurrent callers share that load);
 * later calls return the cached registry at once and, at most once per `checkIntervalMs`, start a
 * background version check that reloads when the version changed. Failures keep the last good
 * registry and are retried at the next interval; they are logged once per outage.
 */
export class ConfigCache {
  readonly #source: ConfigSource;
  readonly #versionSource: ConfigVersionSource;
  readonly #intervalMs: number;
  readonly #retryAfterMs: number;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #log: ConfigLog;
  #registry: StrategyRegistry | undefined;
  /** The version `#registry` was loaded under; undefined when the version could not be read then. */
  #loadedVersion: string | null | undefined;
  #lastCheckAt = 0;
  #initial: Promise<StrategyRegistry> | undefined;
  #firstFailure: { error: unknown; until: number } | undefined;
  #background: Promise<void> | undefined;
  #failing = false;

  constructor(options: ConfigCacheOptions) {
    this.#source = options.source;
    this.#versionSource = options.versionSource;
    this.#intervalMs = options.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS;
    this.#retryAfterMs = options.retryAfterMs ?? 1_000;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? console;
  }

  /**
   * The current registry. When a background check starts, its promise goes to `waitUntil` (pass
   * `ctx.waitUntil.bind(ctx)` in a worker) so the isolate is not frozen halfway through a reload.
   * Rejects only while no registry was ever loaded and the first load fails.
   */
  get(waitUntil?: (work: Promise<unknown>) => void): Promise<StrategyRegistry> {
    const registry = this.#registry;
    if (!registry) return this.#loadFirst();
    const now = this.#now();
    // A clock that went backwards (now < last) also counts as due, so checks cannot stall.
    const due = now - this.#lastCheckAt >= this.#intervalMs || now < this.#lastCheckAt;
    if (due && !this.#background) {
      this.#lastCheckAt = now;
      const work = this.#runBackground(() => this.#refresh(false));
      waitUntil?.(work);
    }
    return Promise.resolve(registry);
  }

  /** The loaded registry without triggering anything; undefined before the first load. */
  peek(): StrategyRegistry | undefined {
    return this.#registry;
  }

  /** The background check or reload in flight, if any (never rejects). */
  get background(): Promise<void> | undefined {
    return this.#background;
  }

  /**
   * Reloads now, whatever the version says (e.g. right after this isolate bumped it). Waits for a
   * check already in flight first. Resolves to the registry in use afterwards: on failure that is
   * still the previous one (logged as usual).
   */
  async reload(): Promise<StrategyRegistry> {
    if (!this.#registry) return this.#loadFirst();
    const previous = this.#background ? joined(this.#background) : Promise.resolve();
    this.#lastCheckAt = this.#now();
    await this.#runBackground(async () => {
      await previous;
      await this.#refresh(true);
    });
    return this.#registry;
  }

  #runBackground(work: () => Promise<void>): Promise<void> {
    const run: Promise<void> = work().finally(() => {
      if (this.#background === run) this.#background = undefined;
    });
    this.#background = run;
    return run;
  }

  #loadFirst(): Promise<StrategyRegistry> {
    // Requests arriving during the first load wait for it through promises of their own (core/joined.ts).
    if (this.#initial) return joined(this.#initial);
    const failure = this.#firstFailure;
    if (failure && this.#now() < failure.until) return Promise.reject(failure.error);
    const load = (async (): Promise<StrategyRegistry> => {
      let version: string | null | undefined;
      try {
        version = await this.#readVersion();
      } catch (error) {
        // Postgres alone can still serve: load now and let the first successful check reload.
        version = undefined;
        this.#log.warn(`strategy config: version unknown at first load (${describe(error)}); loading anyway`);
      }
      const registry = await this.#build(version);
      this.#install(registry, version);
      return registry;
    })();
    this.#initial = load;
    load.then(
      () => {
        this.#initial = undefined;
        this.#firstFailure = undefined;
      },
      (error: unknown) => {
        this.#initial = undefined;
        this.#firstFailure = { error, until: this.#now() + this.#retryAfterMs };
        this.#failed(error);
      },
    );
    return load;
  }

  /** One check: read the version, reload when it changed (or when forced). Never rejects. */
  async #refresh(force: boolean): Promise<void> {
    try {
      const version = await this.#readVersion();
      if (!force && this.#loadedVersion !== undefined && version === this.#loadedVersion) {
        this.#recovered();
        return;
      }
      const registry = await this.#build(version);
      const from = this.#registry?.version ?? null;
      this.#install(registry, version);
      this.#log.info(`strategy config: reloaded (version ${from ?? "none"} -> ${version ?? "none"})`);
    } catch (error) {
      this.#failed(error);
    }
  }

  #readVersion(): Promise<string | null> {
    return withTimeout(this.#versionSource.current(), this.#timeoutMs, "redis");
  }

  /**
   * The version is read before the load, never after: a bump that lands during the load then
   * shows up as a changed version at the next check, instead of being mistaken for what was loaded.
   */
  async #build(version: string | null | undefined): Promise<StrategyRegistry> {
    const snapshot = await withTimeout(this.#source.load(), this.#timeoutMs, "postgres");
    return new StrategyRegistry(snapshot, { version: version ?? null, log: this.#log });
  }

  #install(registry: StrategyRegistry, version: string | null | undefined): void {
    this.#registry = registry;
    this.#loadedVersion = version;
    this.#lastCheckAt = this.#now();
    this.#recovered();
  }

  #failed(error: unknown): void {
    if (this.#failing) return;
    this.#failing = true;
    const keeping = this.#registry ? `keeping version ${this.#registry.version ?? "none"}` : "no registry loaded yet";
    this.#log.warn(`strategy config: refresh failed (${describe(error)}); ${keeping}, retrying later`);
  }

  #recovered(): void {
    if (!this.#failing) return;
    this.#failing = false;
    this.#log.info("strategy config: refresh works again");
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
