/**
 * @module Resource writes in Postgres. Each is one SQL statement (data-modifying CTEs), so the
 * version check, the row and its dependency edges commit together over Neon's HTTP path, which
 * has no interactive transactions.
 *
 * Versions: every write bumps `resources.version`; `If-Match` compares against it inside the
 * statement, so of two writers holding the same version exactly one succeeds.
 */
import { sql } from "drizzle-orm";
import type { ResourceType } from "../core/types.ts";
import type { DeleteOutcome, ResourceWrite, WriteOutcome } from "../core/write/write-path.ts";
import type { HttpDb } from "./client.ts";
import { pgTextArray } from "./invalidation.ts";

function uuidArray(ids: readonly string[]): string {
  return `{${ids.join(",")}}`;
}

/** Write-through and write-around: the row, its tags and (optionally) its edges, in one statement. */
export async function writeResource(db: HttpDb, w: ResourceWrite): Promise<WriteOutcome> {
  const expected = typeof w.ifMatch === "number" ? w.ifMatch : null;
  const mustExist = w.ifMatch !== undefined;
  const replaceEdges = w.dependsOn !== undefined;
  const children = uuidArray(w.dependsOn ?? []);
  const result = await db.execute(sql`
    with prev as (
      select id, resource_type, version, tags, deleted_at from resources where id = ${w.id}::uuid
    ), written as (
      insert into resources as r (id, resource_type, payload, tags, version)
      select ${w.id}::uuid, ${w.type}::resource_type, ${JSON.stringify(w.payload)}::jsonb, ${pgTextArray(w.tags)}::text[], 1
      where not ${mustExist}::boolean or exists (select 1 from prev where deleted_at is null)
      on conflict (id) do update set
        payload = excluded.payload, tags = excluded.tags, version = r.version + 1,
        updated_at = greatest(now(), r.created_at), deleted_at = null
      where r.resource_type = excluded.resource_type
        and (${expected}::bigint is null or (r.version = ${expected}::bigint and r.deleted_at is null))
        and (not ${mustExist}::boolean or r.deleted_at is null)
      returning r.id, r.version, r.updated_at
    ), dropped as (
      delete from resource_dependencies d
      where ${replaceEdges}::boolean and d.parent_id in (select id from written)
        and not (d.child_id = any(${children}::uuid[]))
    ), added as (
      insert into resource_dependencies (parent_id, child_id)
      select w.id, c from written w, unnest(${children}::uuid[]) c where ${replaceEdges}::boolean
      on conflict do nothing
    )
    select w.version, w.updated_at, p.version as prev_version, p.resource_type as prev_type, p.tags as prev_tags,
           p.deleted_at as prev_deleted, (p.id is null) as created
    from (select 1) one left join written w on true left join prev p on true`);
  const first = outcome(result.rows[0], w.type);
  if (first.ok || first.reason !== "precondition" || first.current === null) return first;
  // The statement's snapshot predates a concurrent writer that won: report the version it left.
  const now = await currentVersion(db, w.type, w.id);
  return { ok: false, reason: "precondition", current: now?.live ? now.version : null };
}

function outcome(raw: unknown, type: ResourceType): WriteOutcome {
  const row = raw as {
    version: string | number | null;
    updated_at: string | null;
    prev_version: string | number | null;
    prev_type: ResourceType | null;
    prev_tags: string[] | string | null;
    prev_deleted: string | null;
    created: boolean;
  };
  if (row.version !== null) {
    return {
      ok: true,
      version: Number(row.version),
      created: row.created,
      previousTags: parseTextArray(row.prev_tags),
      updatedAt: new Date(row.updated_at ?? Date.now()).toISOString(),
    };
  }
  if (row.prev_type !== null && row.prev_type !== type) return { ok: false, reason: "type-conflict", actualType: row.prev_type };
  return { ok: false, reason: "precondition", current: row.prev_version === null || row.prev_deleted !== null ? null : Number(row.prev_version) };
}

/** neon-http returns text[] as an array; a bare client may hand back the literal. */
function parseTextArray(raw: string[] | string | null): string[] {
  if (raw === null) return [];
  if (Array.isArray(raw)) return raw;
  const inner = raw.replace(/^\{|\}$/g, "");
  return inner === "" ? [] : inner.split(",").map((t) => t.replace(/^"|"$/g, "").replace(/\\(.)/g, "$1"));
}

/** Soft delete: the row stays (cascades and audit still see it), its version moves on. */
export async function deleteResource(db: HttpDb, type: ResourceType, id: string, ifMatch?: number | "*"): Promise<DeleteOutcome> {
  const expected = typeof ifMatch === "number" ? ifMatch : null;
  const result = await db.execute(sql`
    with prev as (
      select version, tags from resources where id = ${id}::uuid and resource_type = ${type}::resource_type and deleted_at is null
    ), gone as (
      update resources r set deleted_at = greatest(now(), r.created_at), updated_at = greatest(now(), r.created_at), version = r.version + 1
      where r.id = ${id}::uuid and r.resource_type = ${type}::resource_type and r.deleted_at is null
        and (${expected}::bigint is null or r.version = ${expected}::bigint)
      returning r.version
    )
    select g.version, p.version as prev_version, p.tags as prev_tags from (select 1) one left join gone g on true left join prev p on true`);
  const row = result.rows[0] as { version: string | number | null; prev_version: string | number | null; prev_tags: string[] | string | null };
  if (row.version !== null) return { ok: true, version: Number(row.version), previousTags: parseTextArray(row.prev_tags) };
  if (row.prev_version === null) return { ok: false, reason: "not-found" };
  return { ok: false, reason: "precondition", current: Number(row.prev_version) };
}

/** The live version of a resource (null when absent or deleted): write-behind's starting point. */
export async function currentVersion(db: HttpDb, type: ResourceType, id: string): Promise<{ version: number; live: boolean } | null> {
  const result = await db.execute(sql`
    select version, deleted_at is null as live from resources where id = ${id}::uuid and resource_type = ${type}::resource_type`);
  const row = result.rows[0] as { version: string | number; live: boolean } | undefined;
  return row ? { version: Number(row.version), live: row.live } : null;
}

export interface PersistWrite {
  type: ResourceType;
  id: string;
  version: number;
  /** Null: the write was a delete. */
  payload: Record<string, unknown> | null;
  tags: readonly string[];
  dependsOn?: readonly string[] | undefined;
}

/**
 * Write-behind persistence: applies a queued write only if it is newer than what Postgres has, so
 * a redelivered or out-of-order message changes nothing. Resolves whether it was applied.
 */
export async function persistWrite(db: HttpDb, w: PersistWrite): Promise<boolean> {
  const replaceEdges = w.dependsOn !== undefined && w.payload !== null;
  const children = uuidArray(w.dependsOn ?? []);
  const deleted = w.payload === null;
  const result = await db.execute(sql`
    with written as (
      insert into resources as r (id, resource_type, payload, tags, version, deleted_at)
      values (${w.id}::uuid, ${w.type}::resource_type, ${JSON.stringify(w.payload ?? {})}::jsonb, ${pgTextArray(w.tags)}::text[], ${w.version},
              case when ${deleted}::boolean then now() end)
      on conflict (id) do update set
        payload = case when ${deleted}::boolean then r.payload else excluded.payload end,
        tags = case when ${deleted}::boolean then r.tags else excluded.tags end,
        version = excluded.version,
        updated_at = greatest(now(), r.created_at),
        deleted_at = case when ${deleted}::boolean then greatest(now(), r.created_at) end
      where r.version < excluded.version and r.resource_type = excluded.resource_type
      returning r.id
    ), dropped as (
      delete from resource_dependencies d
      where ${replaceEdges}::boolean and d.parent_id in (select id from written) and not (d.child_id = any(${children}::uuid[]))
    ), added as (
      insert into resource_dependencies (parent_id, child_id)
      select w.id, c from written w, unnest(${children}::uuid[]) c where ${replaceEdges}::boolean
      on conflict do nothing
    )
    select count(*)::int as n from written`);
  return Number((result.rows[0] as { n: number }).n) > 0;
}
