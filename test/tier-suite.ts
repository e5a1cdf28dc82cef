/**
 * @module The behaviour every Tier adapter must have, as one vitest suite each adapter's test file instantiates
 * (`defineTierSuite`). Imports only vitest and core, so it runs in Node and inside workerd alike.
 *
 * Keys carry a random per-run prefix so adapters over shared storage (a colo's Cache API, one Redis) cannot see
 * other runs' leftovers; each harness still cleans up after itself.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Tier, TierEntry } from "../core/tier.ts";

/** A clock the tier under test reads; lets expiry be tested without sleeping. */
export interface TierSuiteClock {
  now(): number;
  advance(ms: number): void;
}

export interface TierHarness {
  tier: Tier;
  /** When the tier was built over this clock; without it expiry is tested in real time. */
  clock?: TierSuiteClock;
  cleanup(): Promise<void>;
}

export interface TierSuiteOptions {
  /** Lifetime of the entry in the real-time expiry test; default 1200 ms (over a second for whole-second TTLs). */
  realExpiryMs?: number;
  /** Size of the large-value test; default 1 MiB. */
  largeValueBytes?: number;
  /** Distinct keys written and read concurrently; default 64. */
  concurrency?: number;
}

/** Far enough ahead that no test outlives it. */
const LONG_MS = 10 * 60_000;

export function defineTierSuite(name: string, makeTier: () => Promise<TierHarness>, options: TierSuiteOptions = {}): void {
  const realExpiryMs = options.realExpiryMs ?? 1200;
  const largeValueBytes = options.largeValueBytes ?? 1024 * 1024;
  const concurrency = options.concurrency ?? 64;

  describe(`Tier contract: ${name}`, () => {
    let harness: TierHarness;
    let tier: Tier;
    let run = "";
    let counter = 0;
    const now = (): number => harness.clock?.now() ?? Date.now();
    /** A key unique to this test; `suffix` is kept verbatim so escaping is exercised. */
    const key = (suffix: string): string => `${run}:${counter++}:${suffix}`;
    const entry = (bytes: Uint8Array, ttlMs: number = LONG_MS): TierEntry => ({ bytes, expiresAt: now() + ttlMs });

    beforeEach(async () => {
      harness = await makeTier();
      tier = harness.tier;
      run = `tier-suite-${randomHex(6)}`;
    });

    afterEach(async () => {
      await harness.cleanup();
    });

    it("returns undefined for a key never set", async () => {
      await expect(tier.get(key("missing"))).resolves.toBeUndefined();
    });

    it("returns identical bytes and expiresAt after a set", async () => {
      const k = key("basic");
      const written = entry(new TextEncoder().encode('{"hello":"world"}'));
      await tier.set(k, written);
      const got = await tier.get(k);
      expectEntry(got, written);
    });

    it("round-trips every byte value 0..255, in both orders", async () => {
      const up = Uint8Array.from({ length: 512 }, (_, i) => i % 256);
      const down = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);
      const kUp = key("bytes-up");
      const kDown = key("bytes-down");
      await tier.set(kUp, entry(up));
      await tier.set(kDown, entry(down));
      expectBytes((await tier.get(kUp))?.bytes, up);
      expectBytes((await tier.get(kDown))?.bytes, down);
    });

    it("round-trips bytes that read as JSON or text when taken for a string", async () => {
      // Through a text or JSON layer these would come back as numbers, booleans, null or altered strings.
      const samples = ["null", "true", "1234", "1e3", '"quoted"', "{}", "[1]", "  padded  ", "\u0000nul", "caf\u00e9 \u{1F600}"];
      const keys = samples.map((_, i) => key(`text-${i}`));
      const values = samples.map((s) => new TextEncoder().encode(s));
      await Promise.all(keys.map((k, i) => tier.set(k, entry(values[i] ?? new Uint8Array()))));
      for (const [i, k] of keys.entries()) expectBytes((await tier.get(k))?.bytes, values[i] ?? new Uint8Array());
      // Raw bytes that, were they base64-decoded text, spell JSON literals: 0x9e 0xe9 0x65 is atob("null").
      const tricky = [Uint8Array.of(0x9e, 0xe9, 0x65), Uint8Array.of(0xb6, 0xbb, 0x9e), Uint8Array.of(0xd7, 0x6d, 0xf8)];
      for (const bytes of tricky) {
        const k = key("tricky");
        await tier.set(k, entry(bytes));
        expectBytes((await tier.get(k))?.bytes, bytes);
      }
    });

    it("round-trips an empty value", async () => {
      const k = key("empty");
      const written = entry(new Uint8Array(0));
      await tier.set(k, written);
      expectEntry(await tier.get(k), written);
    });

    it(`round-trips a large value (${largeValueBytes} bytes)`, async () => {
      const k = key("large");
      const bytes = pseudoRandomBytes(largeValueBytes, 42);
      await tier.set(k, entry(bytes));
      expectBytes((await tier.get(k))?.bytes, bytes);
    });

    it("overwrites: the last write wins, larger or smaller", async () => {
      const k = key("overwrite");
      const first = pseudoRandomBytes(100, 1);
      const bigger = pseudoRandomBytes(5000, 2);
      const smaller = Uint8Array.of(7);
      await tier.set(k, entry(first));
      await tier.set(k, entry(bigger));
      expectBytes((await tier.get(k))?.bytes, bigger);
      const last = entry(smaller, LONG_MS / 2);
      await tier.set(k, last);
      expectEntry(await tier.get(k), last);
    });

    it("deletes one key and leaves its neighbours", async () => {
      const a = key("delete-a");
      const b = key("delete-b");
      await tier.set(a, entry(Uint8Array.of(1)));
      await tier.set(b, entry(Uint8Array.of(2)));
      await tier.delete(a);
      await expect(tier.get(a)).resolves.toBeUndefined();
      expectBytes((await tier.get(b))?.bytes, Uint8Array.of(2));
      // Deleting again, or a key never set, is not an error.
      await expect(tier.delete(a)).resolves.toBeUndefined();
      await expect(tier.delete(key("never-set"))).resolves.toBeUndefined();
    });

    it("can set a key again after deleting it", async () => {
      const k = key("reuse");
      await tier.set(k, entry(Uint8Array.of(1)));
      await tier.delete(k);
      await tier.set(k, entry(Uint8Array.of(2)));
      expectBytes((await tier.get(k))?.bytes, Uint8Array.of(2));
    });

    it("does not return an entry set with an expiresAt already passed, and drops the older value", async () => {
      const k = key("dead-on-arrival");
      await tier.set(k, entry(Uint8Array.of(1)));
      await tier.set(k, { bytes: Uint8Array.of(2), expiresAt: now() - 1 });
      await expect(tier.get(k)).resolves.toBeUndefined();
      await tier.set(key("dead-fresh"), { bytes: Uint8Array.of(3), expiresAt: now() - 1000 });
      await expect(tier.get(key("dead-fresh"))).resolves.toBeUndefined();
    });

    it("stops returning an entry once its expiresAt has passed", async () => {
      const k = key("expiry");
      const survivor = key("expiry-survivor");
      const clock = harness.clock;
      const ttl = clock === undefined ? realExpiryMs : 5000;
      const written = entry(Uint8Array.of(9, 9, 9), ttl);
      await tier.set(k, written);
      await tier.set(survivor, entry(Uint8Array.of(1), ttl * 10));
      expectEntry(await tier.get(k), written);
      if (clock !== undefined) {
        clock.advance(ttl - 1);
        expectEntry(await tier.get(k), written);
        clock.advance(2);
      } else {
        await sleep(written.expiresAt - Date.now() + 100);
      }
      await expect(tier.get(k)).resolves.toBeUndefined();
      expectBytes((await tier.get(survivor))?.bytes, Uint8Array.of(1));
    });

    it("keeps keys apart whatever characters they contain", async () => {
      // Pairs that a careless key → URL or key → Redis mapping would fold together.
      const suffixes = [
        "plain",
        "with space",
        "with+plus",
        "with%20percent-escape",
        "with%2Fencoded-slash",
        "with/slash",
        "with//double/slash/",
        "../dot-dot",
        "./dot",
        "with?query=1&x=2",
        "with#fragment",
        "with:colon:s",
        "lease:with-lease-prefix",
        "v:with-value-prefix",
        "back\\slash",
        "tab\tand\nnewline",
        "quote\"and'apos",
        "caf\u00e9",
        "cafe\u0301",
        "\u65e5\u672c\u8a9e\u30ad\u30fc",
        "emoji-\u{1F600}",
        "x".repeat(400),
      ];
      const keys = suffixes.map((s) => key(s));
      expect(new Set(keys).size).toBe(keys.length);
      const values = keys.map((k) => new TextEncoder().encode(`value of ${k}`));
      for (const [i, k] of keys.entries()) await tier.set(k, entry(values[i] ?? new Uint8Array()));
      for (const [i, k] of keys.entries()) {
        const got = await tier.get(k);
        expect(got, `key ${JSON.stringify(k)}`).toBeDefined();
        expectBytes(got?.bytes, values[i] ?? new Uint8Array());
      }
      // A delete reaches exactly its own key.
      const victim = keys[5] ?? "";
      await tier.delete(victim);
      await expect(tier.get(victim)).resolves.toBeUndefined();
      for (const [i, k] of keys.entries()) {
        if (k !== victim) expectBytes((await tier.get(k))?.bytes, values[i] ?? new Uint8Array());
      }
    });

    it(`serves ${concurrency} concurrent sets and gets of distinct keys`, async () => {
      const keys = Array.from({ length: concurrency }, (_, i) => key(`concurrent-${i}`));
      const values = keys.map((_, i) => pseudoRandomBytes(64 + i * 17, i + 1));
      await Promise.all(keys.map((k, i) => tier.set(k, entry(values[i] ?? new Uint8Array()))));
      const got = await Promise.all(keys.map((k) => tier.get(k)));
      for (const [i, g] of got.entries()) expectBytes(g?.bytes, values[i] ?? new Uint8Array());
      // Writes and reads of different keys interleaved in one burst.
      const more = keys.map((k) => `${k}:again`);
      const results = await Promise.all(
        more.map(async (k, i) => {
          await tier.set(k, entry(values[i] ?? new Uint8Array()));
          return tier.get(k);
        }),
      );
      for (const [i, g] of results.entries()) expectBytes(g?.bytes, values[i] ?? new Uint8Array());
    });
  });
}

export function expectEntry(got: TierEntry | undefined, want: TierEntry): void {
  expect(got).toBeDefined();
  expect(got?.expiresAt).toBe(want.expiresAt);
  expectBytes(got?.bytes, want.bytes);
}

/** Byte equality that reports the first difference instead of diffing a megabyte. */
export function expectBytes(got: Uint8Array | undefined, want: Uint8Array): void {
  expect(got).toBeDefined();
  if (got === undefined) return;
  expect(got).toBeInstanceOf(Uint8Array);
  expect(got.byteLength, "length").toBe(want.byteLength);
  let firstDiff = -1;
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) {
      firstDiff = i;
      break;
    }
  }
  expect(firstDiff, firstDiff < 0 ? "" : `first difference at ${firstDiff}: ${got[firstDiff]} != ${want[firstDiff]}`).toBe(-1);
}

/** Deterministic, incompressible-looking bytes (xorshift32). */
export function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
