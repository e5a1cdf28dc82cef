/**
 * @module The Workers Cache API as a Strata tier ("strata-cdn"): per-colo, shared by every
 * isolate of the worker in that location, addressed by synthetic URLs.
 *
 * The Cache API only honours whole seconds of `max-age`, so the exact expiry travels in a header
 * and is checked on read: a tier never serves past the envelope's own deadline.
 */
import type { Tier, TierEntry } from "../../core/tier.ts";
import { bounded } from "../../core/timeout.ts";

const EXPIRES_HEADER = "x-strata-expires-at";

export interface CacheApiTierOptions {
  /** Defaults to `caches.default`. */
  cache?: Cache;
  /** Synthetic origin of the cache URLs; never fetched. Distinct namespaces keep tests apart. */
  namespace?: string;
  timeoutMs?: number;
  now?: () => number;
}

export class CacheApiTier implements Tier {
  readonly id = "strata-cdn" as const;
  readonly #cache: Cache;
  readonly #base: string;
  readonly #timeoutMs: number;
  readonly #now: () => number;

  constructor(opts: CacheApiTierOptions = {}) {
    // The DOM lib's CacheStorage (also in scope for Node code) hides workers-types' `default`.
    this.#cache = opts.cache ?? (globalThis as unknown as { caches: { default: Cache } }).caches.default;
    this.#base = `https://${opts.namespace ?? "strata"}.cache.invalid/`;
    this.#timeoutMs = opts.timeoutMs ?? 1000;
    this.#now = opts.now ?? Date.now;
  }

  /** Any key (unicode, `/`, `?`, `#`, spaces) maps to one path segment. */
  url(key: string): string {
    return this.#base + encodeURIComponent(key);
  }

  async get(key: string): Promise<TierEntry | undefined> {
    const res = await bounded(() => this.#cache.match(this.url(key)), this.#timeoutMs, "cdn");
    if (!res) return undefined;
    const expiresAt = Number(res.headers.get(EXPIRES_HEADER));
    if (!Number.isFinite(expiresAt) || expiresAt <= this.#now()) {
      // Drain the body so the runtime can release it; the entry dies on its own max-age.
      await res.body?.cancel();
      return undefined;
    }
    return { bytes: new Uint8Array(await res.arrayBuffer()), expiresAt };
  }

  async set(key: string, entry: TierEntry): Promise<void> {
    const ttlSeconds = Math.ceil((entry.expiresAt - this.#now()) / 1000);
    if (ttlSeconds <= 0) return this.delete(key);
    // Tier bytes are never SharedArrayBuffer-backed; the cast only narrows the generic.
    const response = new Response(entry.bytes as Uint8Array<ArrayBuffer>, {
      headers: {
        "cache-control": `public, max-age=${ttlSeconds}`,
        "content-type": "application/octet-stream",
        [EXPIRES_HEADER]: String(entry.expiresAt),
      },
    });
    await bounded(() => this.#cache.put(this.url(key), response), this.#timeoutMs, "cdn");
  }

  async delete(key: string): Promise<void> {
    await bounded(() => this.#cache.delete(this.url(key)), this.#timeoutMs, "cdn");
  }
}
