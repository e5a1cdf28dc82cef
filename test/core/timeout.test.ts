import { describe, expect, it } from "vitest";
import { bounded, DependencyError, TimeoutError, withTimeout } from "../../core/timeout.ts";

describe("withTimeout", () => {
  it("passes a value through when work finishes in time", async () => {
    await expect(withTimeout(Promise.resolve(42), 100, "x")).resolves.toBe(42);
  });

  it("rejects with a TimeoutError naming the dependency when work hangs", async () => {
    const hang = new Promise<never>(() => {});
    const started = Date.now();
    const error = await withTimeout(hang, 50, "redis").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).dependency).toBe("redis");
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("passes the work's own error through", async () => {
    await expect(withTimeout(Promise.reject(new Error("boom")), 100, "x")).rejects.toThrow("boom");
  });
});

describe("bounded", () => {
  it("wraps a failure as a DependencyError naming the dependency and keeps the SQLSTATE", async () => {
    const pgError = Object.assign(new Error("duplicate key"), { code: "23505" });
    const wrapped = Object.assign(new Error("query failed"), { cause: pgError });
    const error = await bounded(() => Promise.reject(wrapped), 100, "postgres").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).dependency).toBe("postgres");
    expect((error as DependencyError).sqlState).toBe("23505");
  });

  it("reports a hang as a TimeoutError, itself a DependencyError", async () => {
    const error = await bounded(() => new Promise<never>(() => {}), 20, "redis").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toBeInstanceOf(DependencyError);
  });

  it("reports a client's own timeout signal firing first as a timeout, not as unavailable", async () => {
    // What fetch rejects with when its AbortSignal.timeout fires.
    const aborted = Promise.reject(new DOMException("The operation was aborted due to timeout", "TimeoutError"));
    const error = await bounded(() => aborted, 500, "redis").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).timeoutMs).toBe(500);
    const wrapped = await bounded(() => Promise.reject(new Error("fetch failed", { cause: new DOMException("late", "TimeoutError") })), 500, "postgres").catch((e: unknown) => e);
    expect(wrapped).toBeInstanceOf(TimeoutError);
    const refused = await bounded(() => Promise.reject(new Error("ECONNREFUSED")), 500, "postgres").catch((e: unknown) => e);
    expect(refused).not.toBeInstanceOf(TimeoutError);
  });
});
