import { describe, expect, it } from "vitest";
import { base64ToBytes } from "../../core/crypto/base64.ts";
import { generateEncryptionKey, Keyring } from "../../core/crypto/keyring.ts";
import { decodeEnvelope, encodeEnvelope, type Envelope, EnvelopeError } from "../../core/envelope.ts";
import { GOLDEN_ENVELOPE, GOLDEN_ENVELOPE_BASE64, GOLDEN_KEY_ID, GOLDEN_KEYS_JSON } from "../core/envelope-golden.ts";

// The node suite (test/core/envelope.test.ts) covers the format; this proves workerd's
// CompressionStream and WebCrypto produce and accept the same bytes.
describe("envelope in workerd", () => {
  it("round-trips a compressed, encrypted entry and detects tampering", async () => {
    const keyring = await Keyring.fromBindings(JSON.stringify({ k1: generateEncryptionKey() }), "k1");
    const value = { secret: "WORKERD-SECRET-MARKER", items: Array.from({ length: 50 }, (_, i) => ({ i, name: `item ${i}` })) };
    const e: Envelope = {
      value,
      negative: false,
      version: "42",
      strategyId: "s",
      storedAt: Date.now(),
      ttlMs: 1000,
      staleWhileRevalidateMs: 0,
      staleIfErrorMs: 5000,
      tags: ["t:ü"],
      epochs: { t: 1 },
    };
    const bytes = await encodeEnvelope(e, { compress: true, compressionThresholdBytes: 256, encrypt: true, keyring });
    expect(new TextDecoder("latin1").decode(bytes)).not.toContain("WORKERD-SECRET-MARKER");
    const back = await decodeEnvelope(bytes, keyring);
    expect(back).toEqual({ ...e, compressed: true, encrypted: true, keyId: "k1" });

    const bad = bytes.slice();
    bad[bad.length - 1]! ^= 1;
    await expect(decodeEnvelope(bad, keyring)).rejects.toBeInstanceOf(EnvelopeError);
  });

  it("decodes the frozen envelope Node wrote (gzip + AES-GCM)", async () => {
    const keyring = await Keyring.fromBindings(GOLDEN_KEYS_JSON, GOLDEN_KEY_ID);
    expect(await decodeEnvelope(base64ToBytes(GOLDEN_ENVELOPE_BASE64), keyring)).toEqual(GOLDEN_ENVELOPE);
  });

  it("reads a plaintext gzip envelope", async () => {
    const e: Envelope = { value: "x".repeat(4096), negative: false, version: "1", strategyId: "s", storedAt: 0, ttlMs: 1, staleWhileRevalidateMs: 0, staleIfErrorMs: 0, tags: [], epochs: {} };
    const bytes = await encodeEnvelope(e, { compress: true, compressionThresholdBytes: 0, encrypt: false });
    expect(bytes.length).toBeLessThan(200);
    expect((await decodeEnvelope(bytes)).value).toBe(e.value);
  });
});
