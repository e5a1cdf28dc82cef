import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../edge/index.ts";
import type { HealthReport } from "../../edge/routes/health.ts";
import { call, testEnv } from "./helpers.ts";

async function healthWith(overrides: Record<string, string | undefined>): Promise<{ status: number; body: HealthReport; ms: number }> {
  const ctx = createExecutionContext();
  const started = Date.now();
  const res = await app.fetch(new Request("http://strata.test/health"), { ...testEnv, ...overrides }, ctx);
  const ms = Date.now() - started;
  await waitOnExecutionContext(ctx);
  return { status: res.status, body: (await res.json()) as HealthReport, ms };
}

const hung = `http://127.0.0.1:${testEnv.TEST_BLACKHOLE_PORT}`;

// A refused connection makes workerd log "Network connection lost" as an uncaught exception even
// though the fetch rejection is handled (a plain caught fetch to a closed port logs it too).
describe("GET /health (workerd against real Postgres, Redis and fauxqs)", () => {
  it("answers 200 with the latency of every dependency when all are up", async () => {
    const res = await call("/health");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as HealthReport;
    expect(body.status).toBe("ok");
    expect(body.failing).toEqual([]);
    for (const name of ["postgres", "redis", "queue"] as const) {
      expect(body.checks[name].status).toBe("up");
      expect(body.checks[name].latencyMs).toBeGreaterThanOrEqual(0);
    }
  });

  // Each case is preceded by a healthy call, so no case passes because an earlier one left a
  // broken client behind.
  it.each([
    ["redis", "unavailable", { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9" }],
    ["redis", "unavailable", { UPSTASH_REDIS_REST_TOKEN: "wrong-token" }],
    ["redis", "misconfigured: binding UPSTASH_REDIS_REST_TOKEN", { UPSTASH_REDIS_REST_TOKEN: undefined }],
    ["queue", "unavailable", { SQS_ENDPOINT: "http://127.0.0.1:9" }],
    ["queue", "misconfigured: binding SQS_ENDPOINT", { SQS_ENDPOINT: "not a url" }],
    ["postgres", "unavailable", { DATABASE_URL: "postgres://nobody@127.0.0.1:9/none" }],
    ["postgres", "misconfigured: binding DATABASE_URL", { DATABASE_URL: undefined }],
  ] as const)("answers 503 naming %s (%s)", async (name, reason, overrides) => {
    expect((await healthWith({})).status).toBe(200);
    const { status, body } = await healthWith(overrides);
    expect(status).toBe(503);
    expect(body.status).toBe("down");
    expect(body.failing).toEqual([name]);
    expect(body.checks[name].error).toContain(reason);
  });

  it("bounds a dependency that accepts connections and never answers", async () => {
    const { status, body, ms } = await healthWith({ UPSTASH_REDIS_REST_URL: hung, SQS_ENDPOINT: hung, DEPENDENCY_TIMEOUT_MS: "300" });
    expect(status).toBe(503);
    expect(body.failing.sort()).toEqual(["queue", "redis"]);
    expect(body.checks.redis.error).toBe("timeout after 300 ms");
    expect(ms).toBeLessThan(2_000);
  });

  it("never exposes raw error text", async () => {
    const { body } = await healthWith({ DATABASE_URL: "postgres://secret-user@127.0.0.1:9/secret-db" });
    expect(JSON.stringify(body)).not.toMatch(/secret/);
  });
});
