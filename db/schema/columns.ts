/**
 * @module Column helpers shared by the schema files.
 */
import { timestamp } from "drizzle-orm/pg-core";

/**
 * Every instant in Strata is `timestamp with time zone`: expiry and alert times
 * are compared across edge regions, so they must name an absolute instant.
 */
export function timestamptz(name: string) {
  return timestamp(name, { withTimezone: true, mode: "date" });
}
