/** @module The worker's bindings: every value comes from wrangler vars or secrets, none from the repo. */
import type { Role } from "../core/auth/roles.ts";

export interface Bindings {
  /** Secret. Neon (or any Postgres reachable by the Neon driver) connection string. */
  DATABASE_URL: string;
  /** Local development only: the dev/neon-bridge.ts URL the Neon driver is pointed at. */
  NEON_BRIDGE_URL?: string;
  /** Secret. Upstash Redis REST endpoint and token. */
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
  /** SQS endpoint (https://sqs.<region>.amazonaws.com, or fauxqs locally) and the credentials to sign with. */
  SQS_ENDPOINT: string;
  AWS_REGION?: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  /**
   * Secret, optional. JSON `{"<keyId>": "<base64 of 32 bytes>", …}`: AES-256-GCM keys for
   * strategies with encryption on. Old keys stay listed so entries written with them still decrypt.
   */
  STRATA_ENCRYPTION_KEYS?: string;
  /** The key id in STRATA_ENCRYPTION_KEYS used for new writes. */
  STRATA_ENCRYPTION_KEY_ID?: string;
  /** Prefix of every Redis key the cache writes (default `strata:v1:`); tests isolate runs with it. */
  STRATA_KEY_PREFIX?: string;
  /** Namespace of the Cache API's synthetic URLs (default `strata`). */
  STRATA_CACHE_NAMESPACE?: string;
  /** How stale an isolate's view of invalidations may get before a request waits for it (ms, default 100). */
  STRATA_EPOCH_POLL_MS?: string;
  /** Upper bound for any single call to Postgres, Redis or SQS, in milliseconds (default 2000). */
  DEPENDENCY_TIMEOUT_MS?: string;
}

export interface AuthContext {
  keyId: string;
  userId: string;
  role: Role;
}

export interface AppEnv {
  Bindings: Bindings;
  Variables: { auth: AuthContext };
}
