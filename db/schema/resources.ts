/**
 * @module The origin data Strata caches: versioned JSON documents of the
 * seeds' eight resource types, and the edges used for dependency cascades.
 */
import { sql } from "drizzle-orm";
import { bigint, check, index, jsonb, pgTable, primaryKey, text, uuid, varchar } from "drizzle-orm/pg-core";
import { timestamptz } from "./columns.ts";
import { resourceType } from "./enums.ts";

export const resources = pgTable(
  "resources",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    resourceType: resourceType("resource_type").notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    // Bumped on every write; cache entries carry it so a stale write-behind or
    // a late refresh can never overwrite a newer value.
    version: bigint("version", { mode: "number" }).notNull().default(1),
    tags: text("tags").array().notNull().default(sql`'{}'::text[]`),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    updatedAt: timestamptz("updated_at").notNull().defaultNow(),
    // Soft delete: the row stays so that cascades and audit can still see it.
    deletedAt: timestamptz("deleted_at"),
  },
  (t) => [
    check("resources_version_positive", sql`${t.version} >= 1`),
    check("resources_payload_object", sql`jsonb_typeof(${t.payload}) = 'object'`),
    check("resources_tags_no_nulls", sql`array_position(${t.tags}, NULL) IS NULL`),
    check("resources_updated_after_created", sql`${t.updatedAt} >= ${t.createdAt}`),
    check("resources_deleted_after_created", sql`${t.deletedAt} >= ${t.createdAt}`),
    index("idx_resources_tags").using("gin", t.tags),
    // Keyset pagination over live rows of one type: WHERE resource_type = $1 AND id > $2 ORDER BY id.
    index("idx_resources_type_id").on(t.resourceType, t.id).where(sql`${t.deletedAt} IS NULL`),
  ],
);

export const resourceDependencies = pgTable(
  "resource_dependencies",
  {
    parentId: uuid("parent_id")
      .notNull()
      .references(() => resources.id, { onDelete: "cascade" }),
    childId: uuid("child_id")
      .notNull()
      .references(() => resources.id, { onDelete: "cascade" }),
    // CONTAINS (program → workout → exercise), TRANSLATION, MEDIA, ...
    relation: varchar("relation", { length: 50 }).notNull().default("CONTAINS"),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: "resource_dependencies_pkey", columns: [t.parentId, t.childId] }),
    check("resource_dependencies_no_self_edge", sql`${t.parentId} <> ${t.childId}`),
    check("resource_dependencies_relation_format", sql`${t.relation} ~ '^[A-Z][A-Z_]*$'`),
    // A change to a child invalidates its parents: the cascade walks child → parent.
    index("idx_resource_dependencies_child").on(t.childId),
  ],
);

export type Resource = typeof resources.$inferSelect;
export type NewResource = typeof resources.$inferInsert;
export type ResourceDependency = typeof resourceDependencies.$inferSelect;
export type NewResourceDependency = typeof resourceDependencies.$inferInsert;
