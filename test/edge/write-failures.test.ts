/**
 * Writes and invalidation requests when SQS or Redis does not answer (both pointed at a port that
 * accepts connections and never replies). The defined behaviour: nothing is acknowledged that is
 * not durable; a committed write is never reported as failed, and what could not follow it is
 * named in `strata-warning`.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { resources } from "../../db/schema/index.ts";
import { app } from "../../edge/index.ts";
import { createKey, db, testEnv } from "./helpers.ts";

const blackhole = `http://127.0.0.1:${testEnv.TEST_BLACKHOLE_PORT}`;
const sqsDown = { ...testEnv, SQS_ENDPOINT: blackhole, DEPENDENCY_TIMEOUT_MS: "500" };
const redisDown = { ...testEnv, UPSTASH_REDIS_REST_URL: blackhole, DEPENDENCY_TIMEOUT_MS: "500" };
let operator: string;

beforeAll(async () => {
  operator = (await createKey("OPERATOR")).key;
});

async function send(env: typeof testEnv, method: string, path: string, body?: unknown): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(`http://strata.test${path}`, { method, headers: { authorization: `Bearer ${operator}` }, ...(body ? { body: JSON.stringify(body) } : {}) }),
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

async function row(id: string) {
  const [r] = await db().select().from(resources).where(eq(resources.id, id));
  return r;
}

describe("SQS unavailable", () => {
  it("write-behind answers 503 and acknowledges nothing: no new version is readable", async () => {
    const id = crypto.randomUUID();
    await db().insert(resources).values({ id, resourceType: "ANALYTICS", payload: { v: "persisted" } });
    const res = await send(sqsDown, "PUT", `/v1/resources/analytics/${id}`, { payload: { v: "unacked" } });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { dependency: string } }).error.dependency).toBe("queue");
    const read = await send(testEnv, "GET", `/v1/resources/analytics/${id}`);
    expect(((await read.json()) as { payload: unknown }).payload).toEqual({ v: "persisted" });
  });

  it("a write-around still commits; the lost change event is named in strata-warning", async () => {
    const id = crypto.randomUUID();
    await db().insert(resources).values({ id, resourceType: "WORKOUT", payload: { v: 1 } });
    const res = await send(sqsDown, "PUT", `/v1/resources/workout/${id}`, { payload: { v: 2 } });
    expect(res.status).toBe(200);
    expect(res.headers.get("strata-warning")).toContain("change-event-not-queued");
    expect(await row(id)).toMatchObject({ version: 2, payload: { v: 2 } });
  });

  it("an invalidation request answers 503 and its log row says FAILED", async () => {
    const res = await send(sqsDown, "POST", "/v1/invalidations", { type: "TAG_BASED", tags: [`sqs-down-${crypto.randomUUID()}`], reason: "outage test" });
    expect(res.status).toBe(503);
    const rows = await db().execute(sql`select status, error from cache_invalidation_log where invalidation_reason = 'outage test' order by requested_at desc limit 1`);
    const r = rows.rows[0] as { status: string; error: string } | undefined;
    expect(r?.status).toBe("FAILED");
    expect(r?.error).toMatch(/epochs were bumped/);
  });
});

describe("Redis unavailable", () => {
  it("write-behind answers 503: without the version counter no write can be ordered", async () => {
    const res = await send(redisDown, "PUT", `/v1/resources/analytics/${crypto.randomUUID()}`, { payload: { v: 1 } });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { dependency: string } }).error.dependency).toBe("redis");
  });

  it("write-through commits and says the caches could not follow", async () => {
    const id = crypto.randomUUID();
    const res = await send(redisDown, "PUT", `/v1/resources/user-profile/${id}`, { payload: { name: "Grace" } });
    expect(res.status).toBe(201);
    expect(res.headers.get("strata-warning")).toContain("invalidation-pending");
    expect(await row(id)).toMatchObject({ version: 1, payload: { name: "Grace" } });
  });
});
