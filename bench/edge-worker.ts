/**
 * @module The worker the edge benchmarks load: Strata's app unchanged, plus one bare Hono route
 * with a fixed body. Both live in one bundle and one isolate, so the floor and every cached read
 * share the same process, runtime and HTTP path; only what the route does differs.
 */
import { Hono } from "hono";
import type { AppEnv } from "../edge/env.ts";
import { app } from "../edge/index.ts";

const FLOOR_BODY = JSON.stringify({ ok: true, floor: "a fixed body, no cache, no I/O" });

const bench = new Hono<AppEnv>()
  .get("/__bench/floor", (c) => c.body(FLOOR_BODY, 200, { "content-type": "application/json" }))
  .route("/", app);

export default { fetch: bench.fetch } satisfies ExportedHandler<AppEnv["Bindings"]>;
