/**
 * @module The whole Strata schema, for drizzle-kit and for application code.
 */
export * from "./enums.ts";
export * from "./users.ts";
export * from "./cache.ts";
export * from "./monitoring.ts";
export * from "./resources.ts";
