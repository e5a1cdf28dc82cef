/** The benchmark harness's pure parts: how bridge counts are sorted, percentiles, and the report. */
import { describe, expect, it } from "vitest";
import { redisKind, sqlKind, tallyRedis, tallySql } from "../../bench/lib/counting.ts";
import { markdownTable, renderReport, type CaseResultFile } from "../../bench/lib/report.ts";
import { percentile, ratio } from "../../bench/lib/stats.ts";

const P = "strata:bench:ab12:";

describe("sorting bridge counts", () => {
  it("tells a request's own Redis work from the isolate's background work by key", () => {
    expect(redisKind(P, "evalsha", `${P}v:workout:1`)).toBe("entry");
    expect(redisKind(P, "evalsha", `${P}lease:workout:1`)).toBe("entry");
    expect(redisKind(P, "evalsha", `${P}epochs`)).toBe("bump");
    expect(redisKind(P, "hgetall", `${P}epochs`)).toBe("catch-up");
    expect(redisKind(P, "evalsha", `${P}epochs:journal`)).toBe("catch-up");
    expect(redisKind(P, "hincrby", `${P}metrics:2026112112:L1_APPLICATION:s1`)).toBe("metrics");
    expect(redisKind(P, "get", "strata:config:version")).toBe("config");
    expect(redisKind(P, "get", "strata:other:v:x")).toBe("other");
    expect(redisKind(P, "ping", undefined)).toBe("other");
  });

  it("counts a round trip as the request's own when any command in it is", () => {
    const tally = tallyRedis(P, [
      { at: 0, door: "pipeline", commands: [{ name: "evalsha", key: `${P}v:a` }, { name: "evalsha", key: `${P}epochs:journal` }] },
      { at: 1, door: "single", commands: [{ name: "evalsha", key: `${P}epochs:journal` }] },
      { at: 2, door: "single", commands: [{ name: "evalsha", key: `${P}epochs` }] },
    ]);
    expect(tally).toMatchObject({ requestRoundTrips: 2, requestCommands: 2, backgroundRoundTrips: 1 });
    expect(tally.byKind).toMatchObject({ entry: 1, bump: 1, "catch-up": 2 });
    expect(tally.requestCommandNames).toEqual({ evalsha: 2 });
  });

  it("sorts SQL into origin reads, writes and background statements", () => {
    expect(sqlKind('select "id", "version" from "resources" where "resources"."id" = $1 limit $2')).toBe("origin read");
    expect(sqlKind('with prev as (select version from "resources" where id = $1 for update) update "resources" set …')).toBe("resource write");
    expect(sqlKind('insert into "cache_key_registry" ("cache_key") values ($1) on conflict do update')).toBe("key registry");
    expect(sqlKind('select * from "cache_strategies"')).toBe("config");
    const tally = tallySql([
      { text: 'select "id" from "resources" where id = $1', params: [], at: 0, transport: "http" },
      { text: 'insert into "cache_key_registry" values ($1)', params: [], at: 0, transport: "http" },
    ]);
    expect(tally).toMatchObject({ request: 1, background: 1 });
  });
});

describe("statistics", () => {
  it("takes nearest-rank percentiles", () => {
    const sample = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted on purpose
    expect(percentile(sample, 50)).toBe(50);
    expect(percentile(sample, 99)).toBe(99);
    expect(percentile(sample, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
    expect(ratio(3, 4)).toBe(0.75);
    expect(ratio(1, 0)).toBeNaN();
  });
});

describe("report", () => {
  const result: CaseResultFile = {
    case: "demo",
    title: "Demo case",
    date: "2026-11-21T12:00:00.000Z",
    quick: false,
    command: "npm run bench -- demo",
    durationSeconds: 12.3,
    machine: { cpu: "Test CPU", cores: 2, memoryGiB: 24, os: "linux 6", node: "v24.21.0", loadAverage: 0.5 },
    versions: { hono: "4.13.19" },
    summary: "What was measured.",
    tables: [{ title: "Figures", columns: ["class", "req/s"], rows: [["a | b", 1234.5678]], note: "Baseline: the floor." }],
    targets: [
      { target: "fast", measured: "0.95×", met: true },
      { target: "faster", measured: "0.5×", met: false, note: "what would reach it" },
    ],
    figures: {},
  };

  it("renders tables with escaped cells and readable numbers", () => {
    expect(markdownTable(result.tables[0]!)).toBe("| class | req/s |\n| --- | --- |\n| a \\| b | 1,235 |");
  });

  it("names the command, date and machine of each case, and marks missed targets", () => {
    const md = renderReport([result]);
    expect(md).toContain("## Demo case");
    expect(md).toContain("Command: `npm run bench -- demo`");
    expect(md).toContain("Date: 2026-11-21T12:00:00.000Z");
    expect(md).toContain("Machine: Test CPU, 2 cores, 24 GiB");
    expect(md).toContain("| faster | 0.5× | **no** |");
    expect(md).toContain("- faster: what would reach it");
    expect(renderReport([])).toContain("No results yet");
  });
});
