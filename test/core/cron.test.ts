import { describe, expect, it } from "vitest";
import { CronParseError, matches, nextRun, parseCron } from "../../core/cron.ts";
import {
  QUEUES,
  SCHEDULES,
  toEventBridgeCron,
  toEventBridgeCronParts,
  validateDefinitions,
  type QueueDefinition,
} from "../../functions/queues.ts";

const at = (iso: string): Date => new Date(iso);
const next = (expr: string, from: string): string => nextRun(expr, at(from)).toISOString();

describe("parseCron", () => {
  it("expands wildcards, lists, ranges and steps", () => {
    const c = parseCron("*/15 9-17/4 1,15 jan-mar mon-fri");
    expect(c.minute.values).toEqual([0, 15, 30, 45]);
    expect(c.hour.values).toEqual([9, 13, 17]);
    expect(c.dayOfMonth.values).toEqual([1, 15]);
    expect(c.month.values).toEqual([1, 2, 3]);
    expect(c.dayOfWeek.values).toEqual([1, 2, 3, 4, 5]);
  });

  it("reads `n/step` as from n to the end of the field", () => {
    expect(parseCron("50/3 * * * *").minute.values).toEqual([50, 53, 56, 59]);
  });

  it("folds weekday 7 into Sunday (0)", () => {
    expect(parseCron("0 0 * * 5-7").dayOfWeek.values).toEqual([0, 5, 6]);
  });

  it("tolerates extra whitespace", () => {
    expect(parseCron("  0   12 * * *  ").hour.values).toEqual([12]);
  });

  it.each([
    ["* * * *", /expected 5 fields/],
    ["* * * * * *", /expected 5 fields/],
    ["60 * * * *", /minute value 60/],
    ["* 24 * * *", /hour value 24/],
    ["* * 0 * *", /day-of-month value 0/],
    ["* * * 13 *", /month value 13/],
    ["* * * * 8", /day-of-week value 8/],
    ["*/0 * * * *", /invalid step/],
    ["5-1 * * * *", /runs backwards/],
    ["1,,2 * * * *", /empty list item/],
    ["a * * * *", /invalid minute value/],
    ["1-2-3 * * * *", /invalid range/],
    ["*/2/2 * * * *", /invalid minute/],
  ])("rejects %s", (expr, message) => {
    expect(() => parseCron(expr)).toThrow(CronParseError);
    expect(() => parseCron(expr)).toThrow(message);
  });
});

describe("nextRun", () => {
  it("is strictly after `from` and drops seconds", () => {
    expect(next("* * * * *", "2026-01-01T00:00:00.000Z")).toBe("2026-01-01T00:01:00.000Z");
    expect(next("* * * * *", "2026-01-01T00:00:59.999Z")).toBe("2026-01-01T00:01:00.000Z");
  });

  it("every five minutes", () => {
    expect(next("*/5 * * * *", "2026-01-01T10:02:30Z")).toBe("2026-01-01T10:05:00.000Z");
    expect(next("*/5 * * * *", "2026-01-01T10:05:00Z")).toBe("2026-01-01T10:10:00.000Z");
    expect(next("*/5 * * * *", "2026-01-01T23:59:00Z")).toBe("2026-01-02T00:00:00.000Z");
  });

  it("rolls over hours, days, months and years", () => {
    expect(next("30 2 * * *", "2026-01-01T02:30:00Z")).toBe("2026-01-02T02:30:00.000Z");
    expect(next("0 0 1 * *", "2026-01-31T12:00:00Z")).toBe("2026-02-01T00:00:00.000Z");
    expect(next("0 0 1 1 *", "2026-06-15T00:00:00Z")).toBe("2027-01-01T00:00:00.000Z");
  });

  it("skips months without the day", () => {
    expect(next("0 0 31 * *", "2026-04-01T00:00:00Z")).toBe("2026-05-31T00:00:00.000Z");
    expect(next("0 12 29 2 *", "2026-03-01T00:00:00Z")).toBe("2028-02-29T12:00:00.000Z");
  });

  it("matches weekdays (2026-01-01 is a Thursday)", () => {
    expect(next("0 9 * * mon-fri", "2026-01-02T10:00:00Z")).toBe("2026-01-05T09:00:00.000Z");
    expect(next("0 9 * * 0", "2026-01-01T00:00:00Z")).toBe("2026-01-04T09:00:00.000Z");
    expect(next("0 9 * * 7", "2026-01-01T00:00:00Z")).toBe("2026-01-04T09:00:00.000Z");
  });

  it("ORs day-of-month and day-of-week when both are restricted (Vixie cron)", () => {
    // The 15th, or any Monday: Monday 2026-01-05 comes first.
    expect(next("0 0 15 * 1", "2026-01-01T00:00:00Z")).toBe("2026-01-05T00:00:00.000Z");
    expect(next("0 0 15 * 1", "2026-01-13T00:00:00Z")).toBe("2026-01-15T00:00:00.000Z");
    // `*/2` in day-of-week still counts as a star, so the two are ANDed.
    expect(matches("0 0 1 * */2", at("2026-01-01T00:00:00Z"))).toBe(true); // Thursday
    expect(matches("0 0 1 * */2", at("2026-04-01T00:00:00Z"))).toBe(false); // Wednesday
  });

  it("throws for a schedule that never fires", () => {
    expect(() => nextRun("0 0 31 4 *", at("2026-01-01T00:00:00Z"))).toThrow(/never fires/);
  });

  it("agrees with matches() minute by minute over a day", () => {
    const expr = "*/7 3-5,22 * * *";
    const start = at("2026-03-10T00:00:00Z").getTime();
    const expected: string[] = [];
    for (let t = start + 60_000; t <= start + 86_400_000; t += 60_000) {
      if (matches(expr, new Date(t))) expected.push(new Date(t).toISOString());
    }
    const actual: string[] = [];
    let cursor = new Date(start);
    for (;;) {
      cursor = nextRun(expr, cursor);
      if (cursor.getTime() > start + 86_400_000) break;
      actual.push(cursor.toISOString());
    }
    expect(actual).toEqual(expected);
    expect(actual.length).toBe(4 * 9);
  });
});

describe("toEventBridgeCron", () => {
  it.each([
    ["*/5 * * * *", "0/5 * * * ? *"],
    ["* * * * *", "* * * * ? *"],
    ["0 3 * * *", "0 3 * * ? *"],
    ["15,45 8-18 * * *", "15,45 8-18 * * ? *"],
    ["0 0 1 */3 *", "0 0 1 1/3 ? *"],
    ["0 9 * * 1-5", "0 9 ? * MON-FRI *"],
    ["0 9 * * 0,6", "0 9 ? * SUN,SAT *"],
    ["0 9 * * 7", "0 9 ? * SUN *"],
    ["0 9 * * */2", "0 9 ? * SUN,TUE,THU,SAT *"],
    ["1-10/2 * * * *", "1,3,5,7,9 * * * ? *"],
    ["0 0,12 * * *", "0 0,12 * * ? *"],
  ])("%s → %s", (expr, expected) => {
    expect(toEventBridgeCron(expr)).toBe(expected);
  });

  it("returns the parts CDK's Schedule.cron takes", () => {
    expect(toEventBridgeCronParts("*/5 * * * *")).toEqual({
      minute: "0/5",
      hour: "*",
      day: "*",
      month: "*",
      weekDay: "?",
      year: "*",
    });
  });

  it("refuses both day-of-month and day-of-week restricted", () => {
    expect(() => toEventBridgeCron("0 0 1 * 1")).toThrow(/cannot restrict both/);
  });

  it("produces expressions that fire at the same times", () => {
    // Round trip through a 5-field rendering of the EventBridge parts for the shared subset.
    for (const expr of ["*/5 * * * *", "0 3 * * *", "15,45 8-18 * * *", "0 0 1 */3 *"]) {
      const p = toEventBridgeCronParts(expr);
      const back = [p.minute, p.hour, p.day, p.month, "*"].join(" ");
      let a = at("2026-01-01T00:00:00Z");
      let b = a;
      for (let i = 0; i < 20; i++) {
        a = nextRun(expr, a);
        b = nextRun(back, b);
        expect(b.toISOString()).toBe(a.toISOString());
      }
    }
  });
});

describe("queue and schedule definitions", () => {
  it("are valid", () => {
    expect(validateDefinitions(QUEUES, SCHEDULES)).toEqual([]);
  });

  it("have the platform's four queues, write-behind FIFO", () => {
    expect(QUEUES.map((q) => q.name)).toEqual([
      "strata-invalidation",
      "strata-write-behind.fifo",
      "strata-warming",
      "strata-metrics",
    ]);
    const wb = QUEUES.find((q) => q.key === "write-behind");
    expect(wb?.fifo).toBe(true);
    expect(wb?.dlq.name).toMatch(/\.fifo$/);
  });

  it("schedule the registry sweeper every five minutes", () => {
    expect(SCHEDULES).toContainEqual(
      expect.objectContaining({
        name: "registry-sweeper",
        cron: "*/5 * * * *",
        handler: expect.objectContaining({ entry: "functions/registry-sweeper/handler.ts", export: "handler" }),
      }),
    );
  });

  it("catch what AWS would reject", () => {
    const base: QueueDefinition = {
      key: "x",
      name: "x",
      fifo: false,
      visibilityTimeoutSeconds: 30,
      retentionSeconds: 3600,
      batchSize: 10,
      maxBatchingWindowSeconds: 0,
      maxReceiveCount: 3,
      dlq: { name: "x-dlq", retentionSeconds: 7200 },
    };
    const problems = (q: Partial<QueueDefinition>): string[] => validateDefinitions([{ ...base, ...q }]);
    expect(problems({})).toEqual([]);
    expect(problems({ fifo: true })).toEqual(expect.arrayContaining([expect.stringMatching(/must end in \.fifo/)]));
    expect(problems({ name: "x.fifo", fifo: true, dlq: { name: "x-dlq.fifo", retentionSeconds: 7200 }, maxBatchingWindowSeconds: 1 })).toEqual([
      expect.stringMatching(/FIFO queues cannot have a batching window/),
    ]);
    expect(problems({ batchSize: 50 })).toEqual([expect.stringMatching(/needs maxBatchingWindowSeconds/)]);
    expect(problems({ dlq: { name: "x-dlq", retentionSeconds: 60 } })).toEqual([expect.stringMatching(/DLQ retention shorter/)]);
    expect(problems({ handler: { entry: "f.ts", export: "handler", timeoutSeconds: 10 } })).toEqual([
      expect.stringMatching(/below 6 × handler timeout/),
    ]);
    expect(problems({ dlq: { name: "x", retentionSeconds: 7200 } })).toEqual([expect.stringMatching(/duplicate queue name/)]);
    expect(
      validateDefinitions([], [{ name: "s", cron: "0 0 1 * 1", handler: { entry: "h.ts", export: "handler" } }]),
    ).toEqual([expect.stringMatching(/cannot restrict both/)]);
  });
});
