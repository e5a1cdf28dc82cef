/** @module Database handles for the Lambdas, configured from the environment once per container. */
import { httpDb } from "../db/client.ts";
import { dependencyTimeoutMs } from "./deps.ts";

let http: ReturnType<typeof httpDb> | undefined;

function config() {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error("DATABASE_URL is not set for this function");
  return {
    databaseUrl,
    neonBridgeUrl: process.env.NEON_BRIDGE_URL || undefined,
    queryTimeoutMs: dependencyTimeoutMs(10_000),
  };
}

/** The HTTP driver: one round trip per statement or batch, nothing to keep open between invocations. */
export function functionsHttpDb(): ReturnType<typeof httpDb> {
  http ??= httpDb(config());
  return http;
}
