import { describe, expect, it } from "vitest";
import { TimeoutError, withTimeout } from "../../core/timeout.ts";

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
