/** The generic cache operations (cache-aside), `GET | PUT | DELETE /v1/cache/{key}`, in workerd. */
import { describe, expect, it } from "vitest";
import { parseCacheStatus } from "../../core/engine/cache-status.ts";
import { isolateState } from "../../edge/cache.ts";
import { call, createKey } from "./helpers.ts";

interface ErrorJson {
  error: { code: string; field?: string };
}

const json = { "content-type": "application/json" };

describe("/v1/cache/{key}", () => {
  it("round-trips a value: PUT stores it in every tier, GET reads it, DELETE removes it", async () => {
    const operator = await createKey("OPERATOR");
    const viewer = await createKey("VIEWER");
    const key = `search-results:${crypto.randomUUID()}`;
    const value = { query: "hiit 20 min", hits: [{ id: 1 }, { id: 2 }], note: "ünïcødé ✓" };

    const put = await call(`/v1/cache/${encodeURIComponent(key)}`, {
      method: "PUT",
      key: operator.key,
      headers: json,
      body: JSON.stringify({ value, ttl: 120, tags: ["search", "hiit"] }),
    });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ key, strategy: "search-results", ttl: 120, tags: ["search", "hiit"] });

    const got = await call(`/v1/cache/${encodeURIComponent(key)}`, { key: viewer.key });
    expect(got.status).toBe(200);
    expect(await got.json()).toMatchObject({ key, value, tags: ["search", "hiit"], strategy: "search-results" });
    expect(got.headers.get("cache-status")).toContain("strata-l1; hit");

    // Gone from isolate memory, still in L2 (PUT awaited it): served from there.
    isolateState()?.engine?.engine.l1.clear();
    const fromL2 = await call(`/v1/cache/${encodeURIComponent(key)}`, { key: viewer.key });
    expect(fromL2.status).toBe(200);
    const members = parseCacheStatus(fromL2.headers.get("cache-status") ?? "");
    expect(members.some((m) => m.params.hit === true && m.tier !== "strata-l1")).toBe(true);

    const del = await call(`/v1/cache/${encodeURIComponent(key)}`, { method: "DELETE", key: operator.key });
    expect(del.status).toBe(204);
    const after = await call(`/v1/cache/${encodeURIComponent(key)}`, { key: viewer.key });
    expect(after.status).toBe(404);
    expect(((await after.json()) as ErrorJson).error.field).toBe("path.key");
  });

  it("uses the default strategy for a key no pattern matches, and keeps slashes and colons in keys", async () => {
    const operator = await createKey("OPERATOR");
    const key = `tenant/42:report?week=${crypto.randomUUID()}`;
    const put = await call(`/v1/cache/${encodeURIComponent(key)}`, { method: "PUT", key: operator.key, headers: json, body: JSON.stringify({ value: [1, 2, 3] }) });
    expect(put.status).toBe(200);
    expect(((await put.json()) as { strategy: string }).strategy).toBe("default");
    const got = await call(`/v1/cache/${encodeURIComponent(key)}`, { key: operator.key });
    expect(((await got.json()) as { value: unknown }).value).toEqual([1, 2, 3]);
  });

  it("a miss is a 404 and never reaches the origin", async () => {
    const viewer = await createKey("VIEWER");
    const res = await call(`/v1/cache/workout:${crypto.randomUUID()}`, { key: viewer.key });
    expect(res.status).toBe(404);
    expect(res.headers.get("cache-status")).toContain("strata-l2; fwd=miss");
  });

  it("needs a key: any role may read, OPERATOR or ADMIN may write and delete", async () => {
    const viewer = await createKey("VIEWER");
    const path = `/v1/cache/x:${crypto.randomUUID()}`;
    expect((await call(path)).status).toBe(401);
    expect((await call(path, { method: "PUT", headers: json, body: JSON.stringify({ value: 1 }) })).status).toBe(401);
    expect((await call(path, { method: "PUT", key: viewer.key, headers: json, body: JSON.stringify({ value: 1 }) })).status).toBe(403);
    expect((await call(path, { method: "DELETE", key: viewer.key })).status).toBe(403);
  });

  it("rejects bad keys and bodies with a 400 naming the field", async () => {
    const operator = await createKey("OPERATOR");
    const put = (path: string, body: string) => call(path, { method: "PUT", key: operator.key, headers: json, body });
    const long = "k".repeat(501);
    const tooLong = await put(`/v1/cache/${long}`, JSON.stringify({ value: 1 }));
    expect(tooLong.status).toBe(400);
    expect(((await tooLong.json()) as ErrorJson).error.field).toBe("path.key");
    expect((await put(`/v1/cache/${"k".repeat(500)}`, JSON.stringify({ value: 1 }))).status).toBe(200);
    const ok = `/v1/cache/x:${crypto.randomUUID()}`;
    for (const [body, field] of [
      [JSON.stringify({}), "body.value"],
      [JSON.stringify({ value: 1, ttl: 0 }), "body.ttl"],
      [JSON.stringify({ value: 1, ttl: 1.5 }), "body.ttl"],
      [JSON.stringify({ value: 1, tags: ["has space"] }), "body.tags.0"],
      [JSON.stringify({ value: 1, extra: true }), "body"],
      ["not json", "body"],
    ] as const) {
      const res = await put(ok, body);
      expect(res.status, body).toBe(400);
      expect(((await res.json()) as ErrorJson).error.field, body).toBe(field);
    }
    const control = await call(`/v1/cache/${encodeURIComponent("bad\u0001key")}`, { key: operator.key });
    expect(control.status).toBe(400);
  });
});
