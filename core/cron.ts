/**
 * @module Standard 5-field cron (minute hour day-of-month month day-of-week), evaluated in UTC.
 *
 * Supports `*`, single values, lists, ranges and steps (`*\/5`, `1-10/2`, `7/15`), plus
 * three-letter month and weekday names. Day-of-week accepts 0–7 (0 and 7 are Sunday).
 * As in Vixie cron, when both day-of-month and day-of-week are restricted a day matches
 * if EITHER does; otherwise both must. No `@hourly`-style macros, no seconds, no `L`/`W`/`#`.
 */

export interface CronField {
  /** Sorted, de-duplicated allowed values. */
  values: readonly number[];
  /**
   * True when the field text starts with `*` (so `*\/2` counts): Vixie cron's test for the
   * day-of-month/day-of-week rule, which looks at how the field was written, not what it covers.
   */
  wildcard: boolean;
}

export interface ParsedCron {
  source: string;
  minute: CronField;
  hour: CronField;
  dayOfMonth: CronField;
  month: CronField;
  /** 0–6, Sunday = 0 (a written 7 is folded into 0). */
  dayOfWeek: CronField;
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"] as const;
const DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;

export const CRON_FIELDS = {
  minute: { name: "minute", min: 0, max: 59 },
  hour: { name: "hour", min: 0, max: 23 },
  dayOfMonth: { name: "day-of-month", min: 1, max: 31 },
  month: { name: "month", min: 1, max: 12, names: MONTH_NAMES },
  dayOfWeek: { name: "day-of-week", min: 0, max: 7, names: DAY_NAMES },
} as const satisfies Record<string, FieldSpec>;

export class CronParseError extends Error {
  override readonly name = "CronParseError";
}

function parseValue(token: string, spec: FieldSpec, expr: string): number {
  const lower = token.toLowerCase();
  if (spec.names) {
    const idx = spec.names.indexOf(lower);
    // Month names are 1-based, weekday names 0-based: both line up with spec.min.
    if (idx !== -1) return idx + spec.min;
  }
  if (!/^\d+$/.test(token)) {
    throw new CronParseError(`cron "${expr}": invalid ${spec.name} value "${token}"`);
  }
  const n = Number(token);
  if (n < spec.min || n > spec.max) {
    throw new CronParseError(`cron "${expr}": ${spec.name} value ${n} is outside ${spec.min}-${spec.max}`);
  }
  return n;
}

function parseField(text: string, spec: FieldSpec, expr: string): CronField {
  const values = new Set<number>();
  for (const part of text.split(",")) {
    if (part === "") throw new CronParseError(`cron "${expr}": empty list item in ${spec.name}`);
    const [rangePart, stepPart, ...rest] = part.split("/");
    if (rest.length > 0 || rangePart === undefined || rangePart === "") {
      throw new CronParseError(`cron "${expr}": invalid ${spec.name} "${part}"`);
    }
    let step = 1;
    if (stepPart !== undefined) {
      if (!/^\d+$/.test(stepPart) || Number(stepPart) === 0) {
        throw new CronParseError(`cron "${expr}": invalid step "${stepPart}" in ${spec.name}`);
      }
      step = Number(stepPart);
    }
    let from: number;
    let to: number;
    if (rangePart === "*") {
      from = spec.min;
      to = spec.max;
    } else if (rangePart.includes("-")) {
      const [a, b, ...more] = rangePart.split("-");
      if (a === undefined || b === undefined || more.length > 0) {
        throw new CronParseError(`cron "${expr}": invalid range "${rangePart}" in ${spec.name}`);
      }
      from = parseValue(a, spec, expr);
      to = parseValue(b, spec, expr);
      if (from > to) {
        throw new CronParseError(`cron "${expr}": range ${rangePart} in ${spec.name} runs backwards`);
      }
    } else {
      from = parseValue(rangePart, spec, expr);
      // `7/15` means "from 7, every 15, to the end of the field" (Vixie cron and EventBridge agree).
      to = stepPart === undefined ? from : spec.max;
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return { values: [...values].sort((x, y) => x - y), wildcard: text.startsWith("*") };
}

export function parseCron(expr: string): ParsedCron {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) {
    throw new CronParseError(`cron "${expr}": expected 5 fields (minute hour day month weekday), got ${fields.length}`);
  }
  const [m, h, dom, mon, dow] = fields as [string, string, string, string, string];
  const rawDow = parseField(dow, CRON_FIELDS.dayOfWeek, expr);
  const folded = [...new Set(rawDow.values.map((d) => (d === 7 ? 0 : d)))].sort((x, y) => x - y);
  return {
    source: expr,
    minute: parseField(m, CRON_FIELDS.minute, expr),
    hour: parseField(h, CRON_FIELDS.hour, expr),
    dayOfMonth: parseField(dom, CRON_FIELDS.dayOfMonth, expr),
    month: parseField(mon, CRON_FIELDS.month, expr),
    dayOfWeek: { values: folded, wildcard: rawDow.wildcard },
  };
}

function dayMatches(cron: ParsedCron, date: Date): boolean {
  const domOk = cron.dayOfMonth.values.includes(date.getUTCDate());
  const dowOk = cron.dayOfWeek.values.includes(date.getUTCDay());
  if (!cron.dayOfMonth.wildcard && !cron.dayOfWeek.wildcard) return domOk || dowOk;
  return domOk && dowOk;
}

/** Whether `date` (to the minute, UTC) is a firing time of `expr`. */
export function matches(expr: string | ParsedCron, date: Date): boolean {
  const cron = typeof expr === "string" ? parseCron(expr) : expr;
  return (
    cron.minute.values.includes(date.getUTCMinutes()) &&
    cron.hour.values.includes(date.getUTCHours()) &&
    cron.month.values.includes(date.getUTCMonth() + 1) &&
    dayMatches(cron, date)
  );
}

/** Far enough for any satisfiable expression (Feb 29 recurs within 8 years). */
const SEARCH_YEARS = 30;

/** The first firing time strictly after `from` (seconds and milliseconds of the result are 0). */
export function nextRun(expr: string | ParsedCron, from: Date): Date {
  const cron = typeof expr === "string" ? parseCron(expr) : expr;
  const t = new Date(from.getTime());
  t.setUTCSeconds(0, 0);
  t.setUTCMinutes(t.getUTCMinutes() + 1);
  const limit = from.getUTCFullYear() + SEARCH_YEARS;
  // Jump whole months/days/hours at a time so the walk stays short even for sparse schedules.
  while (t.getUTCFullYear() <= limit) {
    if (!cron.month.values.includes(t.getUTCMonth() + 1)) {
      t.setUTCMonth(t.getUTCMonth() + 1, 1);
      t.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!dayMatches(cron, t)) {
      t.setUTCDate(t.getUTCDate() + 1);
      t.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!cron.hour.values.includes(t.getUTCHours())) {
      t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
      continue;
    }
    if (!cron.minute.values.includes(t.getUTCMinutes())) {
      t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
      continue;
    }
    return t;
  }
  throw new CronParseError(`cron "${cron.source}" never fires (no match within ${SEARCH_YEARS} years)`);
}
