import { randomBytes } from "node:crypto";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { Redis, type RedisConfigNodejs } from "@upstash/redis";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CircuitBreaker, CircuitOpenError } from "../../core/circuit-breaker.ts";
import type { TierEntry } from "../../core/tier.ts";
import { RedisTier, REDIS_TIER_SCRIPTS, type Lease, type RedisLike, type RedisTierOptions } from "../../core/tiers/redis.ts";
import { DependencyError, TimeoutError } from "../../core/timeout.ts";
import { defineTierSuite, expectBytes, expectEntry, pseudoRandomBytes } from "../tier-suite.ts";

const upstashUrl = inject("upstashUrl");
const upstashToken = inject("upstashToken");
const redisUrl = inject("redisUrl");
/** Everything this file writes lives under it; removed with SCAN + DEL at the end. */
const filePrefix = `test:tier-redis:${randomBytes(6).toString("hex")}:`;
let prefixCounter = 0;
const freshPrefix = (): string => `${filePrefix}${prefixCounter++}:`;

let direct: IORedis;
const clients: Redis[] = [];

function upstash(extra: Partial<RedisConfigNodejs> = {}, url = upstashUrl): Redis {
  const client = new Redis({ url, token: upstashToken, enableTelemetry: false, ...extra });
  clients.push(client);
  return client;
}

function tierOver(client: RedisLike, extra: Partial<RedisTierOptions> = {}): RedisTier {
  return new RedisTier({ client, keyPrefix: freshPrefix(), timeoutMs: 2000, ...extra });
}

beforeAll(() => {
  direct = new IORedis(redisUrl, { protocol: 2 });
});

afterAll(async () => {
  let cursor = "0";
  do {
    const [next, keys] = await direct.scan(cursor, "MATCH", `${filePrefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await direct.del(...keys);
  } while (cursor !== "0");
  direct.disconnect();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const entryFor = (bytes: Uint8Array, ttlMs = 60_000): TierEntry => ({ bytes, expiresAt: Date.now() + ttlMs });

// The real client must be usable where a RedisLike is expected, with and without auto-pipelining.
const assignable: (r: Redis) => RedisLike = (r) => r;
void assignable;

defineTierSuite("RedisTier (auto-pipelining, base64 responses, injected clock)", async () => {
  let t = Date.now();
  const clock = { now: () => t, advance: (ms: number) => void (t += ms) };
  return { tier: tierOver(upstash(), { now: clock.now }), clock, cleanup: async () => undefined };
});

// Real time: Redis' own PX and the tier's check against Date.now, over the other wire variant.
defineTierSuite("RedisTier (one request per command, plain JSON responses, real clock)", async () => ({
  tier: tierOver(upstash({ enableAutoPipelining: false, responseEncoding: false })),
  cleanup: async () => undefined,
}));

describe("RedisTier storage", () => {
  it("stores `s1:<expiresAt>:<base64>` under <prefix>v:<key> with a PX matching expiresAt", async () => {
    const tier = tierOver(upstash());
    const entry = entryFor(Uint8Array.of(0, 1, 254, 255), 5000);
    await tier.set("a:b", entry);
    expect(tier.valueKey("a:b")).toBe(`${tier.keyPrefix}v:a:b`);
    expect(tier.leaseKey("a:b")).toBe(`${tier.keyPrefix}lease:a:b`);
    expect(await direct.get(tier.valueKey("a:b"))).toBe(`s1:${entry.expiresAt}:AAH+/w==`);
    const pttl = await direct.pttl(tier.valueKey("a:b"));
    expect(pttl).toBeGreaterThan(4500);
    expect(pttl).toBeLessThanOrEqual(5000);
  });

  it("lets Redis drop the value itself at expiresAt", async () => {
    const tier = tierOver(upstash());
    await tier.set("short", entryFor(Uint8Array.of(1), 150));
    expect(await direct.exists(tier.valueKey("short"))).toBe(1);
    await sleep(250);
    expect(await direct.exists(tier.valueKey("short"))).toBe(0);
  });

  it("keeps an entry that never expires without a TTL", async () => {
    const tier = tierOver(upstash());
    await tier.set("forever", { bytes: Uint8Array.of(5), expiresAt: Infinity });
    expect(await direct.pttl(tier.valueKey("forever"))).toBe(-1);
    expect(await tier.get("forever")).toEqual({ bytes: Uint8Array.of(5), expiresAt: Infinity });
    expect(await tier.getOrLease("forever", 1000)).toEqual({ entry: { bytes: Uint8Array.of(5), expiresAt: Infinity } });
  });

  it("treats a value not in its format as absent (the next write replaces it)", async () => {
    const tier = tierOver(upstash());
    await direct.set(tier.valueKey("foreign"), "1234");
    expect(await tier.get("foreign")).toBeUndefined();
    const { entry, lease } = await tier.getOrLease("foreign", 1000);
    expect(entry).toBeUndefined();
    expect(lease).toBeDefined();
    await tier.setAndRelease("foreign", entryFor(Uint8Array.of(1)), lease);
    expectBytes((await tier.get("foreign"))?.bytes, Uint8Array.of(1));
  });

  it("reports a corrupt body as a DependencyError rather than a miss", async () => {
    const tier = tierOver(upstash());
    await direct.set(tier.valueKey("corrupt"), `s1:${Date.now() + 60_000}:not*base64!`);
    const error = await tier.get("corrupt").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).dependency).toBe("redis");
  });

  it("turns a Redis error into a DependencyError naming redis", async () => {
    const tier = tierOver(upstash());
    await direct.hset(tier.valueKey("hash"), { f: "v" });
    const error = await tier.get("hash").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).dependency).toBe("redis");
    expect(String((error as Error).message)).toMatch(/WRONGTYPE/);
  });

  it("falls back to EVAL when the server does not know the script (real NOSCRIPT)", async () => {
    const real = upstash();
    let evals = 0;
    const client: RedisLike = {
      get: (k) => real.get(k),
      set: (k, v, o) => real.set(k, v, o),
      del: (...k) => real.del(...k),
      // A SHA no server has: Redis answers NOSCRIPT, as it does after a flush or on a fresh instance.
      evalsha: (_sha, k, a) => real.evalsha("0".repeat(40), k, a),
      eval: (s, k, a) => {
        evals++;
        return real.eval(s, k, a);
      },
    };
    const tier = tierOver(client);
    const { lease } = await tier.getOrLease("noscript", 1000);
    expect(lease).toBeDefined();
    expect(await tier.setAndRelease("noscript", entryFor(Uint8Array.of(3)), lease)).toBe(true);
    expect(evals).toBe(2);
    expectBytes((await tier.get("noscript"))?.bytes, Uint8Array.of(3));
  });

  it("publishes its scripts", () => {
    expect(Object.keys(REDIS_TIER_SCRIPTS)).toEqual(["lookup", "store", "release"]);
  });
});

describe("RedisTier leases", () => {
  it("getOrLease returns a live value without touching the lease", async () => {
    const tier = tierOver(upstash());
    const entry = entryFor(pseudoRandomBytes(300, 3));
    await tier.set("warm", entry);
    const result = await tier.getOrLease("warm", 1000);
    expect(result.lease).toBeUndefined();
    expectEntry(result.entry, entry);
    expect(await direct.exists(tier.leaseKey("warm"))).toBe(0);
  });

  it("gives the lease of a cold key to exactly one of 50 concurrent callers", async () => {
    const tier = tierOver(upstash());
    const results = await Promise.all(Array.from({ length: 50 }, () => tier.getOrLease("cold", 5000)));
    const winners = results.filter((r) => r.lease !== undefined);
    expect(winners).toHaveLength(1);
    expect(results.every((r) => r.entry === undefined)).toBe(true);
    const lease = winners[0]?.lease as Lease;
    expect(lease.key).toBe("cold");
    expect(lease.token).toMatch(/^[0-9a-f]{32}$/);
    expect(await direct.get(tier.leaseKey("cold"))).toBe(lease.token);
    const pttl = await direct.pttl(tier.leaseKey("cold"));
    expect(pttl).toBeGreaterThan(4000);
    expect(pttl).toBeLessThanOrEqual(5000);
  });

  it("also holds across separate clients (isolates) without auto-pipelining", async () => {
    const prefix = freshPrefix();
    const tiers = Array.from({ length: 10 }, () => new RedisTier({ client: upstash({ enableAutoPipelining: false }), keyPrefix: prefix }));
    const results = await Promise.all(tiers.map((t) => t.getOrLease("shared", 5000)));
    expect(results.filter((r) => r.lease !== undefined)).toHaveLength(1);
  });

  it("the winner's setAndRelease makes every loser's waitFor resolve with the value", async () => {
    const tier = tierOver(upstash());
    const results = await Promise.all(Array.from({ length: 50 }, () => tier.getOrLease("stampede", 5000)));
    const lease = results.find((r) => r.lease !== undefined)?.lease as Lease;
    const losers = results.filter((r) => r.lease === undefined);
    expect(losers).toHaveLength(49);
    const started = Date.now();
    const waits = losers.map(() => tier.waitFor("stampede", { timeoutMs: 3000 }));
    const entry = entryFor(pseudoRandomBytes(2048, 9));
    await sleep(100);
    expect(await tier.setAndRelease("stampede", entry, lease)).toBe(true);
    const outcomes = await Promise.all(waits);
    expect(Date.now() - started).toBeLessThan(1000);
    for (const outcome of outcomes) expectEntry(outcome, entry);
    expect(await direct.exists(tier.leaseKey("stampede"))).toBe(0);
  });

  it("a stale token can neither release nor delete the next holder's lease", async () => {
    const tier = tierOver(upstash());
    const first = (await tier.getOrLease("slow", 100)).lease as Lease;
    expect(first).toBeDefined();
    await sleep(150);
    const second = (await tier.getOrLease("slow", 5000)).lease as Lease;
    expect(second).toBeDefined();
    expect(second.token).not.toBe(first.token);
    expect(await tier.releaseLease(first)).toBe(false);
    // The late loader's value is still stored (it is fresh), but the lease stays with its new holder.
    expect(await tier.setAndRelease("slow", entryFor(Uint8Array.of(1)), first)).toBe(false);
    expect(await direct.get(tier.leaseKey("slow"))).toBe(second.token);
    expectBytes((await tier.get("slow"))?.bytes, Uint8Array.of(1));
    expect(await tier.releaseLease(second)).toBe(true);
    expect(await direct.exists(tier.leaseKey("slow"))).toBe(0);
  });

  it("an expired lease lets another caller win", async () => {
    const tier = tierOver(upstash());
    expect((await tier.getOrLease("expiring", 80)).lease).toBeDefined();
    expect(await tier.getOrLease("expiring", 80)).toEqual({});
    await sleep(130);
    expect((await tier.getOrLease("expiring", 80)).lease).toBeDefined();
  });

  it("releaseLease lets the next caller win at once, and waiters learn the holder gave up", async () => {
    const tier = tierOver(upstash());
    const lease = (await tier.getOrLease("give-up", 10_000)).lease as Lease;
    const started = Date.now();
    const wait = tier.waitFor("give-up", { timeoutMs: 5000, pollMs: 20, maxPollMs: 20 });
    await sleep(60);
    expect(await tier.releaseLease(lease)).toBe(true);
    expect(await wait).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await tier.getOrLease("give-up", 1000)).lease).toBeDefined();
  });

  it("with leaseMs, exactly one waiter takes over an abandoned lease and the rest get its value", async () => {
    const tier = tierOver(upstash());
    const lease = (await tier.getOrLease("takeover", 10_000)).lease as Lease;
    const waits = Array.from({ length: 20 }, () => tier.waitForValueOrLease("takeover", { timeoutMs: 3000, pollMs: 20, leaseMs: 5000 }));
    await sleep(50);
    await tier.releaseLease(lease);
    const entry = entryFor(Uint8Array.of(4, 2));
    // The new holder stores once it learns it holds the lease; the others keep polling until then.
    const outcomes = await Promise.all(
      waits.map(async (w) => {
        const outcome = await w;
        if (outcome.status === "lease") await tier.setAndRelease("takeover", entry, outcome.lease);
        return outcome;
      }),
    );
    expect(outcomes.filter((o) => o.status === "lease")).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === "hit")).toHaveLength(19);
  });

  it("waitFor times out while the holder keeps its lease and stores nothing", async () => {
    const tier = tierOver(upstash());
    await tier.getOrLease("stuck", 10_000);
    const started = Date.now();
    expect(await tier.waitFor("stuck", { timeoutMs: 200, pollMs: 30 })).toBeUndefined();
    expect(await tier.waitForValueOrLease("stuck", { timeoutMs: 100, pollMs: 30, leaseMs: 1000 })).toEqual({ status: "timeout" });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(295);
    expect(elapsed).toBeLessThan(800);
  });

  it("a value Redis still holds but the caller's clock says is expired counts as absent: the caller gets the lease", async () => {
    const writer = tierOver(upstash());
    const entry = entryFor(Uint8Array.of(1), 60_000);
    await writer.set("skew", entry);
    const ahead = new RedisTier({ client: upstash(), keyPrefix: writer.keyPrefix, now: () => entry.expiresAt + 1 });
    expect(await ahead.get("skew")).toBeUndefined();
    expect((await ahead.getOrLease("skew", 1000)).lease).toBeDefined();
  });

  it("setAndRelease with an already-expired entry deletes the value and still releases", async () => {
    const tier = tierOver(upstash());
    await tier.set("dead", entryFor(Uint8Array.of(1)));
    const lease = (await tier.acquireLease("dead", 5000)) as Lease;
    expect(lease).toBeDefined();
    expect(await tier.setAndRelease("dead", { bytes: Uint8Array.of(2), expiresAt: Date.now() - 1 }, lease)).toBe(true);
    expect(await direct.exists(tier.valueKey("dead"), tier.leaseKey("dead"))).toBe(0);
  });

  it("acquireLease takes the lease alone (for refreshing a still-servable value), one winner among many", async () => {
    const tier = tierOver(upstash());
    await tier.set("refresh", entryFor(Uint8Array.of(1)));
    const leases = await Promise.all(Array.from({ length: 20 }, () => tier.acquireLease("refresh", 5000)));
    expect(leases.filter((l) => l !== undefined)).toHaveLength(1);
    expect(await tier.getOrLease("refresh", 5000)).toMatchObject({ entry: { bytes: Uint8Array.of(1) } });
  });

  it("a value stored under a key shaped like a lease does not collide with that lease", async () => {
    const tier = tierOver(upstash());
    const lease = (await tier.getOrLease("x", 5000)).lease as Lease;
    await tier.set("lease:x", entryFor(Uint8Array.of(7)));
    expect(await direct.get(tier.leaseKey("x"))).toBe(lease.token);
    expectBytes((await tier.get("lease:x"))?.bytes, Uint8Array.of(7));
    expect(await tier.get("x")).toBeUndefined();
  });

  it("refuses a lease used for another key and nonsensical lease durations", async () => {
    const tier = tierOver(upstash());
    const lease = (await tier.getOrLease("mine", 1000)).lease as Lease;
    await expect(tier.setAndRelease("other", entryFor(Uint8Array.of(1)), lease)).rejects.toThrow(RangeError);
    await expect(tier.getOrLease("mine", 0)).rejects.toThrow(RangeError);
    await expect(tier.getOrLease("mine", Number.NaN)).rejects.toThrow(RangeError);
  });
});

/** An HTTP proxy in front of the bridge that records every request it forwards. */
interface CountingProxy {
  url: string;
  requests: Array<{ path: string; commands: string[] }>;
  close(): Promise<void>;
}

async function startCountingProxy(target: string): Promise<CountingProxy> {
  const requests: CountingProxy["requests"] = [];
  const server: HttpServer = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const parsed = JSON.parse(body) as unknown[];
      // One command is ["name", ...]; /pipeline and /multi-exec carry [["name", ...], ...].
      const commands = (Array.isArray(parsed[0]) ? (parsed as unknown[][]) : [parsed]).map((c) => String(c[0]).toLowerCase());
      requests.push({ path: req.url ?? "/", commands });
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && k !== "host" && k !== "content-length") headers[k] = v;
      fetch(`${target}${req.url ?? "/"}`, { method: "POST", headers, body })
        .then(async (upstream) => {
          const text = await upstream.text();
          res.writeHead(upstream.status, { "content-type": "application/json" });
          res.end(text);
        })
        .catch(() => {
          res.writeHead(502);
          res.end();
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("RedisTier round trips (counted at an HTTP proxy in front of the bridge)", () => {
  let proxy: CountingProxy;
  beforeAll(async () => {
    proxy = await startCountingProxy(upstashUrl);
  });
  afterAll(async () => {
    await proxy.close();
  });

  /** Requests `work` sent, with their commands. */
  async function counted(work: () => Promise<unknown>): Promise<CountingProxy["requests"]> {
    const before = proxy.requests.length;
    await work();
    return proxy.requests.slice(before);
  }

  describe.each([
    { label: "one request per command", opts: { enableAutoPipelining: false } },
    { label: "auto-pipelining", opts: {} },
  ])("$label", ({ opts }) => {
    it("miss = one getOrLease + one setAndRelease; hit = one request", async () => {
      const tier = tierOver(upstash(opts, proxy.url));
      // Load the scripts once, as a long-lived isolate will have.
      const warm = (await tier.getOrLease("warm-up", 1000)).lease;
      await tier.setAndRelease("warm-up", entryFor(Uint8Array.of(0)), warm);

      let lease: Lease | undefined;
      const miss = await counted(async () => {
        lease = (await tier.getOrLease("page", 5000)).lease;
      });
      expect(lease).toBeDefined();
      expect(miss).toHaveLength(1);
      expect(miss[0]?.commands).toEqual(["evalsha"]);

      const store = await counted(() => tier.setAndRelease("page", entryFor(pseudoRandomBytes(4096, 5)), lease));
      expect(store).toHaveLength(1);
      expect(store[0]?.commands).toEqual(["evalsha"]);
      expect(await direct.exists(tier.leaseKey("page"))).toBe(0);

      const hit = await counted(() => tier.get("page"));
      expect(hit).toHaveLength(1);
      expect(hit[0]?.commands).toEqual(["get"]);

      const hitViaLease = await counted(() => tier.getOrLease("page", 5000));
      expect(hitViaLease).toHaveLength(1);

      expect(await counted(() => tier.set("other", entryFor(Uint8Array.of(1))))).toHaveLength(1);
      expect(await counted(() => tier.delete("other"))).toHaveLength(1);
      const released = await counted(async () => {
        const l = (await tier.getOrLease("abandoned", 5000)).lease as Lease;
        await tier.releaseLease(l);
      });
      expect(released).toHaveLength(2);
    });
  });

  it("a waiter's polls back off: a 1 s wait on a held lease costs about ten commands, not forty", async () => {
    const tier = tierOver(upstash({ enableAutoPipelining: false }, proxy.url));
    await tier.getOrLease("held", 10_000);
    const polls = await counted(() => tier.waitFor("held", { timeoutMs: 1000 }));
    expect(polls.length).toBeGreaterThanOrEqual(5);
    expect(polls.length).toBeLessThanOrEqual(12);
    expect(new Set(polls.map((p) => p.commands.join()))).toEqual(new Set(["evalsha"]));
  });

  it("a script the server does not know costs one extra request (EVALSHA, then EVAL)", async () => {
    const real = upstash({ enableAutoPipelining: false }, proxy.url);
    const client: RedisLike = {
      get: (k) => real.get(k),
      set: (k, v, o) => real.set(k, v, o),
      del: (...k) => real.del(...k),
      evalsha: (_sha, k, a) => real.evalsha("0".repeat(40), k, a),
      eval: (s, k, a) => real.eval(s, k, a),
    };
    const tier = tierOver(client);
    const requests = await counted(() => tier.getOrLease("cold-script", 1000));
    expect(requests.map((r) => r.commands[0])).toEqual(["evalsha", "eval"]);
  });
});

describe("RedisTier against a server that never answers", () => {
  let blackhole: NetServer;
  let port = 0;
  const sockets = new Set<Socket>();
  let received = 0;

  beforeAll(async () => {
    blackhole = createNetServer((socket) => {
      sockets.add(socket);
      socket.on("data", (d: Buffer) => {
        received += d.toString("latin1").split("POST ").length - 1;
      });
      socket.on("error", () => undefined);
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => blackhole.listen(0, "127.0.0.1", resolve));
    port = (blackhole.address() as AddressInfo).port;
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => blackhole.close(() => resolve()));
  });

  const hungClient = (): Redis => upstash({ retry: false, enableAutoPipelining: false }, `http://127.0.0.1:${port}`);

  it("fails every operation within its timeout with a TimeoutError naming redis", async () => {
    const tier = tierOver(hungClient(), { timeoutMs: 150 });
    const operations: Array<[string, () => Promise<unknown>]> = [
      ["get", () => tier.get("k")],
      ["set", () => tier.set("k", entryFor(Uint8Array.of(1)))],
      ["delete", () => tier.delete("k")],
      ["getOrLease", () => tier.getOrLease("k", 1000)],
      ["setAndRelease", () => tier.setAndRelease("k", entryFor(Uint8Array.of(1)), { key: "k", token: "t", expiresAt: 0 })],
      ["releaseLease", () => tier.releaseLease({ key: "k", token: "t", expiresAt: 0 })],
      ["waitFor", () => tier.waitFor("k", { timeoutMs: 5000, pollMs: 10 })],
    ];
    await Promise.all(
      operations.map(async ([name, op]) => {
        const started = Date.now();
        const error = await op().catch((e: unknown) => e);
        const elapsed = Date.now() - started;
        expect(error, name).toBeInstanceOf(TimeoutError);
        expect((error as DependencyError).dependency, name).toBe("redis");
        expect(elapsed, name).toBeLessThan(1000);
      }),
    );
  });

  it("with a breaker: after the threshold, calls fail at once without reaching the network", async () => {
    const transitions: string[] = [];
    const breaker = new CircuitBreaker({
      dependency: "redis",
      failureThreshold: 2,
      openMs: 60_000,
      onStateChange: (from, to) => transitions.push(`${from}->${to}`),
    });
    const tier = tierOver(hungClient(), { timeoutMs: 300, breaker });
    for (let i = 0; i < 2; i++) await expect(tier.get("k")).rejects.toBeInstanceOf(TimeoutError);
    expect(breaker.state).toBe("open");
    await sleep(50);
    const sentBefore = received;
    // The two timed-out calls did reach it, so the count below would see any further request.
    expect(sentBefore).toBeGreaterThanOrEqual(2);
    const started = Date.now();
    const errors = await Promise.all([tier.get("k"), tier.getOrLease("k", 1000), tier.set("k", entryFor(Uint8Array.of(1)))].map((p) => p.catch((e: unknown) => e)));
    // Well under the 300 ms a call that went out would take to time out.
    expect(Date.now() - started).toBeLessThan(100);
    for (const e of errors) {
      expect(e).toBeInstanceOf(CircuitOpenError);
      expect((e as DependencyError).dependency).toBe("redis");
    }
    await sleep(50);
    expect(received).toBe(sentBefore);
    expect(transitions).toEqual(["closed->open"]);
  });
});
