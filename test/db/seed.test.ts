/**
 * The demo seed: a full-size run on a fresh database, then a second run that
 * must find everything in place and change nothing.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cacheBehavior, invalidationStrategy, layerName, resourceType } from "../../db/schema/enums.ts";
import { buildSeedGraph } from "../../db/seed-data.ts";
import { type SeedSummary, seedDatabase } from "../../db/seed.ts";
import { type ScratchDatabase, createMigratedDatabase } from "./helpers.ts";

let scratch: ScratchDatabase;
let client: pg.Client;
let first: SeedSummary;

beforeAll(async () => {
  scratch = await createMigratedDatabase();
  first = await seedDatabase(scratch.url);
  console.info(`seed: ${first.totals.resources} resources, ${first.totals.resourceDependencies} edges in ${first.durationMs} ms`);
  client = new pg.Client({ connectionString: scratch.url });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await scratch?.drop();
});

const rows = async <T extends pg.QueryResultRow>(sql: string): Promise<T[]> => (await client.query<T>(sql)).rows;

describe("seedDatabase", () => {
  it("loads two users, five layers, a strategy per resource type and at least 10,000 resources", () => {
    expect(first.inserted).toEqual(first.totals);
    expect(first.totals.users).toBe(2);
    expect(first.totals.cacheLayers).toBe(5);
    expect(first.totals.cacheStrategies).toBe(resourceType.enumValues.length);
    expect(first.totals.resources).toBeGreaterThanOrEqual(10_000);
    expect(first.totals.resources).toBe(12_000);
  });

  it("covers every layer, resource type, behaviour and invalidation strategy", async () => {
    const layers = await rows<{ layer_name: string; cache_level: number }>("SELECT layer_name, cache_level FROM cache_layer ORDER BY cache_level");
    expect(layers.map((l) => l.layer_name)).toEqual(layerName.enumValues);
    const strategies = await rows<{ resource_type: string; cache_behavior: string; invalidation_strategy: string }>(
      "SELECT resource_type, cache_behavior, invalidation_strategy FROM cache_strategy",
    );
    expect(new Set(strategies.map((s) => s.resource_type))).toEqual(new Set(resourceType.enumValues));
    expect(new Set(strategies.map((s) => s.cache_behavior))).toEqual(new Set(cacheBehavior.enumValues));
    expect(new Set(strategies.map((s) => s.invalidation_strategy))).toEqual(new Set(invalidationStrategy.enumValues));
    const types = await rows<{ resource_type: string }>("SELECT DISTINCT resource_type FROM resources");
    expect(new Set(types.map((t) => t.resource_type))).toEqual(new Set(resourceType.enumValues));
  });

  it("keeps secrets out of connection_config", async () => {
    const configs = await rows<{ connection_config: Record<string, unknown> }>("SELECT connection_config FROM cache_layer");
    for (const { connection_config } of configs) {
      for (const key of Object.keys(connection_config)) {
        if (/token|secret|password|key(?!Prefix)|url/i.test(key)) expect(key, "credentials are referenced by env var name").toMatch(/Env$/);
      }
    }
  });

  it("builds the dependency graph: programs → workouts → exercises, translations and media off them", async () => {
    const edges = await rows<{ parent: string; child: string; relation: string; n: string }>(`
      SELECT p.resource_type AS parent, c.resource_type AS child, d.relation, count(*) AS n
      FROM resource_dependencies d
      JOIN resources p ON p.id = d.parent_id
      JOIN resources c ON c.id = d.child_id
      GROUP BY 1, 2, 3`);
    const count = (parent: string, child: string, relation: string): number =>
      Number(edges.find((e) => e.parent === parent && e.child === child && e.relation === relation)?.n ?? 0);
    expect(count("PROGRAM", "WORKOUT", "CONTAINS")).toBe(first.resourcesByType.WORKOUT);
    expect(count("WORKOUT", "EXERCISE", "CONTAINS")).toBeGreaterThanOrEqual(4 * first.resourcesByType.WORKOUT);
    for (const source of ["PROGRAM", "WORKOUT", "EXERCISE"]) {
      expect(count(source, "TRANSLATION", "TRANSLATION")).toBeGreaterThan(0);
      expect(count(source, "MEDIA", "MEDIA")).toBeGreaterThan(0);
    }
    // Two-level walk: some exercise reaches a program through a workout.
    const [walk] = await rows<{ n: string }>(`
      SELECT count(*) AS n FROM resource_dependencies pw
      JOIN resource_dependencies we ON we.parent_id = pw.child_id
      JOIN resources p ON p.id = pw.parent_id AND p.resource_type = 'PROGRAM'
      JOIN resources e ON e.id = we.child_id AND e.resource_type = 'EXERCISE'`);
    expect(Number(walk?.n)).toBeGreaterThan(0);
  });

  it("gives resources tags and type-specific payloads", async () => {
    const [untagged] = await rows<{ n: string }>("SELECT count(*) AS n FROM resources WHERE cardinality(tags) = 0");
    expect(Number(untagged?.n)).toBe(0);
    const [workout] = await rows<{ payload: { name: string; durationMinutes: number } }>(
      "SELECT payload FROM resources WHERE resource_type = 'WORKOUT' LIMIT 1",
    );
    expect(workout?.payload.name).toEqual(expect.any(String));
    expect(workout?.payload.durationMinutes).toBeGreaterThan(0);
    const [media] = await rows<{ payload: { url: string; mimeType: string } }>("SELECT payload FROM resources WHERE resource_type = 'MEDIA' LIMIT 1");
    expect(media?.payload.url).toMatch(/^https:\/\//);
    expect(media?.payload.mimeType).toMatch(/^(image|video)\//);
  });

  it("is idempotent: a second run inserts nothing and changes nothing", async () => {
    const fingerprint = async (): Promise<unknown[]> =>
      rows(`SELECT
        (SELECT md5(string_agg(id::text || version || payload::text || updated_at::text, ',' ORDER BY id)) FROM resources) AS resources,
        (SELECT md5(string_agg(parent_id::text || child_id::text || relation, ',' ORDER BY parent_id, child_id)) FROM resource_dependencies) AS edges,
        (SELECT md5(string_agg(to_jsonb(s)::text, ',' ORDER BY id)) FROM cache_strategy s) AS strategies,
        (SELECT md5(string_agg(to_jsonb(l)::text, ',' ORDER BY id)) FROM cache_layer l) AS layers,
        (SELECT md5(string_agg(to_jsonb(u)::text, ',' ORDER BY id)) FROM users u) AS users`);
    const before = await fingerprint();
    const second = await seedDatabase(scratch.url);
    console.info(`seed: second run in ${second.durationMs} ms`);
    expect(second.inserted).toEqual({ users: 0, cacheLayers: 0, cacheStrategies: 0, resources: 0, resourceDependencies: 0 });
    expect(second.totals).toEqual(first.totals);
    expect(await fingerprint()).toEqual(before);
  });

  it("generates the same graph every time and rejects impossible sizes", () => {
    const a = buildSeedGraph(200);
    const b = buildSeedGraph(200);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(() => buildSeedGraph(7)).toThrow(RangeError);
  });
});
