/**
 * Values while a query runs: strings, numbers (long, int, real), booleans, Date (datetime),
 * Timespan, null, and JSON for dynamic. Conversions and comparisons follow the Kusto documentation
 * (Learn "Scalar data types", "tostring()", "todatetime()", "String operators").
 */

export class Timespan {
  constructor(readonly ms: number) {}
  toJSON(): string {
    return formatTimespan(this.ms);
  }
}

export type Value = unknown;

export const isNull = (value: Value): value is null | undefined => value === null || value === undefined;

const UNIT_MS: Record<string, number> = {
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
  h: 3_600_000, hr: 3_600_000, hrs: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  m: 60_000, min: 60_000, minute: 60_000, minutes: 60_000,
  s: 1000, sec: 1000, second: 1000, seconds: 1000,
  ms: 1, milli: 1, millis: 1, millisecond: 1, milliseconds: 1,
  microsecond: 0.001, microseconds: 0.001, tick: 0.0001, ticks: 0.0001,
};

/** `30d`, `1.5h`, `100ms`, `1.02:03:04`, `02:03:04.5` → milliseconds. */
export function parseTimespan(text: string): number | undefined {
  const trimmed = text.trim();
  const unit = /^(-?\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(trimmed);
  if (unit) {
    const factor = UNIT_MS[(unit[2] ?? "").toLowerCase()];
    return factor === undefined ? undefined : Number(unit[1]) * factor;
  }
  const clock = /^(-)?(?:(\d+)\.)?(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?$/.exec(trimmed);
  if (!clock) return undefined;
  const [, minus, days, hours, minutes, seconds, fraction] = clock;
  const ms = Number(days ?? 0) * 86_400_000 + Number(hours) * 3_600_000 + Number(minutes) * 60_000 + Number(seconds ?? 0) * 1000 + Number(`0.${fraction ?? "0"}`) * 1000;
  return minus ? -ms : ms;
}

/** Kusto's text of a timespan: `[-][d.]hh:mm:ss[.fffffff]`. */
export function formatTimespan(ms: number): string {
  const sign = ms < 0 ? "-" : "";
  let rest = Math.abs(ms);
  const days = Math.floor(rest / 86_400_000);
  rest -= days * 86_400_000;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const fraction = Math.round((rest - seconds * 1000) * 10_000);
  const two = (n: number): string => String(n).padStart(2, "0");
  return `${sign}${days > 0 ? `${days}.` : ""}${two(hours)}:${two(minutes)}:${two(seconds)}${fraction > 0 ? `.${String(fraction).padStart(7, "0")}` : ""}`;
}

/** Kusto's text of a datetime: ISO 8601 in UTC, seven fractional digits only when there is a fraction. */
export function formatDatetime(date: Date): string {
  const iso = date.toISOString();
  const millis = date.getUTCMilliseconds();
  return millis === 0 ? `${iso.slice(0, 19)}Z` : `${iso.slice(0, 19)}.${String(millis).padStart(3, "0")}0000Z`;
}

/** tostring(): "" for null, JSON for bags and arrays. */
export function toStr(value: Value): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "" : formatDatetime(value);
  if (value instanceof Timespan) return formatTimespan(value.ms);
  return JSON.stringify(toDynamic(value));
}

/** A value as JSON inside a dynamic (datetimes and timespans become their text). */
export function toDynamic(value: Value): unknown {
  if (value instanceof Date) return formatDatetime(value);
  if (value instanceof Timespan) return formatTimespan(value.ms);
  if (value === undefined) return null;
  return value;
}

export function toNumber(value: Value): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "string") {
    const trimmed = value.trim();
    if (trimmed === "") return null;
    const parsed = Number(trimmed);
    return Number.isNaN(parsed) ? null : parsed;
  }
  if (value instanceof Date) return value.getTime();
  if (value instanceof Timespan) return value.ms;
  return null;
}

export function toDate(value: Value): Date | null {
  if (value instanceof Date) return value;
  if (typeof value === "string" && value.trim() !== "") {
    const text = value.trim();
    // A datetime without an offset is UTC in Kusto.
    const ms = Date.parse(/[zZ]$|[+-]\d\d:?\d\d$/.test(text) || !/\d:\d/.test(text) ? text : `${text}Z`);
    return Number.isNaN(ms) ? null : new Date(ms);
  }
  if (typeof value === "number") return new Date(value);
  return null;
}

export function toBool(value: Value): boolean | null {
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0;
  if (typeof value === "string") {
    const lower = value.trim().toLowerCase();
    if (lower === "true") return true;
    if (lower === "false") return false;
    const n = Number(lower);
    return lower !== "" && !Number.isNaN(n) ? n !== 0 : null;
  }
  return null;
}

/** `==`: null when either side is null; strings, numbers, datetimes and timespans by value; JSON otherwise. */
export function valuesEqual(a: Value, b: Value): boolean | null {
  if (isNull(a) || isNull(b)) return null;
  if (typeof a === typeof b && (typeof a === "string" || typeof a === "number" || typeof a === "boolean")) return a === b;
  if (a instanceof Date || b instanceof Date) {
    const x = toDate(a);
    const y = toDate(b);
    return x && y ? x.getTime() === y.getTime() : null;
  }
  if (a instanceof Timespan || b instanceof Timespan) return toNumber(a) === toNumber(b);
  if (typeof a === "number" || typeof b === "number") {
    const x = toNumber(a);
    const y = toNumber(b);
    return x === null || y === null ? false : x === y;
  }
  return toStr(a) === toStr(b);
}

const RANK: Record<string, number> = { boolean: 0, number: 1, date: 2, timespan: 3, string: 4, object: 5 };
function rankOf(value: Value): number {
  if (value instanceof Date) return RANK["date"] ?? 0;
  if (value instanceof Timespan) return RANK["timespan"] ?? 0;
  return RANK[typeof value] ?? 5;
}

/** Order of two non-null values: numbers, datetimes and timespans by value, strings ordinally. */
export function compareValues(a: Value, b: Value): number {
  const ra = rankOf(a);
  const rb = rankOf(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
  if (a instanceof Timespan && b instanceof Timespan) return a.ms - b.ms;
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  const x = toStr(a);
  const y = toStr(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** `<`, `>`, …: null when either side is null or they are not comparable. */
export function orderOf(a: Value, b: Value): number | null {
  if (isNull(a) || isNull(b)) return null;
  if (a instanceof Date || b instanceof Date) {
    const x = toDate(a);
    const y = toDate(b);
    return x && y ? x.getTime() - y.getTime() : null;
  }
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  const x = toNumber(a);
  const y = toNumber(b);
  if (x !== null && y !== null) return x - y;
  return null;
}

/** The key that groups equal values together (summarize by, distinct, join on, dcount). */
export function groupKey(value: Value): string {
  if (value === null || value === undefined) return "\u0000null";
  if (typeof value === "string") return `s${value}`;
  if (typeof value === "number") return `n${value}`;
  if (typeof value === "boolean") return `b${value}`;
  if (value instanceof Date) return `d${value.getTime()}`;
  if (value instanceof Timespan) return `t${value.ms}`;
  return `j${JSON.stringify(value)}`;
}
