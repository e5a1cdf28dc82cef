import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../edge/index.ts";
import type { HealthReport } from "../../edge/routes/health.ts";
import { call, testEnv } from "./helpers.ts";

async function healthWith(overrides: Partial<typeof testEnv>): Promise<{ status: number; body: HealthReport }> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request("http://strata.test/health"), { ...testEnv, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return { status: res.status, body: (await res.json()) as HealthReport };
}

// A refused connection makes workerd log "Network connection lost" as an uncaught exception even
// though the fetch rejection is handled (a plain caught fetch to a closed port logs it too).
describe("GET /health (workerd against real Postgres, Redis and fauxqs)", () => {
  it("answers 200 with the latency of every dependency when all are up", async () => {
    const res = await call("/health");
    expect(res.status).toBe(200);
    const body = (await res.json()) as HealthReport;
    expect(body.status).toBe("ok");
    expect(body.failing).toEqual([]);
    for (const name of ["postgres", "redis", "queue"] as const) {
      expect(body.checks[name].status).toBe("up");
      expect(body.checks[name].latencyMs).toBeGreaterThanOrEqual(0);
    }
  });

  it.each([
    ["redis", { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9" }],
    ["redis", { UPSTASH_REDIS_REST_TOKEN: "wrong-token" }],
    ["queue", { SQS_ENDPOINT: "http://127.0.0.1:9" }],
    ["postgres", { DATABASE_URL: "postgres://nobody@127.0.0.1:9/none" }],
  ] as const)("answers 503 naming %s when it is down", async (name, overrides) => {
    const { status, body } = await healthWith(overrides);
    expect(status).toBe(503);
    expect(body.status).toBe("down");
    expect(body.failing).toEqual([name]);
    expect(body.checks[name].error).toBeTruthy();
  });
});
