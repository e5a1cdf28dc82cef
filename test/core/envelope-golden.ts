/**
 * @module A format-v1 envelope (gzip + AES-256-GCM) written once by Node and frozen here. Tiers
 * hold entries across deploys and both runtimes read each other's writes, so every runtime must
 * keep decoding these exact bytes; if this stops decoding, the format changed without a version bump.
 */
export const GOLDEN_KEYS_JSON = JSON.stringify({ "fixture-1": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" });
export const GOLDEN_KEY_ID = "fixture-1";
export const GOLDEN_ENVELOPE_BASE64 =
  "UwEDAAAAqnsidiI6IjciLCJzIjoicy1nb2xkZW4iLCJ0IjoxNzUwMDAwMDAwMDAwLCJ0dGwiOjYwMDAwLCJzd3IiOjEwMDAsInNpZSI6MjAwMCwidGFncyI6WyJ3b3Jrb3V0OnctMSJdLCJlcCI6eyJ3b3Jrb3V0OnctMSI6Mn0sIm4iOjM4MiwiayI6ImZpeHR1cmUtMSIsIml2IjoiV1FHd211ekVqSS9QZEo3MyJ99IiyUT3kOofNNiyR27iqjVKq/VqUgnS79TBYV/ZXCYidUdCVHjCKlXbCtkp5chyb8TfIOhWQ7/sNnlSlMqsSNRz8Xw6NXPaoHHUwlZGkAnKK2rXQNCe71T2CHxvaucU3YvnKVLJH7GFhuzgeXj5MeP239KnW60bY8TTaWSc+z/RLQXutAwH3BiZGBc+kl6of";
export const GOLDEN_ENVELOPE = {
  value: { id: "w-1", name: "Golden ü🌍", sets: Array.from({ length: 12 }, (_, i) => ({ reps: 10, rest: 90, i })) },
  negative: false,
  version: "7",
  strategyId: "s-golden",
  storedAt: 1_750_000_000_000,
  ttlMs: 60_000,
  staleWhileRevalidateMs: 1000,
  staleIfErrorMs: 2000,
  tags: ["workout:w-1"],
  epochs: { "workout:w-1": 2 },
  compressed: true,
  encrypted: true,
  keyId: "fixture-1",
};
