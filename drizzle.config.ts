import { defineConfig } from "drizzle-kit";
import { defaultDatabaseUrl } from "./db/url.ts";

export default defineConfig({
  dialect: "postgresql",
  schema: "./db/schema/index.ts",
  out: "./db/migrations",
  dbCredentials: {
    // Only the commands that talk to a live database (push, pull, migrate, studio) use this;
    // `generate` works from the schema and the committed snapshots alone.
    url: defaultDatabaseUrl(),
  },
  strict: true,
  verbose: true,
});
