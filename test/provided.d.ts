// Values test/global-setup.ts hands to every test file through vitest's inject().
declare module "vitest" {
  export interface ProvidedContext {
    /** A fresh, migrated database for this test run (dropped afterwards). */
    databaseUrl: string;
    redisUrl: string;
    /** Upstash REST bridge over redisUrl. */
    upstashUrl: string;
    upstashToken: string;
    /** Neon WebSocket/HTTP bridge over databaseUrl's server. */
    neonBridgeUrl: string;
    /** A loopback port that accepts connections and never answers (a hung dependency). */
    blackholePort: number;
    /** Unique per `npm test` run: Redis key prefixes and Cache API namespaces are built from it. */
    runId: string;
    /** STRATA_ENCRYPTION_KEYS for the worker under test (key id `t1`). */
    encryptionKeys: string;
    /** Fault-proxy control plane: POST {url}/postgres/mode or /redis/mode with {"mode": "up"|"refuse"|"hang"}. */
    faultControlUrl: string;
    /** The test database reached through the Postgres fault proxy. */
    faultDatabaseUrl: string;
    /** An Upstash bridge whose Redis connection goes through the Redis fault proxy. */
    faultUpstashUrl: string;
    /** fauxqs SQS endpoint. */
    sqsEndpoint: string;
  }
}
export {};
