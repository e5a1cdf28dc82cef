/**
 * The WebSocket Pool path of db/client.ts inside workerd (the worker's runtime), through the Neon
 * bridge to real Postgres: interactive transactions commit and roll back.
 */
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { poolDb } from "../../db/client.ts";
import { users } from "../../db/schema/index.ts";
import { db, testEnv } from "./helpers.ts";

function pool() {
  return poolDb({ databaseUrl: testEnv.DATABASE_URL, neonBridgeUrl: testEnv.NEON_BRIDGE_URL, queryTimeoutMs: 5000 });
}

describe("poolDb in workerd", () => {
  it("commits an interactive transaction", async () => {
    const handle = pool();
    const email = `pool-commit-${crypto.randomUUID()}@test.strata.local`;
    try {
      const id = await handle.db.transaction(async (tx) => {
        const [row] = await tx.insert(users).values({ email, displayName: "Pool commit" }).returning({ id: users.id });
        // Read-your-own-write inside the transaction, on the same connection.
        const seen = await tx.select({ email: users.email }).from(users).where(eq(users.id, row?.id ?? ""));
        expect(seen[0]?.email).toBe(email);
        return row?.id;
      });
      const after = await db().select({ id: users.id }).from(users).where(eq(users.email, email));
      expect(after[0]?.id).toBe(id);
    } finally {
      await handle.close();
    }
  });

  it("rolls back everything when the transaction throws", async () => {
    const handle = pool();
    const email = `pool-rollback-${crypto.randomUUID()}@test.strata.local`;
    try {
      const error = await handle.db
        .transaction(async (tx) => {
          await tx.insert(users).values({ email, displayName: "Pool rollback" });
          throw new Error("abort on purpose");
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      const after = await db().select({ id: users.id }).from(users).where(eq(users.email, email));
      expect(after).toEqual([]);
    } finally {
      await handle.close();
    }
  });
});
