import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
  CloudflarePurger,
  LocalPurger,
  NoopPurger,
  publicUrlsForKey,
  purgerFromEnv,
  retryAfterMs,
  type CloudflarePurgerOptions,
  type LocalPurgerOptions,
} from "../../core/invalidation/cdn-purge.ts";
import { RESOURCE_SLUGS } from "../../core/types.ts";

const TOKEN = "cf-secret-token-do-not-log";
const ADMIN_KEY = "strata_abcd1234_local-admin-secret";
const ZONE = "0123456789abcdef0123456789abcdef";
const PUBLIC = "https://cdn.strata.test";

interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: Record<string, unknown>;
}
type Responder = (res: ServerResponse, req: Recorded) => void;

/** Imitates Cloudflare's purge endpoint and the dev worker's: records every request, answers from a script. */
class FakeCdn {
  readonly requests: Recorded[] = [];
  /** Answers for the next requests, in order; then `fallback`. */
  script: Responder[] = [];
  fallback: Responder = ok;
  /** Requests whose connection the client closed before an answer was sent (a timed-out call it aborted). */
  abandoned = 0;
  #server: Server = createServer((req, res) => this.#handle(req, res));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    // Hanging answers keep their sockets open; close them so the server can stop.
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  reset(): void {
    this.requests.length = 0;
    this.script = [];
    this.fallback = ok;
    this.abandoned = 0;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    res.on("close", () => {
      if (!res.writableEnded) this.abandoned++;
    });
    req.on("end", () => {
      const recorded: Recorded = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>,
      };
      this.requests.push(recorded);
      (this.script.shift() ?? this.fallback)(res, recorded);
    });
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}
const ok: Responder = (res) => json(res, 200, { success: true, errors: [], messages: [], result: { id: "purge-1" } });
const rateLimited =
  (retryAfter?: string): Responder =>
  (res) =>
    json(res, 429, { success: false, errors: [{ code: 971, message: "Please wait and consider throttling your request speed" }] }, retryAfter === undefined ? {} : { "retry-after": retryAfter });
const serverError =
  (status = 500): Responder =>
  (res) =>
    json(res, status, { success: false, errors: [{ code: 10000, message: "internal" }] });
const badRequest: Responder = (res) => json(res, 400, { success: false, errors: [{ code: 1012, message: "Request must contain one of \"purge_everything\", \"files\", \"tags\"" }] });
const hang: Responder = () => {};
const localOk: Responder = (res, req) => json(res, 200, { purged: (req.body.keys as unknown[]).length });

const uuid = (n: number): string => `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
const workoutKeys = (count: number, from = 0): string[] => Array.from({ length: count }, (_, i) => `workout:${uuid(from + i)}`);
const workoutUrl = (n: number): string => `${PUBLIC}/v1/resources/workout/${uuid(n)}`;

const cdn = new FakeCdn();
let base = "";
let sleeps: number[] = [];
let warnings: string[] = [];
const sleep = (ms: number): Promise<void> => {
  sleeps.push(ms);
  return Promise.resolve();
};

beforeAll(async () => {
  base = await cdn.start();
});
afterAll(async () => {
  await cdn.stop();
});
beforeEach(() => {
  cdn.reset();
  sleeps = [];
  warnings = [];
  vi.spyOn(console, "warn").mockImplementation((...args: unknown[]) => {
    warnings.push(args.map(String).join(" "));
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  // The token must never be written to a log line, whatever happened.
  for (const line of warnings) {
    expect(line).not.toContain(TOKEN);
    expect(line).not.toContain(ADMIN_KEY);
  }
});

function cloudflare(opts: Partial<CloudflarePurgerOptions> = {}): CloudflarePurger {
  return new CloudflarePurger({ zoneId: ZONE, apiToken: TOKEN, publicBaseUrl: PUBLIC, apiBaseUrl: `${base}/client/v4`, sleep, ...opts });
}

function local(opts: Partial<LocalPurgerOptions> = {}): LocalPurger {
  return new LocalPurger({ workerUrl: base, adminKey: ADMIN_KEY, sleep, ...opts });
}

/** A port nothing listens on: a server bound then closed. */
async function closedPortUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

describe("publicUrlsForKey", () => {
  it("maps every resource slug's key to its public URL", () => {
    for (const slug of RESOURCE_SLUGS) {
      expect(publicUrlsForKey(PUBLIC, `${slug}:${uuid(7)}`)).toEqual([`${PUBLIC}/v1/resources/${slug}/${uuid(7)}`]);
    }
    expect(publicUrlsForKey(PUBLIC, `user-profile:${uuid(1)}`)).toEqual([`${PUBLIC}/v1/resources/user-profile/${uuid(1)}`]);
  });

  it("handles trailing slashes and a path prefix on the base URL", () => {
    expect(publicUrlsForKey(`${PUBLIC}/`, `workout:${uuid(1)}`)).toEqual([workoutUrl(1)]);
    expect(publicUrlsForKey(`${PUBLIC}//`, `workout:${uuid(1)}`)).toEqual([workoutUrl(1)]);
    expect(publicUrlsForKey(`${PUBLIC}/api/`, `media:${uuid(2)}`)).toEqual([`${PUBLIC}/api/v1/resources/media/${uuid(2)}`]);
  });

  it("gives no URL for keys that are not resource keys", () => {
    for (const key of [
      "",
      "workout",
      uuid(1),
      `recipe:${uuid(1)}`, // unknown slug
      `WORKOUT:${uuid(1)}`, // the type, not its slug
      `user_profile:${uuid(1)}`,
      "workout:not-a-uuid",
      `workout:${uuid(1)}:extra`,
      `workout:${uuid(1)}/x`,
      `:${uuid(1)}`,
      "session:abc", // generic /v1/cache keys need auth
      "cache:user:42",
    ]) {
      expect(publicUrlsForKey(PUBLIC, key), key).toEqual([]);
    }
  });
});

describe("retryAfterMs", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  it("reads delay-seconds and HTTP-dates, caps them, and defaults to 1 s", () => {
    expect(retryAfterMs("7", 30_000, now)).toBe(7000);
    expect(retryAfterMs("0", 30_000, now)).toBe(0);
    expect(retryAfterMs("120", 30_000, now)).toBe(30_000);
    expect(retryAfterMs("Thu, 01 Jan 2026 00:00:05 GMT", 30_000, now)).toBe(5000);
    expect(retryAfterMs("Wed, 31 Dec 2025 23:59:00 GMT", 30_000, now)).toBe(0);
    expect(retryAfterMs(null, 30_000, now)).toBe(1000);
    expect(retryAfterMs("soon", 30_000, now)).toBe(1000);
    expect(retryAfterMs("-3", 30_000, now)).toBe(1000);
    expect(retryAfterMs("1.5", 30_000, now)).toBe(1000);
    expect(retryAfterMs("Thursday, 01-Jan-26 00:00:02 GMT", 30_000, now)).toBe(2000);
    expect(retryAfterMs(null, 500, now)).toBe(500);
  });
});

describe("CloudflarePurger", () => {
  it("purges 250 URLs in 3 calls of at most 100, authenticated, to the zone's purge endpoint", async () => {
    const report = await cloudflare().purge({ keys: workoutKeys(250) });
    expect(report).toEqual({
      purger: "cloudflare",
      calls: 3,
      purgedUrls: 250,
      purgedTags: 0,
      rateLimited: 0,
      retries: 0,
      failedUrls: [],
      failedTags: [],
      failedCount: 0,
      skipped: 0,
    });
    expect(cdn.requests.map((r) => (r.body.files as string[]).length)).toEqual([100, 100, 50]);
    for (const r of cdn.requests) {
      expect(r.method).toBe("POST");
      expect(r.url).toBe(`/client/v4/zones/${ZONE}/purge_cache`);
      expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(r.headers["content-type"]).toBe("application/json");
      expect(Object.keys(r.body)).toEqual(["files"]);
    }
    const sent = cdn.requests.flatMap((r) => r.body.files as string[]);
    expect(sent).toEqual(Array.from({ length: 250 }, (_, i) => workoutUrl(i)));
  });

  it("sends files and tags in separate calls, never in one body", async () => {
    const tags = Array.from({ length: 150 }, (_, i) => `tag-${i}`);
    const report = await cloudflare().purge({ keys: workoutKeys(3), tags });
    expect(report.calls).toBe(3);
    expect(report.purgedUrls).toBe(3);
    expect(report.purgedTags).toBe(150);
    expect(cdn.requests.map((r) => Object.keys(r.body))).toEqual([["files"], ["tags"], ["tags"]]);
    expect(cdn.requests[0]?.body.files).toEqual([workoutUrl(0), workoutUrl(1), workoutUrl(2)]);
    expect(cdn.requests.slice(1).flatMap((r) => r.body.tags as string[])).toEqual(tags);
  });

  it("honours a smaller maxPerCall", async () => {
    const report = await cloudflare({ maxPerCall: 30 }).purge({ keys: workoutKeys(61) });
    expect(report.calls).toBe(3);
    expect(cdn.requests.map((r) => (r.body.files as string[]).length)).toEqual([30, 30, 1]);
  });

  it("dedupes keys and tags", async () => {
    const keys = [...workoutKeys(3), ...workoutKeys(3), `workout:${uuid(0)}`];
    const report = await cloudflare().purge({ keys, tags: ["a", "b", "a", "b", "c"] });
    expect(report.calls).toBe(2);
    expect(report.purgedUrls).toBe(3);
    expect(report.purgedTags).toBe(3);
    expect(report.skipped).toBe(0);
    expect(cdn.requests[0]?.body.files).toEqual([workoutUrl(0), workoutUrl(1), workoutUrl(2)]);
    expect(cdn.requests[1]?.body.tags).toEqual(["a", "b", "c"]);
  });

  it("skips keys that have no public URL, and makes no call when nothing is left", async () => {
    const report = await cloudflare().purge({ keys: ["session:abc", "cache:user:42", `recipe:${uuid(1)}`, "session:abc"] });
    expect(report.skipped).toBe(3);
    expect(report.calls).toBe(0);
    expect(cdn.requests).toHaveLength(0);

    const mixed = await cloudflare().purge({ keys: ["session:abc", `exercise:${uuid(5)}`], tags: ["", "t"] });
    expect(mixed.skipped).toBe(2); // the generic key and the empty tag
    expect(mixed.purgedUrls).toBe(1);
    expect(mixed.purgedTags).toBe(1);
    expect(cdn.requests[0]?.body.files).toEqual([`${PUBLIC}/v1/resources/exercise/${uuid(5)}`]);
  });

  it("waits Retry-After seconds after a 429, then retries", async () => {
    cdn.script = [rateLimited("7")];
    const report = await cloudflare().purge({ keys: workoutKeys(2) });
    expect(sleeps).toEqual([7000]);
    expect(report).toMatchObject({ calls: 2, rateLimited: 1, retries: 1, purgedUrls: 2, failedCount: 0 });
    expect(cdn.requests[1]?.body).toEqual(cdn.requests[0]?.body);
  });

  it("reads an HTTP-date Retry-After, caps long waits and defaults to 1 s", async () => {
    const inFourSeconds = new Date(Date.now() + 4000).toUTCString();
    cdn.script = [rateLimited(inFourSeconds), rateLimited("3600"), rateLimited()];
    const report = await cloudflare({ maxRetryAfterMs: 10_000 }).purge({ tags: ["t"] });
    expect(report).toMatchObject({ calls: 4, rateLimited: 3, retries: 3, purgedTags: 1, failedCount: 0 });
    expect(sleeps).toHaveLength(3);
    // An HTTP-date has whole seconds: the wait is between 3 and 4 s from now.
    expect(sleeps[0]).toBeGreaterThan(2000);
    expect(sleeps[0]).toBeLessThanOrEqual(4000);
    expect(sleeps.slice(1)).toEqual([10_000, 1000]);
  });

  it("gives up when 429s outlast maxAttempts", async () => {
    cdn.fallback = rateLimited("1");
    const report = await cloudflare({ maxAttempts: 3 }).purge({ keys: workoutKeys(1) });
    expect(report).toMatchObject({ calls: 3, rateLimited: 3, retries: 2, purgedUrls: 0, failedUrls: [workoutUrl(0)], failedCount: 1 });
    expect(sleeps).toEqual([1000, 1000]);
  });

  it("retries a 5xx with backoff, then succeeds", async () => {
    cdn.script = [serverError(502), serverError(503)];
    const report = await cloudflare().purge({ keys: workoutKeys(5) });
    expect(report).toMatchObject({ calls: 3, retries: 2, rateLimited: 0, purgedUrls: 5, failedCount: 0 });
    expect(sleeps).toHaveLength(2);
    expect(sleeps[0]).toBeGreaterThanOrEqual(100);
    expect(sleeps[0]).toBeLessThanOrEqual(200);
    expect(sleeps[1]).toBeGreaterThanOrEqual(200);
    expect(sleeps[1]).toBeLessThanOrEqual(400);
  });

  it("reports a chunk failed after maxAttempts of 5xx, without throwing", async () => {
    cdn.fallback = serverError(500);
    const report = await cloudflare().purge({ keys: workoutKeys(3) });
    expect(report).toEqual({
      purger: "cloudflare",
      calls: 4,
      purgedUrls: 0,
      purgedTags: 0,
      rateLimited: 0,
      retries: 3,
      failedUrls: [workoutUrl(0), workoutUrl(1), workoutUrl(2)],
      failedTags: [],
      failedCount: 3,
      skipped: 0,
    });
    expect(sleeps).toHaveLength(3);
    expect(sleeps[2]).toBeGreaterThanOrEqual(400);
    expect(sleeps[2]).toBeLessThanOrEqual(800);
    expect(warnings.some((w) => w.includes("HTTP 500"))).toBe(true);
  });

  it("stops calling once the CDN is unavailable: later chunks are failed without calls, the list capped at 100", async () => {
    cdn.fallback = serverError(503);
    const report = await cloudflare({ maxAttempts: 2 }).purge({ keys: workoutKeys(250), tags: ["a", "b"] });
    expect(report.calls).toBe(2);
    expect(report.retries).toBe(1);
    expect(report.failedCount).toBe(252);
    expect(report.failedUrls).toHaveLength(100);
    expect(report.failedUrls[0]).toBe(workoutUrl(0));
    expect(report.failedTags).toEqual(["a", "b"]);
    expect(report.purgedUrls + report.purgedTags).toBe(0);
  });

  it("does not retry a 400, and goes on with the next chunk", async () => {
    cdn.script = [badRequest];
    const report = await cloudflare().purge({ keys: workoutKeys(2), tags: ["t"] });
    expect(report).toMatchObject({ calls: 2, retries: 0, purgedUrls: 0, purgedTags: 1, failedUrls: [workoutUrl(0), workoutUrl(1)], failedCount: 2 });
    expect(sleeps).toEqual([]);
    expect(warnings.some((w) => w.includes("[1012]"))).toBe(true);
  });

  it("does not retry a 200 with success:false", async () => {
    cdn.script = [(res) => json(res, 200, { success: false, errors: [{ code: 1100, message: "nope" }] })];
    const report = await cloudflare().purge({ tags: ["t"] });
    expect(report).toMatchObject({ calls: 1, retries: 0, purgedTags: 0, failedTags: ["t"], failedCount: 1 });
  });

  it("stops after a 403 (bad token): every later chunk would be refused too", async () => {
    cdn.fallback = (res) => json(res, 403, { success: false, errors: [{ code: 10000, message: "Authentication error" }] });
    const report = await cloudflare().purge({ keys: workoutKeys(150) });
    expect(report).toMatchObject({ calls: 1, retries: 0, failedCount: 150 });
    expect(report.failedUrls).toHaveLength(100);
  });

  it("times out a hanging call and retries it", async () => {
    cdn.script = [hang];
    const started = Date.now();
    const report = await cloudflare({ timeoutMs: 150 }).purge({ keys: workoutKeys(1) });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(report).toMatchObject({ calls: 2, retries: 1, purgedUrls: 1, failedCount: 0 });
    expect(cdn.requests).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
    // The timed-out call was aborted, not left holding a connection for the Lambda's lifetime.
    await vi.waitFor(() => expect(cdn.abandoned).toBe(1), { timeout: 1000 });
  });

  it("reports a CDN that never answers as failed after maxAttempts timeouts", async () => {
    cdn.fallback = hang;
    const report = await cloudflare({ timeoutMs: 100, maxAttempts: 2 }).purge({ keys: workoutKeys(1) });
    expect(report).toMatchObject({ calls: 2, retries: 1, purgedUrls: 0, failedUrls: [workoutUrl(0)], failedCount: 1 });
    expect(warnings.some((w) => w.includes("did not answer within 100 ms"))).toBe(true);
  });

  it("reports an unreachable CDN as failed after maxAttempts, without throwing", async () => {
    const report = await cloudflare({ apiBaseUrl: await closedPortUrl(), maxAttempts: 3 }).purge({ keys: workoutKeys(1), tags: ["t"] });
    expect(report).toMatchObject({ calls: 3, retries: 2, purgedUrls: 0, failedCount: 2, failedUrls: [workoutUrl(0)], failedTags: ["t"] });
  });

  it("does not follow redirects (the token stays with the API host)", async () => {
    cdn.script = [(res) => json(res, 307, {}, { location: "http://127.0.0.1:1/elsewhere" })];
    const report = await cloudflare().purge({ tags: ["t"] });
    expect(report).toMatchObject({ calls: 1, retries: 0, failedTags: ["t"], failedCount: 1 });
    expect(cdn.requests).toHaveLength(1);
  });

  it("keeps the token out of the purger's enumerable state", () => {
    const purger = cloudflare();
    expect(JSON.stringify(purger)).not.toContain(TOKEN);
    expect(Object.values(purger).join(" ")).not.toContain(TOKEN);
  });

  it("rejects bad options", () => {
    expect(() => cloudflare({ maxPerCall: 101 })).toThrow(/maxPerCall/);
    expect(() => cloudflare({ maxPerCall: 0 })).toThrow(/maxPerCall/);
    expect(() => cloudflare({ maxPerCall: 2.5 })).toThrow(/maxPerCall/);
    expect(() => cloudflare({ maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => cloudflare({ timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => cloudflare({ maxRetryAfterMs: -1 })).toThrow(/maxRetryAfterMs/);
    expect(() => cloudflare({ apiToken: "" })).toThrow(/apiToken/);
    expect(() => cloudflare({ zoneId: " " })).toThrow(/zoneId/);
    expect(() => cloudflare({ publicBaseUrl: "cdn.strata.test" })).toThrow(/publicBaseUrl/);
    expect(() => cloudflare({ apiBaseUrl: "ftp://x" })).toThrow(/apiBaseUrl/);
  });
});

describe("LocalPurger", () => {
  it("posts keys in chunks of at most 100 to the dev worker with the admin key, and skips tags", async () => {
    cdn.fallback = localOk;
    const keys = [...workoutKeys(240), "session:abc", "cache:user:42", ...workoutKeys(10)];
    const report = await local().purge({ keys, tags: ["a", "b", "a"] });
    expect(report).toEqual({
      purger: "local",
      calls: 3,
      purgedUrls: 242,
      purgedTags: 0,
      rateLimited: 0,
      retries: 0,
      failedUrls: [],
      failedTags: [],
      failedCount: 0,
      skipped: 2,
    });
    expect(cdn.requests.map((r) => (r.body.keys as string[]).length)).toEqual([100, 100, 42]);
    for (const r of cdn.requests) {
      expect(r.method).toBe("POST");
      expect(r.url).toBe("/v1/admin/cdn-purge");
      expect(r.headers.authorization).toBe(`Bearer ${ADMIN_KEY}`);
      expect(Object.keys(r.body)).toEqual(["keys"]);
    }
    // The worker's Cache API holds generic keys too, so the local purge sends every key.
    expect(cdn.requests.flatMap((r) => r.body.keys as string[])).toEqual([...workoutKeys(240), "session:abc", "cache:user:42"]);
  });

  it("makes no call for tags alone", async () => {
    const report = await local().purge({ tags: ["a"] });
    expect(report).toMatchObject({ calls: 0, skipped: 1, purgedTags: 0 });
  });

  it("retries a 5xx once", async () => {
    cdn.script = [serverError(500)];
    cdn.fallback = localOk;
    const report = await local().purge({ keys: workoutKeys(1) });
    expect(report).toMatchObject({ calls: 2, retries: 1, purgedUrls: 1, failedCount: 0 });
    expect(sleeps).toHaveLength(1);
  });

  it("reports a worker that keeps failing, after one retry, without throwing", async () => {
    cdn.fallback = serverError(500);
    const report = await local().purge({ keys: workoutKeys(150) });
    // The first chunk fails twice; the second is not attempted.
    expect(report).toMatchObject({ calls: 2, retries: 1, purgedUrls: 0, failedCount: 150 });
    expect(report.failedUrls).toHaveLength(100);
  });

  it("does not retry a 401 (wrong admin key)", async () => {
    cdn.fallback = (res) => json(res, 401, { error: { code: "unauthorized" } });
    const report = await local().purge({ keys: workoutKeys(1) });
    expect(report).toMatchObject({ calls: 1, retries: 0, failedUrls: [`workout:${uuid(0)}`], failedCount: 1 });
  });

  it("treats a 200 without a purged count as a failure (not the purge endpoint)", async () => {
    cdn.fallback = (res) => json(res, 200, { ok: true });
    const report = await local().purge({ keys: workoutKeys(1) });
    expect(report).toMatchObject({ calls: 1, purgedUrls: 0, failedCount: 1 });
  });

  it("reports a dev worker that is not running", async () => {
    const report = await local({ workerUrl: await closedPortUrl() }).purge({ keys: workoutKeys(1) });
    expect(report).toMatchObject({ calls: 2, retries: 1, purgedUrls: 0, failedCount: 1 });
  });

  it("times out a hanging worker", async () => {
    cdn.fallback = hang;
    const report = await local({ timeoutMs: 100 }).purge({ keys: workoutKeys(1) });
    expect(report).toMatchObject({ calls: 2, retries: 1, failedCount: 1 });
  });

  it("rejects bad options", () => {
    expect(() => local({ maxPerCall: 101 })).toThrow(/maxPerCall/);
    expect(() => local({ adminKey: "" })).toThrow(/adminKey/);
    expect(() => local({ workerUrl: "localhost:8787" })).toThrow(/workerUrl/);
  });
});

describe("NoopPurger", () => {
  it("purges nothing and reports everything skipped", async () => {
    const report = await new NoopPurger().purge({ keys: [...workoutKeys(3), "session:x", `workout:${uuid(0)}`], tags: ["a", "b"] });
    expect(report).toEqual({
      purger: "none",
      calls: 0,
      purgedUrls: 0,
      purgedTags: 0,
      rateLimited: 0,
      retries: 0,
      failedUrls: [],
      failedTags: [],
      failedCount: 0,
      skipped: 6,
    });
  });
});

describe("purgerFromEnv", () => {
  const cf = { CLOUDFLARE_ZONE_ID: ZONE, CLOUDFLARE_API_TOKEN: TOKEN, STRATA_PUBLIC_BASE_URL: PUBLIC };
  const dev = { STRATA_DEV_WORKER_URL: "http://127.0.0.1:8787", STRATA_ADMIN_KEY: ADMIN_KEY };

  it("picks Cloudflare when all three variables are set, even with the dev worker configured", async () => {
    const calls: Array<{ url: string; auth: string | null; body: unknown }> = [];
    const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
      calls.push({ url: String(input), auth: new Headers(init?.headers).get("authorization"), body: JSON.parse(String(init?.body)) });
      return Response.json({ success: true, errors: [] });
    }) as typeof fetch;
    const purger = purgerFromEnv({ ...cf, ...dev }, fetchImpl);
    expect(purger.name).toBe("cloudflare");
    const report = await purger.purge({ keys: workoutKeys(1) });
    expect(report.purgedUrls).toBe(1);
    expect(calls).toEqual([
      { url: `https://api.cloudflare.com/client/v4/zones/${ZONE}/purge_cache`, auth: `Bearer ${TOKEN}`, body: { files: [workoutUrl(0)] } },
    ]);
  });

  it("picks the dev worker when Cloudflare is not configured", async () => {
    const seen: string[] = [];
    const fetchImpl = (async (input: RequestInfo | URL) => {
      seen.push(String(input));
      return Response.json({ purged: 1 });
    }) as typeof fetch;
    const purger = purgerFromEnv(dev, fetchImpl);
    expect(purger.name).toBe("local");
    expect((await purger.purge({ keys: ["k"] })).purgedUrls).toBe(1);
    expect(seen).toEqual(["http://127.0.0.1:8787/v1/admin/cdn-purge"]);
  });

  it("falls back to none", () => {
    expect(purgerFromEnv({}).name).toBe("none");
    expect(purgerFromEnv({ STRATA_DEV_WORKER_URL: "http://127.0.0.1:8787" }).name).toBe("none");
    expect(purgerFromEnv({ STRATA_ADMIN_KEY: ADMIN_KEY, CLOUDFLARE_ZONE_ID: "", CLOUDFLARE_API_TOKEN: "  " }).name).toBe("none");
  });

  it("throws naming the missing variable when Cloudflare is partly configured, without echoing the token", () => {
    expect(() => purgerFromEnv({ ...cf, CLOUDFLARE_API_TOKEN: undefined })).toThrow(/CLOUDFLARE_API_TOKEN/);
    expect(() => purgerFromEnv({ ...cf, CLOUDFLARE_ZONE_ID: "" })).toThrow(/CLOUDFLARE_ZONE_ID/);
    expect(() => purgerFromEnv({ ...cf, STRATA_PUBLIC_BASE_URL: undefined, ...dev })).toThrow(/STRATA_PUBLIC_BASE_URL/);
    let message = "";
    try {
      purgerFromEnv({ CLOUDFLARE_API_TOKEN: TOKEN });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/CLOUDFLARE_ZONE_ID, STRATA_PUBLIC_BASE_URL not set/);
    expect(message).not.toContain(TOKEN);
  });
});
