import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Two projects share one global setup (test/global-setup.ts): Node suites for the database,
// bridges, runner and infra, and the worker's suites inside workerd via the Workers integration.
export default defineConfig({
  test: {
    globalSetup: ["./test/global-setup.ts"],
    projects: [
      {
        test: {
          name: "node",
          include: ["test/**/*.test.ts"],
          exclude: ["test/edge/**"],
          environment: "node",
          testTimeout: 30_000,
          hookTimeout: 120_000,
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                DATABASE_URL: inject("databaseUrl"),
                NEON_BRIDGE_URL: inject("neonBridgeUrl"),
                UPSTASH_REDIS_REST_URL: inject("upstashUrl"),
                UPSTASH_REDIS_REST_TOKEN: inject("upstashToken"),
                SQS_ENDPOINT: inject("sqsEndpoint"),
                AWS_REGION: "us-east-1",
                AWS_ACCESS_KEY_ID: "local",
                AWS_SECRET_ACCESS_KEY: "local",
                DEPENDENCY_TIMEOUT_MS: "2000",
                TEST_BLACKHOLE_PORT: String(inject("blackholePort")),
                STRATA_KEY_PREFIX: `strata:test:${inject("runId")}:`,
                STRATA_CACHE_NAMESPACE: `strata-test-${inject("runId")}`,
                STRATA_ENCRYPTION_KEYS: inject("encryptionKeys"),
                STRATA_ENCRYPTION_KEY_ID: "t1",
                TEST_FAULT_CONTROL_URL: inject("faultControlUrl"),
                TEST_FAULT_DATABASE_URL: inject("faultDatabaseUrl"),
                TEST_FAULT_UPSTASH_URL: inject("faultUpstashUrl"),
              },
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["test/edge/**/*.test.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
