/**
 * @module The origin: resources read from Postgres through Drizzle (one SQL statement per load,
 * over Neon's HTTP path), shaped as the value the cache stores and the API returns.
 */
import { and, asc, eq, gt, isNull } from "drizzle-orm";
import type { LoadedValue } from "../core/engine/engine.ts";
import { resourceSlug, type ResourceType } from "../core/types.ts";
import type { HttpDb } from "./client.ts";
import { resources } from "./schema/index.ts";

/** The public shape of a resource (`GET /v1/resources/{type}/{id}`). */
export interface ResourceBody {
  id: string;
  type: string;
  version: number;
  payload: Record<string, unknown>;
  tags: string[];
  updatedAt: string;
}

export async function loadResource(db: HttpDb, type: ResourceType, id: string): Promise<LoadedValue | null> {
  const [row] = await db
    .select({
      id: resources.id,
      version: resources.version,
      payload: resources.payload,
      tags: resources.tags,
      updatedAt: resources.updatedAt,
    })
    .from(resources)
    .where(and(eq(resources.id, id), eq(resources.resourceType, type), isNull(resources.deletedAt)))
    .limit(1);
  if (!row) return null;
  const body: ResourceBody = {
    id: row.id,
    type: resourceSlug(type),
    version: row.version,
    payload: row.payload,
    tags: row.tags,
    // neon-http hands timestamptz back as text once Drizzle's parsers are installed; normalise.
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
  return { value: body, version: String(row.version), tags: row.tags };
}

export interface ResourcePage {
  items: Array<{ id: string; version: number }>;
  nextCursor: string | null;
}

/** Keyset pagination by id over live rows of one type (index idx_resources_type_id). */
export async function listResources(db: HttpDb, type: ResourceType, limit: number, cursor?: string): Promise<ResourcePage> {
  const rows = await db
    .select({ id: resources.id, version: resources.version })
    .from(resources)
    .where(and(eq(resources.resourceType, type), isNull(resources.deletedAt), cursor ? gt(resources.id, cursor) : undefined))
    .orderBy(asc(resources.id))
    .limit(limit + 1);
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { items, nextCursor: more ? (items[items.length - 1]?.id ?? null) : null };
}
