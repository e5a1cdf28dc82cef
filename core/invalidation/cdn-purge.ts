/**
 * @module The CDN purge port of the invalidation fan-out: after an invalidation, ask the CDN in front of the
 * worker to drop its public copies of the affected resources. Best effort by design — cache entries carry
 * invalidation epochs, so a missed purge only delays fresh answers and holds memory longer; adapters report
 * CDN failures and never throw for them, so the invalidation completes even while the CDN is down.
 */
import { TimeoutError, withTimeout } from "../timeout.ts";
import { resourceTypeFromSlug } from "../types.ts";

export interface PurgeRequest {
  keys?: readonly string[];
  tags?: readonly string[];
}

export interface PurgeReport {
  /** Adapter name. */
  purger: string;
  /** HTTP calls made, retries and calls that timed out or failed included. */
  calls: number;
  /** URLs (keys, for the local purger) the CDN accepted. */
  purgedUrls: number;
  purgedTags: number;
  /** 429 answers seen. */
  rateLimited: number;
  retries: number;
  /** Given up on; the first 100 only, `failedCount` has the exact number (urls and tags). */
  failedUrls: string[];
  failedTags: string[];
  failedCount: number;
  /** Keys with no public URL, or tags the adapter cannot purge. */
  skipped: number;
}

export interface CdnPurger {
  readonly name: string;
  purge(req: PurgeRequest): Promise<PurgeReport>;
}

export type Sleep = (ms: number) => Promise<void>;

export interface CloudflarePurgerOptions {
  zoneId: string;
  apiToken: string;
  /** Origin (and optional path prefix) clients reach the worker at; purged URLs are built from it. */
  publicBaseUrl: string;
  /** Defaults to https://api.cloudflare.com/client/v4. */
  apiBaseUrl?: string;
  fetch?: typeof fetch;
  /** URLs or tags per call; Cloudflare accepts at most 100 of either. Defaults to 100. */
  maxPerCall?: number;
  /** Calls per chunk, the first included; 429s count. Defaults to 4. */
  maxAttempts?: number;
  /** Per call, reading the answer included. Defaults to 5000. */
  timeoutMs?: number;
  /** Cap on a server-requested Retry-After wait. Defaults to 30000. */
  maxRetryAfterMs?: number;
  sleep?: Sleep;
}

export interface LocalPurgerOptions {
  /** The dev worker run by `wrangler dev`. */
  workerUrl: string;
  adminKey: string;
  fetch?: typeof fetch;
  /** Defaults to 2000. */
  timeoutMs?: number;
  /** Defaults to 100. */
  maxPerCall?: number;
  sleep?: Sleep;
}

const CLOUDFLARE_MAX_PER_CALL = 100;
const MAX_LISTED_FAILURES = 100;
const DEFAULT_RETRY_AFTER_MS = 1000;
const BACKOFF_BASE_MS = 200;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The URLs at which the CDN may hold a public copy of a cache key. Only resource keys (`<slug>:<uuid>`) are served
 * publicly; generic `/v1/cache` keys need auth and are never publicly cached, so they have none.
 */
export function publicUrlsForKey(baseUrl: string, key: string): string[] {
  const colon = key.indexOf(":");
  if (colon < 0) return [];
  const slug = key.slice(0, colon);
  const id = key.slice(colon + 1);
  if (resourceTypeFromSlug(slug) === undefined || !UUID.test(id)) return [];
  return [`${baseUrl.replace(/\/+$/, "")}/v1/resources/${slug}/${id}`];
}

export class CloudflarePurger implements CdnPurger {
  readonly name = "cloudflare";
  readonly #endpoint: string;
  // Private fields: the token must not surface when the purger is logged or serialised.
  readonly #apiToken: string;
  readonly #publicBaseUrl: string;
  readonly #fetch: typeof fetch;
  readonly #maxPerCall: number;
  readonly #maxAttempts: number;
  readonly #timeoutMs: number;
  readonly #maxRetryAfterMs: number;
  readonly #sleep: Sleep;

  constructor(opts: CloudflarePurgerOptions) {
    requireText("zoneId", opts.zoneId);
    requireText("apiToken", opts.apiToken);
    requireHttpUrl("publicBaseUrl", opts.publicBaseUrl);
    const apiBaseUrl = opts.apiBaseUrl ?? "https://api.cloudflare.com/client/v4";
    requireHttpUrl("apiBaseUrl", apiBaseUrl);
    this.#endpoint = `${apiBaseUrl.replace(/\/+$/, "")}/zones/${encodeURIComponent(opts.zoneId)}/purge_cache`;
    this.#apiToken = opts.apiToken;
    this.#publicBaseUrl = opts.publicBaseUrl;
    this.#fetch = opts.fetch ?? defaultFetch;
    this.#maxPerCall = requireInt("maxPerCall", opts.maxPerCall ?? CLOUDFLARE_MAX_PER_CALL, 1, CLOUDFLARE_MAX_PER_CALL);
    this.#maxAttempts = requireInt("maxAttempts", opts.maxAttempts ?? 4, 1, 100);
    this.#timeoutMs = requirePositive("timeoutMs", opts.timeoutMs ?? 5000);
    this.#maxRetryAfterMs = requireNonNegative("maxRetryAfterMs", opts.maxRetryAfterMs ?? 30_000);
    this.#sleep = opts.sleep ?? defaultSleep;
  }

  async purge(req: PurgeRequest): Promise<PurgeReport> {
    const report = emptyReport(this.name);
    const urls = new Set<string>();
    for (const key of new Set(req.keys ?? [])) {
      const found = publicUrlsForKey(this.#publicBaseUrl, key);
      if (found.length === 0) report.skipped++;
      for (const url of found) urls.add(url);
    }
    const tags = uniqueNonEmpty(req.tags ?? [], report);
    // Files and tags are separate purge types in Cloudflare's API: one body carries one of them.
    const jobs: Job[] = [
      ...chunk([...urls], this.#maxPerCall).map((items): Job => ({ kind: "url", items, body: { files: items } })),
      ...chunk(tags, this.#maxPerCall).map((items): Job => ({ kind: "tag", items, body: { tags: items } })),
    ];
    await runJobs(jobs, report, {
      maxAttempts: this.#maxAttempts,
      sleep: this.#sleep,
      send: (job) => this.#send(job),
    });
    return report;
  }

  async #send(job: Job): Promise<Verdict> {
    const outcome = await postJson(this.#fetch, this.#endpoint, this.#apiToken, job.body, this.#timeoutMs);
    if (outcome.kind !== "answer") return { verdict: "retry", reason: outcome.detail };
    const { status, body } = outcome;
    if (status === 429) {
      const waitMs = retryAfterMs(outcome.retryAfter, this.#maxRetryAfterMs);
      return { verdict: "retry", reason: `HTTP 429${cloudflareErrors(body)}`, waitMs, rateLimited: true };
    }
    if (status >= 500) return { verdict: "retry", reason: `HTTP ${status}${cloudflareErrors(body)}` };
    if (status >= 200 && status < 300 && isRecord(body) && body.success === true) return { verdict: "accepted" };
    // Any other answer (4xx, success:false, a redirect) would be refused again for the same body.
    return { verdict: "refused", reason: `HTTP ${status}${cloudflareErrors(body)}`, status };
  }
}

/**
 * The dev stack's stand-in for the CDN: the worker under `wrangler dev` deletes the keys from its Cache API.
 * The Cache API has no tag purge, so tags are skipped.
 */
export class LocalPurger implements CdnPurger {
  readonly name = "local";
  readonly #endpoint: string;
  readonly #adminKey: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #maxPerCall: number;
  readonly #sleep: Sleep;

  constructor(opts: LocalPurgerOptions) {
    requireHttpUrl("workerUrl", opts.workerUrl);
    requireText("adminKey", opts.adminKey);
    this.#endpoint = `${opts.workerUrl.replace(/\/+$/, "")}/v1/admin/cdn-purge`;
    this.#adminKey = opts.adminKey;
    this.#fetch = opts.fetch ?? defaultFetch;
    this.#timeoutMs = requirePositive("timeoutMs", opts.timeoutMs ?? 2000);
    this.#maxPerCall = requireInt("maxPerCall", opts.maxPerCall ?? 100, 1, 100);
    this.#sleep = opts.sleep ?? defaultSleep;
  }

  async purge(req: PurgeRequest): Promise<PurgeReport> {
    const report = emptyReport(this.name);
    report.skipped += new Set(req.tags ?? []).size;
    const keys = uniqueNonEmpty(req.keys ?? [], report);
    const jobs = chunk(keys, this.#maxPerCall).map((items): Job => ({ kind: "url", items, body: { keys: items } }));
    await runJobs(jobs, report, {
      // One retry rides out a wrangler reload; a dev worker that stays down is reported, not waited for.
      maxAttempts: 2,
      sleep: this.#sleep,
      send: (job) => this.#send(job),
    });
    return report;
  }

  async #send(job: Job): Promise<Verdict> {
    const outcome = await postJson(this.#fetch, this.#endpoint, this.#adminKey, job.body, this.#timeoutMs);
    if (outcome.kind !== "answer") return { verdict: "retry", reason: outcome.detail };
    const { status, body } = outcome;
    if (status >= 500) return { verdict: "retry", reason: `HTTP ${status}` };
    if (status === 200 && isRecord(body) && typeof body.purged === "number") return { verdict: "accepted" };
    return { verdict: "refused", reason: `HTTP ${status}`, status };
  }
}

/** No CDN configured: nothing to purge, everything reported as skipped. */
export class NoopPurger implements CdnPurger {
  readonly name = "none";

  purge(req: PurgeRequest): Promise<PurgeReport> {
    const report = emptyReport(this.name);
    report.skipped = new Set(req.keys ?? []).size + new Set(req.tags ?? []).size;
    return Promise.resolve(report);
  }
}

const CLOUDFLARE_VARS = ["CLOUDFLARE_ZONE_ID", "CLOUDFLARE_API_TOKEN", "STRATA_PUBLIC_BASE_URL"] as const;

/**
 * Cloudflare when all of its variables are set, else the dev worker when it is configured, else none. A partial
 * Cloudflare configuration throws: silently purging nothing in production would look like a working setup.
 */
export function purgerFromEnv(env: Record<string, string | undefined>, fetchImpl?: typeof fetch): CdnPurger {
  const value = (name: string): string | undefined => env[name]?.trim() || undefined;
  const missing = CLOUDFLARE_VARS.filter((name) => value(name) === undefined);
  if (missing.length === 0) {
    return new CloudflarePurger({
      zoneId: value("CLOUDFLARE_ZONE_ID") as string,
      apiToken: value("CLOUDFLARE_API_TOKEN") as string,
      publicBaseUrl: value("STRATA_PUBLIC_BASE_URL") as string,
      ...(fetchImpl ? { fetch: fetchImpl } : {}),
    });
  }
  if (missing.length < CLOUDFLARE_VARS.length) {
    const present = CLOUDFLARE_VARS.filter((name) => !missing.includes(name));
    throw new Error(`CDN purge: ${missing.join(", ")} not set (${present.join(", ")} set); set all of ${CLOUDFLARE_VARS.join(", ")} or none`);
  }
  const workerUrl = value("STRATA_DEV_WORKER_URL");
  const adminKey = value("STRATA_ADMIN_KEY");
  if (workerUrl && adminKey) return new LocalPurger({ workerUrl, adminKey, ...(fetchImpl ? { fetch: fetchImpl } : {}) });
  return new NoopPurger();
}

// ── shared machinery ──────────────────────────────────────────────────────────────────────────────────────────

interface Job {
  kind: "url" | "tag";
  items: string[];
  body: Record<string, string[]>;
}

type Verdict =
  | { verdict: "accepted" }
  | { verdict: "retry"; reason: string; waitMs?: number; rateLimited?: boolean }
  | { verdict: "refused"; reason: string; status: number };

/**
 * Chunks go one after another: purges share one rate limit per zone, and a sequence keeps the worst case of an
 * outage bounded — once a chunk is given up on because the CDN is unreachable, rate limiting us, or refusing our
 * credentials, the remaining chunks are reported failed without calls, so the Lambda is not held for
 * `chunks × attempts × timeout`.
 */
async function runJobs(
  jobs: readonly Job[],
  report: PurgeReport,
  opts: { maxAttempts: number; sleep: Sleep; send: (job: Job) => Promise<Verdict> },
): Promise<void> {
  let stoppedBy: string | undefined;
  let notAttempted = 0;
  for (const job of jobs) {
    if (stoppedBy !== undefined) {
      recordFailure(report, job);
      notAttempted += job.items.length;
      continue;
    }
    for (let attempt = 1; ; attempt++) {
      report.calls++;
      const v = await opts.send(job);
      if (v.verdict === "accepted") {
        if (job.kind === "url") report.purgedUrls += job.items.length;
        else report.purgedTags += job.items.length;
        break;
      }
      if (v.verdict === "retry" && v.rateLimited) report.rateLimited++;
      if (v.verdict === "refused" || attempt >= opts.maxAttempts) {
        recordFailure(report, job);
        warn(report.purger, `cdn purge gave up on ${job.items.length} ${job.kind}s after ${attempt} call(s)`, v.reason);
        // Credentials or the endpoint itself are wrong, or the CDN is unavailable: later chunks would fare the same.
        if (v.verdict === "retry" || [401, 403, 404].includes(v.status)) stoppedBy = v.reason;
        break;
      }
      report.retries++;
      await opts.sleep(v.waitMs ?? backoffMs(attempt));
    }
  }
  if (notAttempted > 0) warn(report.purger, `cdn purge skipped calls for ${notAttempted} more urls/tags`, stoppedBy ?? "");
}

type Outcome =
  | { kind: "answer"; status: number; retryAfter: string | null; body: unknown }
  | { kind: "timeout" | "network"; detail: string };

/** One bounded POST, answer body included; transport failures come back as values, never thrown. */
async function postJson(fetchImpl: typeof fetch, url: string, bearer: string, payload: unknown, timeoutMs: number): Promise<Outcome> {
  const controller = new AbortController();
  try {
    const answer = await withTimeout(
      (async () => {
        const res = await fetchImpl(url, {
          method: "POST",
          headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify(payload),
          // A redirect is an error here, and following one could carry the bearer token to another host.
          redirect: "manual",
          signal: controller.signal,
        });
        return { status: res.status, retryAfter: res.headers.get("retry-after"), text: await res.text() };
      })(),
      timeoutMs,
      "cdn",
    );
    return { kind: "answer", status: answer.status, retryAfter: answer.retryAfter, body: parseJson(answer.text) };
  } catch (error) {
    if (error instanceof TimeoutError) return { kind: "timeout", detail: error.message };
    return { kind: "network", detail: describeError(error) };
  } finally {
    // Frees the connection of a call that timed out; a no-op for one that finished.
    controller.abort();
  }
}

/** Retry-After is delay-seconds or an HTTP-date (RFC 9110 §10.2.3); anything unreadable gets the default. */
export function retryAfterMs(header: string | null | undefined, maxMs: number, now: number = Date.now()): number {
  const value = header?.trim() ?? "";
  if (/^\d+$/.test(value)) return Math.min(Number(value) * 1000, maxMs);
  // Every HTTP-date form names its month; without the check V8's lenient Date.parse reads "-3" as a year.
  const at = /[a-z]{3}/i.test(value) ? Date.parse(value) : Number.NaN;
  return Math.min(Number.isFinite(at) ? Math.max(0, at - now) : DEFAULT_RETRY_AFTER_MS, maxMs);
}

/** 200 ms × 2^(n-1), half of it jittered so chunks retried by concurrent Lambdas spread out. */
function backoffMs(attempt: number): number {
  const full = BACKOFF_BASE_MS * 2 ** (attempt - 1);
  return Math.round(full / 2 + Math.random() * (full / 2));
}

function emptyReport(purger: string): PurgeReport {
  return {
    purger,
    calls: 0,
    purgedUrls: 0,
    purgedTags: 0,
    rateLimited: 0,
    retries: 0,
    failedUrls: [],
    failedTags: [],
    failedCount: 0,
    skipped: 0,
  };
}

function recordFailure(report: PurgeReport, job: Job): void {
  const list = job.kind === "url" ? report.failedUrls : report.failedTags;
  list.push(...job.items.slice(0, Math.max(0, MAX_LISTED_FAILURES - list.length)));
  report.failedCount += job.items.length;
}

/** Distinct values; empty strings are counted as skipped since no CDN accepts them (one would fail its chunk). */
function uniqueNonEmpty(values: readonly string[], report: PurgeReport): string[] {
  const unique = new Set(values);
  if (unique.delete("")) report.skipped++;
  return [...unique];
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** ` [code] message; …` from a Cloudflare API error body, bounded; empty when there is none. */
function cloudflareErrors(body: unknown): string {
  if (!isRecord(body) || !Array.isArray(body.errors) || body.errors.length === 0) return "";
  const parts = body.errors.slice(0, 3).map((e: unknown) => (isRecord(e) ? `[${String(e.code)}] ${String(e.message)}` : String(e)));
  return `: ${parts.join("; ")}`.slice(0, 300);
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // Node's fetch hides the socket error (ECONNREFUSED, …) in `cause`.
  const cause = (error as { cause?: unknown }).cause;
  const code = isRecord(cause) && typeof cause.code === "string" ? ` (${cause.code})` : "";
  return `${error.message}${code}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function warn(purger: string, msg: string, reason: string): void {
  console.warn(JSON.stringify({ level: "warn", msg, purger, reason }));
}

// Workers reject a `fetch` called with another `this`, so the global is wrapped rather than stored.
const defaultFetch: typeof fetch = (input, init) => fetch(input, init);

const defaultSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function requireText(name: string, value: unknown): void {
  if (typeof value !== "string" || value.trim() === "") throw new Error(`CDN purge: ${name} must be a non-empty string`);
}

function requireHttpUrl(name: string, value: unknown): void {
  requireText(name, value);
  let url: URL;
  try {
    url = new URL(value as string);
  } catch {
    throw new Error(`CDN purge: ${name} must be an absolute http(s) URL, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new Error(`CDN purge: ${name} must be an absolute http(s) URL, got ${JSON.stringify(value)}`);
  }
}

function requireInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`CDN purge: ${name} must be an integer in ${min}..${max}, got ${value}`);
  return value;
}

function requirePositive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`CDN purge: ${name} must be a positive number, got ${value}`);
  return value;
}

function requireNonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new Error(`CDN purge: ${name} must be a non-negative number, got ${value}`);
  return value;
}
