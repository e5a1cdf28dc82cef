import { describe, expect, it } from "vitest";
import { digestsEqual, generateApiKey, hashApiKey, parseApiKey } from "../../core/auth/api-key.ts";
import { isRole, roleAtLeast } from "../../core/auth/roles.ts";

describe("api keys", () => {
  it("generates parseable keys whose hash is the SHA-256 hex of the key", async () => {
    const a = await generateApiKey();
    const b = await generateApiKey();
    expect(a.key).not.toBe(b.key);
    expect(parseApiKey(a.key)).toEqual({ prefix: a.prefix, key: a.key });
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await hashApiKey(a.key)).toBe(a.hash);
    expect(a.hash).not.toContain(a.key.slice(16));
  });

  it("rejects keys outside the format", () => {
    for (const bad of ["", "strata_", "strata_ABCDEFGH_" + "a".repeat(20), "strata_abcdefgh_short", "bearer strata_abcdefgh_" + "a".repeat(20)]) {
      expect(parseApiKey(bad)).toBeNull();
    }
  });

  it("compares digests exactly", () => {
    expect(digestsEqual("ab", "ab")).toBe(true);
    expect(digestsEqual("ab", "ac")).toBe(false);
    expect(digestsEqual("ab", "abc")).toBe(false);
  });

  it("orders roles VIEWER < OPERATOR < ADMIN", () => {
    expect(roleAtLeast("ADMIN", "OPERATOR")).toBe(true);
    expect(roleAtLeast("OPERATOR", "OPERATOR")).toBe(true);
    expect(roleAtLeast("VIEWER", "OPERATOR")).toBe(false);
    expect(isRole("ADMIN")).toBe(true);
    expect(isRole("ROOT")).toBe(false);
  });
});
