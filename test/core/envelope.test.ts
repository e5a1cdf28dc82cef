import { describe, expect, it } from "vitest";
import { base64ToBytes, bytesToBase64 } from "../../core/crypto/base64.ts";
import { generateEncryptionKey, Keyring, KeyringError } from "../../core/crypto/keyring.ts";
import {
  decodeEnvelope,
  encodeEnvelope,
  type EncodeOptions,
  type Envelope,
  EnvelopeError,
  envelopeExpiresAt,
  FLAG_COMPRESSED,
  FLAG_ENCRYPTED,
} from "../../core/envelope.ts";
import { GOLDEN_ENVELOPE, GOLDEN_ENVELOPE_BASE64, GOLDEN_KEY_ID, GOLDEN_KEYS_JSON } from "./envelope-golden.ts";

const SECRET = "SUPER-SECRET-MARKER-7f3a9c";

function entry(overrides: Partial<Envelope> = {}): Envelope {
  return {
    value: { id: "w-1", name: "Leg day", secret: SECRET },
    negative: false,
    version: "9007199254740993",
    strategyId: "strategy-workout",
    storedAt: 1_750_000_000_000,
    ttlMs: 60_000,
    staleWhileRevalidateMs: 30_000,
    staleIfErrorMs: 300_000,
    tags: ["workout:w-1", "user:u-7"],
    epochs: { "workout:w-1": 3, "strategy:strategy-workout": 1 },
    ...overrides,
  };
}

/** A ~2 KB JSON object that gzip shrinks well, like a real resource row. */
function compressible(): unknown {
  return {
    id: "w-1",
    secret: SECRET,
    exercises: Array.from({ length: 34 }, (_, i) => ({ name: `Exercise ${i}`, sets: 3, reps: 10, restSeconds: 90 })),
  };
}

const plain: EncodeOptions = { compress: false, compressionThresholdBytes: 1024, encrypt: false };

async function ring(keys: Record<string, string>, current: string): Promise<Keyring> {
  const r = await Keyring.fromBindings(JSON.stringify(keys), current);
  if (!r) throw new Error("expected a keyring");
  return r;
}

function contains(haystack: Uint8Array, needle: string): boolean {
  const n = new TextEncoder().encode(needle);
  outer: for (let i = 0; i + n.length <= haystack.length; i++) {
    for (let j = 0; j < n.length; j++) if (haystack[i + j] !== n[j]) continue outer;
    return true;
  }
  return false;
}

/** Rewrites a plaintext envelope's header, keeping flags and body: for crafting inconsistent input. */
function rewriteHeader(bytes: Uint8Array, edit: (h: Record<string, unknown>) => void): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = view.getUint32(3);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(7, 7 + len))) as Record<string, unknown>;
  edit(header);
  const h = new TextEncoder().encode(JSON.stringify(header));
  const body = bytes.subarray(7 + len);
  const out = new Uint8Array(7 + h.length + body.length);
  out.set(bytes.subarray(0, 3));
  new DataView(out.buffer).setUint32(3, h.length);
  out.set(h, 7);
  out.set(body, 7 + h.length);
  return out;
}

async function expectEnvelopeError(p: Promise<unknown>, reason?: EnvelopeError["reason"]): Promise<EnvelopeError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EnvelopeError);
  if (reason) expect((err as EnvelopeError).reason).toBe(reason);
  return err as EnvelopeError;
}

describe("envelope round trips", () => {
  it("keeps every field of a positive entry", async () => {
    const e = entry();
    const back = await decodeEnvelope(await encodeEnvelope(e, plain));
    expect(back).toEqual({ ...e, compressed: false, encrypted: false });
  });

  it("keeps a negative entry without a value, and refuses inconsistent ones", async () => {
    const e = entry({ value: undefined, negative: true, tags: [], epochs: {}, staleWhileRevalidateMs: 0, staleIfErrorMs: 0 });
    const bytes = await encodeEnvelope(e, plain);
    const back = await decodeEnvelope(bytes);
    expect(back.negative).toBe(true);
    expect("value" in back).toBe(false);
    expect(back).toEqual({ ...e, compressed: false, encrypted: false });
    await expectEnvelopeError(encodeEnvelope(entry({ negative: true }), plain), "invalid");
    await expectEnvelopeError(encodeEnvelope(entry({ value: undefined }), plain), "invalid");
  });

  it("stores JSON null, scalars and unicode exactly", async () => {
    for (const value of [null, 0, -1.5, true, "", "héllo 🌍 ✓ \u0000 \u2028 \ud7ff", ["ü", { "ключ": "值" }]]) {
      const back = await decodeEnvelope(await encodeEnvelope(entry({ value }), plain));
      expect(back.value).toEqual(value);
    }
    const back = await decodeEnvelope(await encodeEnvelope(entry({ tags: ["tag:ü🌍"], epochs: { "é": 2 } }), plain));
    expect(back.tags).toEqual(["tag:ü🌍"]);
    expect(back.epochs).toEqual({ "é": 2 });
  });

  it("round-trips a large value through gzip and AES-GCM", async () => {
    const keyring = await ring({ k1: generateEncryptionKey() }, "k1");
    const value = Array.from({ length: 20_000 }, (_, i) => ({ i, name: `item-${i}`, unicode: "ß🌍" }));
    const bytes = await encodeEnvelope(entry({ value }), { compress: true, compressionThresholdBytes: 1024, encrypt: true, keyring });
    const json = JSON.stringify(value);
    expect(bytes.length).toBeLessThan(json.length / 4);
    const back = await decodeEnvelope(bytes, keyring);
    expect(back.value).toEqual(value);
    expect(back.compressed).toBe(true);
    expect(back.encrypted).toBe(true);
    expect(back.keyId).toBe("k1");
  });

  it("decodes from a view at a non-zero offset of a larger buffer", async () => {
    const bytes = await encodeEnvelope(entry(), { compress: true, compressionThresholdBytes: 0, encrypt: false });
    const big = new Uint8Array(bytes.length + 13);
    big.set(bytes, 5);
    const back = await decodeEnvelope(big.subarray(5, 5 + bytes.length));
    expect(back.value).toEqual(entry().value);
  });

  it("omits zero windows and empty tags/epochs from the header yet decodes them as such", async () => {
    const e = entry({ value: 1, tags: [], epochs: {}, staleWhileRevalidateMs: 0, staleIfErrorMs: 0 });
    const bytes = await encodeEnvelope(e, plain);
    const header = new TextDecoder().decode(bytes.subarray(7));
    expect(header).toBe('{"v":"9007199254740993","s":"strategy-workout","t":1750000000000,"ttl":60000}1');
    expect(await decodeEnvelope(bytes)).toEqual({ ...e, compressed: false, encrypted: false });
  });

  it("rejects values and timings that cannot round-trip", async () => {
    await expectEnvelopeError(encodeEnvelope(entry({ value: () => 1 }), plain), "invalid");
    await expectEnvelopeError(encodeEnvelope(entry({ ttlMs: -1 }), plain), "invalid");
    await expectEnvelopeError(encodeEnvelope(entry({ storedAt: 1.5 }), plain), "invalid");
    await expectEnvelopeError(encodeEnvelope(entry({ staleIfErrorMs: Number.NaN }), plain), "invalid");
    await expectEnvelopeError(encodeEnvelope(entry({ epochs: { a: Number.POSITIVE_INFINITY } }), plain), "invalid");
    await expect(encodeEnvelope(entry({ value: { n: 1n } }), plain)).rejects.toThrow(TypeError);
  });
});

describe("compression", () => {
  it("compresses only at or above the threshold, and the result is smaller", async () => {
    const value = compressible();
    const size = new TextEncoder().encode(JSON.stringify(value)).length;
    expect(size).toBeGreaterThan(1900);
    const raw = await encodeEnvelope(entry({ value }), plain);
    const packed = await encodeEnvelope(entry({ value }), { compress: true, compressionThresholdBytes: size, encrypt: false });
    const below = await encodeEnvelope(entry({ value }), { compress: true, compressionThresholdBytes: size + 1, encrypt: false });
    expect(packed[2]! & FLAG_COMPRESSED).toBe(FLAG_COMPRESSED);
    expect(packed.length).toBeLessThan(raw.length / 3);
    expect(below).toEqual(raw);
    expect((await decodeEnvelope(packed)).compressed).toBe(true);
    expect((await decodeEnvelope(packed)).value).toEqual(value);
    expect((await decodeEnvelope(below)).compressed).toBe(false);
  });

  it("stores raw when gzip would not shrink the body", async () => {
    const bytes = await encodeEnvelope(entry({ value: "ab" }), { compress: true, compressionThresholdBytes: 0, encrypt: false });
    expect(bytes[2]! & FLAG_COMPRESSED).toBe(0);
    expect((await decodeEnvelope(bytes)).value).toBe("ab");
  });

  it("never compresses when the strategy disables it", async () => {
    const bytes = await encodeEnvelope(entry({ value: compressible() }), { compress: false, compressionThresholdBytes: 0, encrypt: false });
    expect(bytes[2]! & FLAG_COMPRESSED).toBe(0);
  });

  it("rejects a body that inflates to more or less than its header declares, and corrupt gzip", async () => {
    const bytes = await encodeEnvelope(entry({ value: compressible() }), { compress: true, compressionThresholdBytes: 0, encrypt: false });
    const shorter = rewriteHeader(bytes, (h) => {
      h.n = (h.n as number) - 1;
    });
    expect((await expectEnvelopeError(decodeEnvelope(shorter), "corrupt")).message).toContain("beyond");
    const longer = rewriteHeader(bytes, (h) => {
      h.n = (h.n as number) + 1;
    });
    await expectEnvelopeError(decodeEnvelope(longer), "corrupt");
    // A corrupt length must fail before decode allocates it.
    const huge = rewriteHeader(bytes, (h) => {
      h.n = 2 ** 40;
    });
    expect((await expectEnvelopeError(decodeEnvelope(huge), "corrupt")).message).toContain("cannot inflate");
    const broken = bytes.slice();
    broken[broken.length - 20]! ^= 0xff;
    await expectEnvelopeError(decodeEnvelope(broken), "corrupt");
  });
});

describe("encryption", () => {
  it("never writes the plaintext, and every encode uses a fresh IV", async () => {
    const keyring = await ring({ k1: generateEncryptionKey() }, "k1");
    for (const compress of [false, true]) {
      const opts: EncodeOptions = { compress, compressionThresholdBytes: 0, encrypt: true, keyring };
      const a = await encodeEnvelope(entry({ value: compressible() }), opts);
      const b = await encodeEnvelope(entry({ value: compressible() }), opts);
      expect(a[2]! & FLAG_ENCRYPTED).toBe(FLAG_ENCRYPTED);
      expect(contains(a, SECRET)).toBe(false);
      expect(contains(a, "Exercise")).toBe(false);
      expect(contains(await encodeEnvelope(entry({ value: compressible() }), { ...opts, encrypt: false }), SECRET)).toBe(!compress);
      expect(a).not.toEqual(b);
      expect((await decodeEnvelope(a, keyring)).value).toEqual(compressible());
      expect((await decodeEnvelope(b, keyring)).value).toEqual(compressible());
    }
  });

  it("fails closed: encrypt without a keyring throws instead of storing plaintext", async () => {
    const err = await expectEnvelopeError(encodeEnvelope(entry(), { compress: false, compressionThresholdBytes: 0, encrypt: true }), "invalid");
    expect(err.message).toContain("STRATA_ENCRYPTION_KEYS");
  });

  it("detects tampering with any byte of an encrypted envelope", async () => {
    const keyring = await ring({ k1: generateEncryptionKey() }, "k1");
    for (const compress of [false, true]) {
      const bytes = await encodeEnvelope(entry({ value: compress ? compressible() : entry().value }), {
        compress,
        compressionThresholdBytes: 0,
        encrypt: true,
        keyring,
      });
      for (let i = 0; i < bytes.length; i++) {
        for (const mask of [0x01, 0x80]) {
          const bad = bytes.slice();
          bad[i]! ^= mask;
          await expectEnvelopeError(decodeEnvelope(bad, keyring));
        }
      }
    }
  });

  it("encrypts negative entries too, so their metadata is authenticated", async () => {
    const keyring = await ring({ k1: generateEncryptionKey() }, "k1");
    const e = entry({ value: undefined, negative: true });
    const bytes = await encodeEnvelope(e, { compress: true, compressionThresholdBytes: 0, encrypt: true, keyring });
    expect(await decodeEnvelope(bytes, keyring)).toEqual({ ...e, compressed: false, encrypted: true, keyId: "k1" });
    const bad = rewriteHeader(bytes, (h) => {
      h.t = (h.t as number) + 1;
    });
    await expectEnvelopeError(decodeEnvelope(bad, keyring), "auth");
  });

  it("binds an encrypted entry to its cache key, so a copy under another key fails", async () => {
    const keyring = await ring({ k1: generateEncryptionKey() }, "k1");
    const bytes = await encodeEnvelope(entry(), { compress: false, compressionThresholdBytes: 0, encrypt: true, keyring, cacheKey: "user_profile:1" });
    expect((await decodeEnvelope(bytes, keyring, { cacheKey: "user_profile:1" })).value).toEqual(entry().value);
    await expectEnvelopeError(decodeEnvelope(bytes, keyring, { cacheKey: "user_profile:2" }), "auth");
    await expectEnvelopeError(decodeEnvelope(bytes, keyring), "auth");
    const unbound = await encodeEnvelope(entry(), { compress: false, compressionThresholdBytes: 0, encrypt: true, keyring });
    await expectEnvelopeError(decodeEnvelope(unbound, keyring, { cacheKey: "user_profile:1" }), "auth");
  });

  it("refuses a plaintext envelope when the strategy requires encryption", async () => {
    const keyring = await ring({ k1: generateEncryptionKey() }, "k1");
    const planted = await encodeEnvelope(entry(), plain);
    await expectEnvelopeError(decodeEnvelope(planted, keyring, { requireEncrypted: true }), "unencrypted");
    const sealed = await encodeEnvelope(entry(), { compress: false, compressionThresholdBytes: 0, encrypt: true, keyring });
    expect((await decodeEnvelope(sealed, keyring, { requireEncrypted: true })).encrypted).toBe(true);
  });

  it("names an unknown key id, and a missing keyring", async () => {
    const writer = await ring({ old: generateEncryptionKey() }, "old");
    const reader = await ring({ other: generateEncryptionKey() }, "other");
    const bytes = await encodeEnvelope(entry(), { compress: false, compressionThresholdBytes: 0, encrypt: true, keyring: writer });
    const err = await expectEnvelopeError(decodeEnvelope(bytes, reader), "unknown-key");
    expect(err.message).toContain('unknown key id "old"');
    await expectEnvelopeError(decodeEnvelope(bytes), "no-keyring");
  });

  it("fails authentication under the wrong key with the same id", async () => {
    const a = await ring({ k1: generateEncryptionKey() }, "k1");
    const b = await ring({ k1: generateEncryptionKey() }, "k1");
    const bytes = await encodeEnvelope(entry(), { compress: false, compressionThresholdBytes: 0, encrypt: true, keyring: a });
    await expectEnvelopeError(decodeEnvelope(bytes, b), "auth");
  });

  it("rotates: entries under the old key stay readable, new ones use the new key", async () => {
    const keys = { k1: generateEncryptionKey(), k2: generateEncryptionKey() };
    const before = await ring(keys, "k1");
    const old = await encodeEnvelope(entry(), { compress: false, compressionThresholdBytes: 0, encrypt: true, keyring: before });
    const after = await ring(keys, "k2");
    expect(after.currentKeyId).toBe("k2");
    const fresh = await encodeEnvelope(entry(), { compress: false, compressionThresholdBytes: 0, encrypt: true, keyring: after });
    expect((await decodeEnvelope(old, after)).keyId).toBe("k1");
    expect((await decodeEnvelope(fresh, after)).keyId).toBe("k2");
    expect((await decodeEnvelope(old, after)).value).toEqual(entry().value);
    // Once k1 is retired from the binding, its entries read as misses, not as garbage.
    const retired = await ring({ k2: keys.k2 }, "k2");
    await expectEnvelopeError(decodeEnvelope(old, retired), "unknown-key");
    expect((await decodeEnvelope(fresh, retired)).value).toEqual(entry().value);
  });
});

describe("corrupt input", () => {
  it("rejects every truncation of an envelope", async () => {
    const keyring = await ring({ k1: generateEncryptionKey() }, "k1");
    const variants = [
      await encodeEnvelope(entry(), plain),
      await encodeEnvelope(entry({ value: compressible() }), { compress: true, compressionThresholdBytes: 0, encrypt: false }),
      await encodeEnvelope(entry(), { compress: false, compressionThresholdBytes: 0, encrypt: true, keyring }),
    ];
    for (const bytes of variants) {
      for (let n = 0; n < bytes.length; n++) await expectEnvelopeError(decodeEnvelope(bytes.subarray(0, n), keyring));
    }
  });

  it("rejects foreign bytes, newer formats and unknown flags", async () => {
    const bytes = await encodeEnvelope(entry(), plain);
    await expectEnvelopeError(decodeEnvelope(new TextEncoder().encode('{"value":1}')), "corrupt");
    const newer = bytes.slice();
    newer[1] = 2;
    expect((await expectEnvelopeError(decodeEnvelope(newer), "unsupported")).message).toContain("version 2");
    const flagged = bytes.slice();
    flagged[2] = 0x08;
    await expectEnvelopeError(decodeEnvelope(flagged), "unsupported");
    const hugeHeader = bytes.slice();
    new DataView(hugeHeader.buffer).setUint32(3, 0xffffffff);
    await expectEnvelopeError(decodeEnvelope(hugeHeader), "corrupt");
  });

  it("rejects headers with missing or mistyped fields, and bodies that are not JSON", async () => {
    const bytes = await encodeEnvelope(entry(), plain);
    const edits: Array<(h: Record<string, unknown>) => void> = [
      (h) => delete h.v,
      (h) => (h.s = 1),
      (h) => (h.t = "now"),
      (h) => (h.ttl = -5),
      (h) => (h.swr = null),
      (h) => (h.tags = [1]),
      (h) => (h.ep = { a: "1" }),
    ];
    for (const edit of edits) await expectEnvelopeError(decodeEnvelope(rewriteHeader(bytes, edit)), "corrupt");
    const badBody = bytes.slice();
    badBody[badBody.length - 1] = 0xff;
    await expectEnvelopeError(decodeEnvelope(badBody), "corrupt");
    const negativeWithBody = bytes.slice();
    negativeWithBody[2] = 0b100;
    await expectEnvelopeError(decodeEnvelope(negativeWithBody), "corrupt");
  });
});

describe("format stability", () => {
  it("still decodes the frozen v1 envelope", async () => {
    const keyring = await Keyring.fromBindings(GOLDEN_KEYS_JSON, GOLDEN_KEY_ID);
    expect(await decodeEnvelope(base64ToBytes(GOLDEN_ENVELOPE_BASE64), keyring)).toEqual(GOLDEN_ENVELOPE);
  });
});

describe("envelopeExpiresAt", () => {
  it("is the end of the longer stale window", () => {
    expect(envelopeExpiresAt(entry())).toBe(1_750_000_000_000 + 60_000 + 300_000);
    expect(envelopeExpiresAt(entry({ staleWhileRevalidateMs: 900_000 }))).toBe(1_750_000_000_000 + 60_000 + 900_000);
    expect(envelopeExpiresAt(entry({ staleWhileRevalidateMs: 0, staleIfErrorMs: 0 }))).toBe(1_750_000_000_000 + 60_000);
  });
});

describe("Keyring", () => {
  it("is undefined when neither binding is set", async () => {
    expect(await Keyring.fromBindings(undefined, undefined)).toBeUndefined();
    expect(await Keyring.fromBindings("", " ")).toBeUndefined();
  });

  it("validates the bindings with errors that name them and never echo key material", async () => {
    const key = generateEncryptionKey();
    const short = bytesToBase64(new Uint8Array(16));
    const cases: Array<[string | undefined, string | undefined, string]> = [
      [undefined, "k1", "STRATA_ENCRYPTION_KEY_ID is set but STRATA_ENCRYPTION_KEYS is not"],
      [JSON.stringify({ k1: key }), undefined, "STRATA_ENCRYPTION_KEYS is set but STRATA_ENCRYPTION_KEY_ID is not"],
      [`{"k1": "${key}"`, "k1", "STRATA_ENCRYPTION_KEYS is not valid JSON"],
      [JSON.stringify([key]), "k1", "must be a JSON object"],
      ["{}", "k1", "holds no keys"],
      [JSON.stringify({ k1: 42 }), "k1", "must be a base64 string"],
      [JSON.stringify({ k1: "not base64!" }), "k1", "is not valid base64"],
      [JSON.stringify({ k1: short }), "k1", "must decode to 32 bytes (AES-256), got 16"],
      [JSON.stringify({ "bad id": key }), "bad id", "key id"],
      [JSON.stringify({ k1: key }), "k2", 'STRATA_ENCRYPTION_KEY_ID names key "k2"'],
    ];
    for (const [keys, id, message] of cases) {
      const err = await Keyring.fromBindings(keys, id).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, message).toBeInstanceOf(KeyringError);
      expect((err as Error).message).toContain(message);
      expect((err as Error).message).not.toContain(key);
    }
  });

  it("imports keys once per binding value, and retries after a failure", async () => {
    const json = JSON.stringify({ a: generateEncryptionKey(), b: generateEncryptionKey() });
    const r1 = await Keyring.fromBindings(json, "a");
    const r2 = await Keyring.fromBindings(json, "a");
    expect(r2).toBe(r1);
    expect(r1?.keyIds).toEqual(["a", "b"]);
    expect(await Keyring.fromBindings(json, "b")).not.toBe(r1);
    await expect(Keyring.fromBindings(json, "c")).rejects.toThrow(KeyringError);
    await expect(Keyring.fromBindings(json, "c")).rejects.toThrow(KeyringError);
  });

  it("accepts URL-safe base64 and unpadded keys, and holds non-extractable AES-GCM keys", async () => {
    const raw = crypto.getRandomValues(new Uint8Array(32));
    const urlSafe = bytesToBase64(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const r = await ring({ k: urlSafe }, "k");
    const key = r.current().key;
    expect(key.extractable).toBe(false);
    expect(key.algorithm.name).toBe("AES-GCM");
    expect(base64ToBytes(urlSafe)).toEqual(raw);
    expect(base64ToBytes(generateEncryptionKey())).toHaveLength(32);
  });
});
