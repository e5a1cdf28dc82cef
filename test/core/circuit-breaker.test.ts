import { describe, expect, it } from "vitest";
import { CircuitBreaker, CircuitOpenError, type CircuitBreakerOptions, type CircuitState } from "../../core/circuit-breaker.ts";
import { DependencyError } from "../../core/timeout.ts";

interface Harness {
  breaker: CircuitBreaker;
  clock: { now: number };
  transitions: Array<[CircuitState, CircuitState]>;
}

function harness(extra: Partial<CircuitBreakerOptions> = {}): Harness {
  const clock = { now: 1_000 };
  const transitions: Array<[CircuitState, CircuitState]> = [];
  const breaker = new CircuitBreaker({
    dependency: "redis",
    failureThreshold: 3,
    openMs: 1000,
    now: () => clock.now,
    onStateChange: (from, to) => transitions.push([from, to]),
    ...extra,
  });
  return { breaker, clock, transitions };
}

const ok = (): Promise<string> => Promise.resolve("ok");
const boom = (): Promise<never> => Promise.reject(new Error("boom"));

/** A call whose outcome the test decides later. */
function deferred(): { fn: () => Promise<string>; resolve: (v: string) => void; reject: (e: Error) => void; calls: () => number } {
  let resolve!: (v: string) => void;
  let reject!: (e: Error) => void;
  let calls = 0;
  const promise = new Promise<string>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return {
    fn: () => {
      calls++;
      return promise;
    },
    resolve,
    reject,
    calls: () => calls,
  };
}

async function trip(b: CircuitBreaker, times = 3): Promise<void> {
  for (let i = 0; i < times; i++) await b.run(boom).catch(() => undefined);
}

describe("CircuitBreaker", () => {
  it("passes values and errors through while closed", async () => {
    const { breaker } = harness();
    await expect(breaker.run(ok)).resolves.toBe("ok");
    await expect(breaker.run(boom)).rejects.toThrow("boom");
    expect(breaker.state).toBe("closed");
  });

  it("opens after failureThreshold consecutive failures", async () => {
    const { breaker, transitions } = harness();
    await trip(breaker, 2);
    expect(breaker.state).toBe("closed");
    await trip(breaker, 1);
    expect(breaker.state).toBe("open");
    expect(transitions).toEqual([["closed", "open"]]);
    expect(breaker.stats()).toMatchObject({ failures: 3, opens: 1, consecutiveFailures: 3, openedAt: 1_000 });
  });

  it("a success in between resets the consecutive count", async () => {
    const { breaker } = harness();
    await trip(breaker, 2);
    await breaker.run(ok);
    await trip(breaker, 2);
    expect(breaker.state).toBe("closed");
    expect(breaker.stats().consecutiveFailures).toBe(2);
  });

  it("while open, refuses at once with a CircuitOpenError naming the dependency, without calling fn", async () => {
    const { breaker, clock } = harness();
    await trip(breaker);
    clock.now += 400;
    let called = 0;
    const error = await breaker
      .run(() => {
        called++;
        return ok();
      })
      .catch((e: unknown) => e);
    expect(called).toBe(0);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as CircuitOpenError).dependency).toBe("redis");
    expect((error as CircuitOpenError).retryAt).toBe(2_000);
    expect(breaker.stats().rejections).toBe(1);
  });

  it("after openMs lets exactly one probe through; a success closes it", async () => {
    const { breaker, clock, transitions } = harness();
    await trip(breaker);
    clock.now += 1000;
    expect(breaker.state).toBe("half-open");
    const probe = deferred();
    const probeResult = breaker.run(probe.fn);
    // Everyone else is refused while the probe is out.
    const others = await Promise.all(Array.from({ length: 5 }, () => breaker.run(ok).catch((e: unknown) => e)));
    for (const e of others) expect(e).toBeInstanceOf(CircuitOpenError);
    expect(probe.calls()).toBe(1);
    probe.resolve("back");
    await expect(probeResult).resolves.toBe("back");
    expect(breaker.state).toBe("closed");
    await expect(breaker.run(ok)).resolves.toBe("ok");
    expect(transitions).toEqual([
      ["closed", "open"],
      ["open", "half-open"],
      ["half-open", "closed"],
    ]);
  });

  it("a failed probe re-opens it for another openMs", async () => {
    const { breaker, clock } = harness();
    await trip(breaker);
    clock.now += 1000;
    await expect(breaker.run(boom)).rejects.toThrow("boom");
    expect(breaker.state).toBe("open");
    expect(breaker.stats().opens).toBe(2);
    clock.now += 999;
    await expect(breaker.run(ok)).rejects.toBeInstanceOf(CircuitOpenError);
    clock.now += 1;
    await expect(breaker.run(ok)).resolves.toBe("ok");
    expect(breaker.state).toBe("closed");
  });

  it("ignores late outcomes of calls admitted before the state changed", async () => {
    const { breaker, clock } = harness();
    const slowSuccess = deferred();
    const slowFailure = deferred();
    const a = breaker.run(slowSuccess.fn);
    const b = breaker.run(slowFailure.fn);
    await trip(breaker);
    expect(breaker.state).toBe("open");
    // A success that was admitted while closed does not close an open breaker…
    slowSuccess.resolve("late");
    await a;
    expect(breaker.state).toBe("open");
    clock.now += 1000;
    await breaker.run(ok);
    expect(breaker.state).toBe("closed");
    // …and a failure admitted long ago does not count towards the next opening.
    slowFailure.reject(new Error("late"));
    await b.catch(() => undefined);
    expect(breaker.stats().consecutiveFailures).toBe(0);
    expect(breaker.stats()).toMatchObject({ successes: 2, failures: 4 });
  });

  it("counts a synchronous throw from fn as a failure", async () => {
    const { breaker } = harness({ failureThreshold: 1 });
    await expect(
      breaker.run(() => {
        throw new Error("sync");
      }),
    ).rejects.toThrow("sync");
    expect(breaker.state).toBe("open");
  });

  it("errors isFailure rejects count as the dependency answering", async () => {
    const { breaker } = harness({ failureThreshold: 1, isFailure: (e) => !(e instanceof RangeError) });
    await expect(breaker.run(() => Promise.reject(new RangeError("bad input")))).rejects.toThrow(RangeError);
    expect(breaker.state).toBe("closed");
    await trip(breaker, 1);
    expect(breaker.state).toBe("open");
  });

  it("a probe that never settles is considered lost after openMs, and its late outcome is ignored", async () => {
    const { breaker, clock } = harness();
    await trip(breaker);
    clock.now += 1000;
    const hung = deferred();
    void breaker.run(hung.fn).catch(() => undefined);
    clock.now += 999;
    await expect(breaker.run(ok)).rejects.toBeInstanceOf(CircuitOpenError);
    clock.now += 1;
    const second = deferred();
    const p = breaker.run(second.fn);
    expect(second.calls()).toBe(1);
    hung.reject(new Error("late"));
    await Promise.resolve();
    expect(breaker.state).toBe("half-open");
    second.resolve("ok");
    await p;
    expect(breaker.state).toBe("closed");
  });

  it("reset() closes it", async () => {
    const { breaker } = harness();
    await trip(breaker);
    breaker.reset();
    expect(breaker.state).toBe("closed");
    await expect(breaker.run(ok)).resolves.toBe("ok");
  });

  it("rejects nonsensical options", () => {
    expect(() => harness({ failureThreshold: 0 })).toThrow(RangeError);
    expect(() => harness({ openMs: 0 })).toThrow(RangeError);
    expect(() => harness({ openMs: Number.POSITIVE_INFINITY })).toThrow(RangeError);
  });
});
