import { describe, expect, it } from "vitest";
import { SingleFlight } from "../../core/single-flight.ts";

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("SingleFlight", () => {
  it("shares one load among concurrent callers of one key", async () => {
    const sf = new SingleFlight<string, number>();
    const d = deferred<number>();
    let loads = 0;
    const fn = (): Promise<number> => {
      loads++;
      return d.promise;
    };
    const calls = Array.from({ length: 100 }, () => sf.do("k", fn));
    expect(loads).toBe(1);
    expect(sf.has("k")).toBe(true);
    d.resolve(7);
    expect(await Promise.all(calls)).toEqual(Array(100).fill(7));
    expect(sf.stats()).toEqual({ started: 1, joined: 99, inflight: 0 });
  });

  it("keeps different keys apart", async () => {
    const sf = new SingleFlight<string, string>();
    const [a, b] = await Promise.all([sf.do("a", async () => "A"), sf.do("b", async () => "B")]);
    expect([a, b]).toEqual(["A", "B"]);
  });

  it("forgets a flight once it succeeds, so the next call loads again", async () => {
    const sf = new SingleFlight<string, number>();
    let loads = 0;
    const fn = async (): Promise<number> => ++loads;
    expect(await sf.do("k", fn)).toBe(1);
    expect(sf.size).toBe(0);
    expect(await sf.do("k", fn)).toBe(2);
  });

  it("shares a failure with every caller of the flight, then forgets it", async () => {
    const sf = new SingleFlight<string, number>();
    const d = deferred<number>();
    const calls = [sf.do("k", () => d.promise), sf.do("k", () => d.promise)];
    d.reject(new Error("origin down"));
    for (const c of calls) await expect(c).rejects.toThrow("origin down");
    expect(sf.has("k")).toBe(false);
    await expect(sf.do("k", async () => 1)).resolves.toBe(1);
  });

  it("is already clear when a caller's continuation runs", async () => {
    const sf = new SingleFlight<string, number>();
    const seen = await sf.do("k", async () => 1).then(() => sf.has("k"));
    expect(seen).toBe(false);
    const seenAfterError = await sf
      .do("k", async () => {
        throw new Error("x");
      })
      .catch(() => sf.has("k"));
    expect(seenAfterError).toBe(false);
  });

  it("rejects a synchronous throw for that caller only and registers nothing", async () => {
    const sf = new SingleFlight<string, number>();
    const call = sf.do("k", () => {
      throw new Error("sync");
    });
    expect(sf.has("k")).toBe(false);
    await expect(call).rejects.toThrow("sync");
  });

  it("forget() detaches a flight: its callers keep its result, new callers start fresh", async () => {
    const sf = new SingleFlight<string, string>();
    const old = deferred<string>();
    const first = sf.do("k", () => old.promise);
    expect(sf.forget("k")).toBe(true);
    const fresh = deferred<string>();
    const second = sf.do("k", () => fresh.promise);
    const joined = sf.do("k", () => Promise.resolve("never"));
    old.resolve("old");
    await first;
    // The old flight settling must not remove the new one.
    expect(sf.has("k")).toBe(true);
    fresh.resolve("new");
    expect(await Promise.all([first, second, joined])).toEqual(["old", "new", "new"]);
    expect(sf.size).toBe(0);
  });

  it("accepts non-string keys", async () => {
    const sf = new SingleFlight<number, string>();
    await expect(sf.do(1, async () => "one")).resolves.toBe("one");
  });
});
