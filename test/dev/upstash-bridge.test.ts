import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import type { Server, Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { Redis as UpstashRedis } from "@upstash/redis";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { startUpstashBridge } from "../../dev/upstash-bridge.ts";
import type { UpstashBridge } from "../../dev/upstash-bridge.ts";

// inject() is empty when the suite runs without the project's global setup.
const redisUrl: string = (inject("redisUrl") as string | undefined) ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const token = randomBytes(16).toString("hex");
const prefix = `test:upstash-bridge:${randomBytes(6).toString("hex")}:`;

let bridge: UpstashBridge;
let direct: IORedis;

beforeAll(async () => {
  bridge = await startUpstashBridge({ redisUrl, token, port: 0 });
  direct = new IORedis(redisUrl, { protocol: 2 });
});

afterAll(async () => {
  if (direct) {
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await direct.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== "0");
    if (keys.length > 0) await direct.del(...keys);
    direct.disconnect();
  }
  await bridge?.close();
});

async function raw(path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${bridge.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    body,
  });
  return { status: res.status, json: await res.json() };
}

const variants = [
  { label: "base64 responses, auto-pipelining", opts: {} },
  { label: "plain JSON responses, auto-pipelining", opts: { responseEncoding: false as const } },
  { label: "base64 responses, one request per command", opts: { enableAutoPipelining: false } },
  { label: "plain JSON responses, one request per command", opts: { responseEncoding: false as const, enableAutoPipelining: false } },
];

describe.each(variants)("@upstash/redis through the bridge ($label)", ({ label, opts }) => {
  let redis: UpstashRedis;
  // Each variant gets its own key space so the four runs cannot see each other's writes.
  const p = `${prefix}${variants.findIndex((v) => v.label === label)}:`;

  beforeAll(() => {
    redis = new UpstashRedis({ url: bridge.url, token, enableTelemetry: false, ...opts });
  });

  it("handles strings: set/get/incr/expire/ttl", async () => {
    expect(await redis.set(`${p}s`, "hello")).toBe("OK");
    expect(await redis.get(`${p}s`)).toBe("hello");
    expect(await redis.get(`${p}missing`)).toBeNull();
    expect(await redis.incr(`${p}n`)).toBe(1);
    expect(await redis.incrby(`${p}n`, 41)).toBe(42);
    expect(await redis.expire(`${p}n`, 100)).toBe(1);
    const ttl = await redis.ttl(`${p}n`);
    expect(ttl).toBeGreaterThan(90);
    expect(ttl).toBeLessThanOrEqual(100);
    expect(await redis.set(`${p}ex`, "v", { ex: 50 })).toBe("OK");
    expect(await redis.ttl(`${p}ex`)).toBeGreaterThan(40);
    expect(await redis.ttl(`${p}missing`)).toBe(-2);
    // NX on an existing key is a null reply, which must still arrive as {"result": null}.
    expect(await redis.set(`${p}s`, "other", { nx: true })).toBeNull();
  });

  it("round-trips JSON values (the client serialises them)", async () => {
    const value = { id: 7, name: "Zoë", tags: ["a", "b"], nested: { ok: true, n: null } };
    await redis.set(`${p}json`, value);
    expect(await redis.get(`${p}json`)).toEqual(value);
    expect(await direct.get(`${p}json`)).toBe(JSON.stringify(value));
  });

  it("handles hashes: hset/hgetall/hincrby", async () => {
    expect(await redis.hset(`${p}h`, { a: "1", b: "text", c: JSON.stringify({ x: 1 }) })).toBe(3);
    expect(await redis.hincrby(`${p}h`, "a", 5)).toBe(6);
    expect(await redis.hgetall(`${p}h`)).toEqual({ a: 6, b: "text", c: { x: 1 } });
    expect(await redis.hget(`${p}h`, "b")).toBe("text");
    expect(await redis.hgetall(`${p}nohash`)).toBeNull();
  });

  it("handles sets: sadd/smembers/sismember", async () => {
    expect(await redis.sadd(`${p}set`, "x", "y", "z")).toBe(3);
    expect(await redis.sadd(`${p}set`, "x")).toBe(0);
    expect((await redis.smembers(`${p}set`)).sort()).toEqual(["x", "y", "z"]);
    expect(await redis.sismember(`${p}set`, "y")).toBe(1);
    expect(await redis.sismember(`${p}set`, "nope")).toBe(0);
  });

  it("scans with match and count over the prefix", async () => {
    const expected: string[] = [];
    for (let i = 0; i < 35; i++) expected.push(`${p}scan:${i}`);
    await Promise.all(expected.map((k) => redis.set(k, "1")));
    await redis.set(`${p}other`, "1");
    const seen = new Set<string>();
    let cursor: string | number = 0;
    let rounds = 0;
    do {
      const [next, keys]: [string | number, string[]] = await redis.scan(cursor, { match: `${p}scan:*`, count: 10 });
      for (const k of keys) seen.add(k);
      cursor = next;
      rounds++;
    } while (String(cursor) !== "0" && rounds < 10_000);
    expect([...seen].sort()).toEqual(expected.sort());
  });

  it("runs eval, evalsha and createScript (NOSCRIPT fallback)", async () => {
    expect(await redis.eval("return {KEYS[1], ARGV[1], 42}", [`${p}k`], ["arg"])).toEqual([`${p}k`, "arg", 42]);
    // A unique body guarantees the server has never cached it, so exec() must hit NOSCRIPT first.
    const body = `-- ${randomBytes(8).toString("hex")}\nreturn redis.call('incrby', KEYS[1], ARGV[1])`;
    const script = redis.createScript<number>(body);
    await expect(script.evalsha([`${p}script`], ["2"])).rejects.toThrow(/NOSCRIPT/);
    expect(await script.exec([`${p}script`], ["2"])).toBe(2);
    expect(await script.evalsha([`${p}script`], ["3"])).toBe(5);
    expect(await script.exec([`${p}script`], ["1"])).toBe(6);
  });

  it("executes explicit pipelines with per-command errors", async () => {
    await redis.set(`${p}pstr`, "not-a-number");
    const results = await redis
      .pipeline()
      .set(`${p}p1`, "v1")
      .get(`${p}p1`)
      .incr(`${p}p2`)
      .hset(`${p}ph`, { f: "g" })
      .hgetall(`${p}ph`)
      .exec();
    expect(results).toEqual(["OK", "v1", 1, 1, { f: "g" }]);

    const withError = await redis.pipeline().incr(`${p}p2`).incr(`${p}pstr`).get(`${p}p1`).exec({ keepErrors: true });
    expect(withError[0]).toEqual({ error: undefined, result: 2 });
    expect(withError[1]?.error).toMatch(/value is not an integer/);
    expect(withError[2]).toEqual({ error: undefined, result: "v1" });
    await expect(redis.pipeline().incr(`${p}pstr`).exec()).rejects.toThrow(/value is not an integer/);
  });

  it("executes multi/exec transactions", async () => {
    const results = await redis.multi().set(`${p}m`, "1").incr(`${p}m`).incr(`${p}m`).get(`${p}m`).exec();
    expect(results).toEqual(["OK", 2, 3, 3]);

    await redis.set(`${p}mstr`, "abc");
    // A runtime error inside EXEC does not roll back the other commands.
    const mixed = await redis.multi().incr(`${p}mstr`).set(`${p}m2`, "after").exec({ keepErrors: true });
    expect(mixed[0]?.error).toMatch(/value is not an integer/);
    expect(mixed[1]).toEqual({ error: undefined, result: "OK" });
    expect(await direct.get(`${p}m2`)).toBe("after");
  });

  it("keeps transactions atomic under concurrent traffic on the shared connection", async () => {
    const key = `${p}atomic`;
    const work: Promise<unknown>[] = [];
    const txs: Promise<number[]>[] = [];
    for (let i = 0; i < 40; i++) {
      work.push(redis.incr(key), redis.pipeline().incr(key).incr(key).exec());
      txs.push(redis.multi().incr(key).incr(key).incr(key).exec<[number, number, number]>());
    }
    await Promise.all(work);
    for (const tx of await Promise.all(txs)) {
      expect(tx).toEqual([tx[0], tx[0]! + 1, tx[0]! + 2]);
    }
    expect(Number(await direct.get(key))).toBe(40 * 3 + 40 * 3);
  });

  it("surfaces Redis error replies with Redis' text", async () => {
    await redis.set(`${p}e`, "abc");
    await expect(redis.incr(`${p}e`)).rejects.toThrow(/ERR value is not an integer or out of range/);
    await expect(redis.exec(["lpush", `${p}e`, "x"])).rejects.toThrow(/WRONGTYPE/);
  });

  it("refuses commands that would break the shared connection", async () => {
    await expect(redis.exec(["select", "1"])).rejects.toThrow(/not supported/);
    await expect(redis.exec(["blpop", `${p}list`, "0"])).rejects.toThrow(/not supported/);
    await expect(redis.exec(["client", "reply", "off"])).rejects.toThrow(/not supported/);
    // The connection is still usable and still on db 0.
    await direct.set(`${p}db0`, "here");
    expect(await redis.get(`${p}db0`)).toBe("here");
  });

  it("round-trips unicode and binary-ish strings byte-exactly", async () => {
    const samples = [
      "plain",
      "ünïcödé ✓ 日本語 𝄞 🎉",
      "nul\u0000inside",
      "line\r\nbreaks\tand\"quotes\"\\",
      "\u00ff\u00fe\u0080",
      "OK",
      "",
      "  padded  ",
    ];
    for (const [i, s] of samples.entries()) {
      const key = `${p}bin:${i}`;
      await redis.set(key, s);
      expect(await redis.get(key)).toBe(s);
      expect((await direct.getBuffer(key))?.equals(Buffer.from(s, "utf8"))).toBe(true);
    }
    expect(await redis.mget<string[]>(...samples.map((_, i) => `${p}bin:${i}`))).toEqual(samples);
  });

  it("answers many concurrent commands correctly", async () => {
    const n = 300;
    const writes = await Promise.all(Array.from({ length: n }, (_, i) => redis.set(`${p}c:${i}`, `v${i}`)));
    expect(writes.every((r) => r === "OK")).toBe(true);
    const mixed = await Promise.all(
      Array.from({ length: n }, (_, i) => (i % 3 === 0 ? redis.incr(`${p}ctr`) : redis.get<string>(`${p}c:${i}`))),
    );
    for (let i = 0; i < n; i++) {
      if (i % 3 !== 0) expect(mixed[i]).toBe(`v${i}`);
    }
    const counters = mixed.filter((_, i) => i % 3 === 0).map(Number).sort((a, b) => a - b);
    expect(counters).toEqual(Array.from({ length: n / 3 }, (_, i) => i + 1));
  });
});

describe("wire protocol details", () => {
  it("rejects a wrong token with 401 through the official client", async () => {
    const wrong = new UpstashRedis({ url: bridge.url, token: "wrong-token", enableTelemetry: false });
    await expect(wrong.get(`${prefix}x`)).rejects.toThrow(/Unauthorized/);
    const res = await fetch(bridge.url, { method: "POST", body: JSON.stringify(["ping"]) });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "Unauthorized" });
  });

  it("keeps a top-level OK bare and base64-encodes every other string", async () => {
    const b64 = { "upstash-encoding": "base64" };
    expect(await raw("/", JSON.stringify(["set", `${prefix}w`, "héllo"]), b64)).toEqual({ status: 200, json: { result: "OK" } });
    expect(await raw("/", JSON.stringify(["get", `${prefix}w`]), b64)).toEqual({
      status: 200,
      json: { result: Buffer.from("héllo").toString("base64") },
    });
    expect(await raw("/", JSON.stringify(["ping"]), b64)).toEqual({ status: 200, json: { result: Buffer.from("PONG").toString("base64") } });
    expect(await raw("/", JSON.stringify(["get", `${prefix}w`]))).toEqual({ status: 200, json: { result: "héllo" } });
    expect(await raw("/", JSON.stringify(["get", `${prefix}none`]), b64)).toEqual({ status: 200, json: { result: null } });
  });

  it("base64-encodes non-UTF-8 bytes exactly", async () => {
    const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0x0a]);
    await direct.set(`${prefix}bytes`, bytes);
    const { json } = await raw("/", JSON.stringify(["get", `${prefix}bytes`]), { "upstash-encoding": "base64" });
    expect(Buffer.from((json as { result: string }).result, "base64").equals(bytes)).toBe(true);
    const pipe = await raw("/pipeline", JSON.stringify([["get", `${prefix}bytes`], ["strlen", `${prefix}bytes`]]), {
      "upstash-encoding": "base64",
    });
    expect(pipe.json).toEqual([{ result: bytes.toString("base64") }, { result: bytes.length }]);
  });

  it("stringifies numbers and booleans and returns flat hash replies", async () => {
    expect((await raw("/", JSON.stringify(["hset", `${prefix}fh`, "n", 1.5, "b", true, "i", 10]))).json).toEqual({ result: 3 });
    const { json } = await raw("/", JSON.stringify(["hgetall", `${prefix}fh`]));
    expect(json).toEqual({ result: ["n", "1.5", "b", "true", "i", "10"] });
  });

  it("answers error replies with 400 on / and inline in /pipeline", async () => {
    await direct.set(`${prefix}estr`, "abc");
    expect(await raw("/", JSON.stringify(["incr", `${prefix}estr`]))).toEqual({
      status: 400,
      json: { error: "ERR value is not an integer or out of range" },
    });
    expect(await raw("/pipeline", JSON.stringify([["incr", `${prefix}estr`], ["get", `${prefix}estr`]]))).toEqual({
      status: 200,
      json: [{ error: "ERR value is not an integer or out of range" }, { result: "abc" }],
    });
  });

  it("aborts a transaction with a queue-time error as a whole", async () => {
    const { status, json } = await raw("/multi-exec", JSON.stringify([["set", `${prefix}tx`, "1"], ["get"]]));
    expect(status).toBe(400);
    expect((json as { error: string }).error).toMatch(/^EXECABORT.*wrong number of arguments/);
    expect(await direct.exists(`${prefix}tx`)).toBe(0);
  });

  it("refuses a transaction containing a refused command without running any of it", async () => {
    const { status, json } = await raw("/multi-exec", JSON.stringify([["set", `${prefix}tx2`, "1"], ["select", "2"]]));
    expect(status).toBe(400);
    expect((json as { error: string }).error).toMatch(/select/);
    expect(await direct.exists(`${prefix}tx2`)).toBe(0);
  });

  it("rejects malformed bodies with a JSON 400", async () => {
    for (const [path, body] of [
      ["/", "{not json"],
      ["/", "{}"],
      ["/", "[]"],
      ["/", "[42]"],
      ["/", JSON.stringify(["set", `${prefix}x`, { nested: 1 }])],
      ["/pipeline", JSON.stringify(["get", "x"])],
      ["/pipeline", "[]"],
      ["/multi-exec", "null"],
      ["/", ""],
    ] as const) {
      const { status, json } = await raw(path, body);
      expect(status, `${path} ${body}`).toBe(400);
      expect(typeof (json as { error: unknown }).error, `${path} ${body}`).toBe("string");
    }
  });

  it("refuses requests that carry an Origin header, even with the right token", async () => {
    // A web page in the developer's browser must not be able to probe the local Redis door.
    for (const [method, path, body] of [
      ["POST", "/", JSON.stringify(["ping"])],
      ["POST", "/pipeline", JSON.stringify([["ping"]])],
      ["GET", "/ping", undefined],
      ["OPTIONS", "/", undefined],
    ] as const) {
      const res = await fetch(`${bridge.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, origin: "https://evil.example" },
        body,
      });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(await res.json()).toEqual({ error: expect.stringMatching(/Origin/) });
    }
    // Without Origin, as @upstash/redis sends it, the same request goes through.
    expect(await raw("/", JSON.stringify(["ping"]))).toEqual({ status: 200, json: { result: "PONG" } });
  });

  it("answers an oversized body with a JSON 400 instead of a connection reset", async () => {
    const small = await startUpstashBridge({ redisUrl, token, port: 0, maxBodyBytes: 1024 });
    try {
      // Megabytes, so the body cannot sit unread in socket buffers: the bridge has to drain it.
      const body = JSON.stringify(["set", `${prefix}big`, "x".repeat(4 * 1024 * 1024)]);
      const res = await fetch(small.url, { method: "POST", headers: { authorization: `Bearer ${token}` }, body });
      expect(res.status).toBe(400);
      expect(res.headers.get("connection")).toBe("close");
      expect(await res.json()).toEqual({ error: "ERR bridge: request body exceeds 1024 bytes" });
      expect(await direct.exists(`${prefix}big`)).toBe(0);
      const ok = await fetch(small.url, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(["ping"]) });
      expect(await ok.json()).toEqual({ result: "PONG" });
    } finally {
      await small.close();
    }
  });

  it("supports path-style commands", async () => {
    const headers = { authorization: `Bearer ${token}` };
    const set = await fetch(`${bridge.url}/set/${encodeURIComponent(`${prefix}path`)}/a%20b`, { headers });
    expect(await set.json()).toEqual({ result: "OK" });
    const get = await fetch(`${bridge.url}/get/${encodeURIComponent(`${prefix}path`)}`, { headers });
    expect(await get.json()).toEqual({ result: "a b" });
  });
});

describe("statistics", () => {
  it("counts round trips and commands per request, with each command's first key", async () => {
    const counted = await startUpstashBridge({ redisUrl, token, port: 0, recordStats: true });
    try {
      const client = new UpstashRedis({ url: counted.url, token, enableAutoPipelining: false });
      await client.set(`${prefix}stats:a`, "1");
      await client.eval("return redis.call('get', KEYS[1])", [`${prefix}stats:a`], []);
      const p = client.pipeline();
      p.get(`${prefix}stats:a`);
      p.incr(`${prefix}stats:n`);
      await p.exec();
      const stats = counted.stats();
      expect(stats.roundTrips).toBe(3);
      expect(stats.commands).toBe(4);
      expect(stats.log.map((r) => r.door)).toEqual(["single", "single", "pipeline"]);
      expect(stats.log[1]?.commands).toEqual([{ name: "eval", key: `${prefix}stats:a` }]);
      expect(stats.log[2]?.commands.map((c) => c.name)).toEqual(["get", "incr"]);
      counted.resetStats();
      expect(counted.stats()).toEqual({ roundTrips: 0, commands: 0, log: [] });
      // A rejected token is not a round trip that reached Redis.
      await fetch(counted.url, { method: "POST", headers: { authorization: "Bearer nope" }, body: '["ping"]' });
      expect(counted.stats().roundTrips).toBe(0);
    } finally {
      await counted.close();
    }
  });

  it("refuses to report statistics it does not keep", () => {
    expect(() => bridge.stats()).toThrow(/recordStats/);
    expect(() => bridge.resetStats()).toThrow(/recordStats/);
  });
});

describe("command line", () => {
  it("starts when run as a script and stops on SIGTERM", async () => {
    const script = fileURLToPath(new URL("../../dev/upstash-bridge.ts", import.meta.url));
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, UPSTASH_REDIS_REST_TOKEN: token, UPSTASH_BRIDGE_PORT: "0", REDIS_URL: redisUrl },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("\n")) resolve(out);
        });
        child.once("exit", (code) => reject(new Error(`exited with ${code} before listening`)));
      });
      const url = /upstash-bridge: (http:\/\/\S+)/.exec(line)?.[1];
      expect(url).toBeDefined();
      const res = await fetch(`${url}/ping`, { headers: { authorization: `Bearer ${token}` } });
      expect(await res.json()).toEqual({ result: "PONG" });
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});

describe("unavailable Redis", () => {
  let closedPort: number;
  let blackhole: Server;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    closedPort = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    // Accepts connections and never answers: a Redis that hangs.
    blackhole = createServer((s) => {
      sockets.add(s);
      s.on("error", () => {});
    });
    await new Promise<void>((r) => blackhole.listen(0, "127.0.0.1", r));
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => blackhole.close(() => r()));
  });

  for (const kind of ["closed port", "unresponsive server"] as const) {
    it(`answers with an error instead of hanging (${kind})`, async () => {
      const port = kind === "closed port" ? closedPort : (blackhole.address() as { port: number }).port;
      const silence = console.error;
      console.error = () => {};
      const down = await startUpstashBridge({ redisUrl: `redis://127.0.0.1:${port}`, token, port: 0, commandTimeoutMs: 300 });
      try {
        const client = new UpstashRedis({ url: down.url, token, enableTelemetry: false, retry: false });
        const started = Date.now();
        await expect(client.get(`${prefix}x`)).rejects.toThrow(/did not answer within 300 ms/);
        await expect(client.multi().set(`${prefix}x`, 1).exec()).rejects.toThrow(/did not answer/);
        expect(Date.now() - started).toBeLessThan(3000);
        const res = await fetch(down.url, {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
          body: JSON.stringify(["get", "x"]),
        });
        expect(res.status).toBe(504);
        expect(await res.json()).toEqual({ error: expect.stringMatching(/did not answer/) });
      } finally {
        await down.close();
        console.error = silence;
      }
    });
  }
});
