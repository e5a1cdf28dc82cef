/** @module The Strata worker: a thin Hono shell; the cache engine lives in core/. */
import { Hono } from "hono";
import type { AppEnv } from "./env.ts";
import { jsonError, onError } from "./errors.ts";
import { adminRoutes } from "./routes/admin.ts";
import { apiKeyRoutes } from "./routes/api-keys.ts";
import { cacheRoutes } from "./routes/cache.ts";
import { health } from "./routes/health.ts";
import { invalidationRoutes } from "./routes/invalidations.ts";
import { resourceWriteRoutes } from "./routes/resource-writes.ts";
import { resourceRoutes } from "./routes/resources.ts";

export const app = new Hono<AppEnv>()
  .route("/", health)
  .route("/", apiKeyRoutes)
  .route("/", resourceRoutes)
  .route("/", resourceWriteRoutes)
  .route("/", invalidationRoutes)
  .route("/", adminRoutes)
  .route("/", cacheRoutes)
  .notFound((c) => jsonError(c, 404, "not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`))
  .onError(onError);

export default { fetch: app.fetch } satisfies ExportedHandler<AppEnv["Bindings"]>;
