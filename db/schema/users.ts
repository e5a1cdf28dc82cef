/**
 * @module Operators of Strata (the USER every seed table references) and their API keys.
 */
import { sql } from "drizzle-orm";
import { boolean, char, check, index, pgTable, uuid, varchar } from "drizzle-orm/pg-core";
import { timestamptz } from "./columns.ts";
import { userRole } from "./enums.ts";

export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    email: varchar("email", { length: 320 }).notNull().unique("users_email_key"),
    displayName: varchar("display_name", { length: 255 }).notNull(),
    role: userRole("role").notNull().default("VIEWER"),
    isActive: boolean("is_active").notNull().default(true),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    updatedAt: timestamptz("updated_at").notNull().defaultNow(),
  },
  (t) => [
    // Stored lower-case so the unique constraint is case-insensitive without citext.
    check("users_email_format", sql`${t.email} = lower(${t.email}) AND ${t.email} LIKE '_%@_%'`),
    check("users_display_name_not_blank", sql`btrim(${t.displayName}) <> ''`),
    check("users_updated_after_created", sql`${t.updatedAt} >= ${t.createdAt}`),
  ],
);

export const apiKeys = pgTable(
  "api_keys",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: varchar("name", { length: 100 }).notNull(),
    // The public part of the key, shown in listings and used to find the row. Its format is
    // fixed by api_keys_key_prefix_format; the column is wider so that a longer prefix format
    // would only need a new CHECK, not a column rewrite.
    keyPrefix: varchar("key_prefix", { length: 16 }).notNull().unique("api_keys_key_prefix_key"),
    // Only a digest is stored: a database leak must not yield usable keys.
    keyHash: char("key_hash", { length: 64 }).notNull().unique("api_keys_key_hash_key"),
    // May be lower than the owner's role (a read-only key for an admin); the
    // application caps it at the owner's role, which a CHECK cannot see.
    role: userRole("role").notNull(),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    lastUsedAt: timestamptz("last_used_at"),
    revokedAt: timestamptz("revoked_at"),
  },
  (t) => [
    check("api_keys_name_not_blank", sql`btrim(${t.name}) <> ''`),
    // Exactly what core/auth/api-key.ts generates and parses (`strata_<prefix>_<secret>`): any
    // other prefix could never authenticate, so a row holding one is a bug.
    check("api_keys_key_prefix_format", sql`${t.keyPrefix} ~ '^[a-z0-9]{8}$'`),
    check("api_keys_key_hash_hex", sql`${t.keyHash} ~ '^[0-9a-f]{64}$'`),
    check("api_keys_revoked_after_created", sql`${t.revokedAt} >= ${t.createdAt}`),
    // Authentication looks keys up by prefix and must ignore revoked ones.
    index("idx_api_keys_active_prefix").on(t.keyPrefix).where(sql`${t.revokedAt} IS NULL`),
    index("idx_api_keys_user").on(t.userId),
  ],
);

export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;
export type ApiKey = typeof apiKeys.$inferSelect;
export type NewApiKey = typeof apiKeys.$inferInsert;
