import { Timespan, isNull, parseTimespan, toBool, toDate, toDynamic, toNumber, toStr, valuesEqual, compareValues, type Value } from "./values.js";
import type { ScalarType } from "./ir.js";

/**
 * The scalar functions the emulator evaluates, as Learn's Kusto reference defines them. A query using
 * any other function is refused (400), never answered approximately. Each entry receives its
 * arguments' values and the analyzer's types of them.
 */
export interface CallContext {
  /** now() of this query: one instant for the whole query, as in Kusto. */
  now: Date;
}

type Fn = (args: Value[], types: ScalarType[], context: CallContext) => Value;

const str = (value: Value): string => toStr(value);

/** Kusto regular expressions are RE2; a leading `(?i)` (RE2's inline flag) becomes JavaScript's `i`. */
export function kustoRegex(pattern: string, global = false): RegExp {
  const insensitive = pattern.startsWith("(?i)");
  return new RegExp(insensitive ? pattern.slice(4) : pattern, `${insensitive ? "i" : ""}${global ? "g" : ""}`);
}

const regexCache = new Map<string, RegExp>();
function cachedRegex(pattern: string): RegExp {
  let regex = regexCache.get(pattern);
  if (!regex) {
    regex = kustoRegex(pattern);
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(pattern, regex);
  }
  return regex;
}

function toInteger(value: Value): number | null {
  const n = toNumber(value);
  return n === null ? null : Math.trunc(n);
}

function parseJson(value: Value): Value {
  if (typeof value !== "string") return toDynamic(value);
  try {
    return JSON.parse(value) as Value;
  } catch {
    return value;
  }
}

function isEmpty(value: Value): boolean {
  return isNull(value) || value === "";
}

function substring(text: string, start: number, length?: number): string {
  const from = Math.max(0, Math.trunc(start));
  return length === undefined ? text.slice(from) : text.slice(from, from + Math.max(0, Math.trunc(length)));
}

function indexOf(args: Value[]): number | null {
  if (isNull(args[0]) || isNull(args[1])) return null;
  const text = str(args[0]);
  const lookup = str(args[1]);
  const start = toInteger(args[2] ?? 0) ?? 0;
  const length = toInteger(args[3] ?? -1) ?? -1;
  const occurrence = toInteger(args[4] ?? 1) ?? 1;
  const end = length < 0 ? text.length : Math.min(text.length, start + length);
  let found = start - 1;
  for (let seen = 0; seen < occurrence; seen += 1) {
    found = text.indexOf(lookup, found + 1);
    if (found < 0 || found + lookup.length > end) return -1;
  }
  return found;
}

function split(args: Value[]): Value {
  const parts = str(args[0]).split(str(args[1]));
  if (args.length < 3) return parts;
  const index = toInteger(args[2]);
  const part = index === null ? undefined : parts[index < 0 ? parts.length + index : index];
  return part === undefined ? [] : [part];
}

function extract(args: Value[], types: ScalarType[]): Value {
  const match = cachedRegex(str(args[0])).exec(str(args[2]));
  const group = toInteger(args[1]) ?? 0;
  const found = match?.[group];
  if (found === undefined) return types[3] !== undefined ? null : "";
  return found;
}

function trimWith(pattern: string, text: string, where: "both" | "start" | "end"): string {
  const source = pattern.startsWith("(?i)") ? pattern.slice(4) : pattern;
  const flags = pattern.startsWith("(?i)") ? "i" : "";
  let result = text;
  if (where !== "end") result = result.replace(new RegExp(`^(?:${source})+`, flags), "");
  if (where !== "start") result = result.replace(new RegExp(`(?:${source})+$`, flags), "");
  return result;
}

function datetimeAdd(args: Value[]): Value {
  const date = toDate(args[2]);
  const amount = toInteger(args[1]);
  if (!date || amount === null) return null;
  const result = new Date(date.getTime());
  switch (str(args[0]).toLowerCase()) {
    case "year": result.setUTCFullYear(result.getUTCFullYear() + amount); break;
    case "quarter": result.setUTCMonth(result.getUTCMonth() + 3 * amount); break;
    case "month": result.setUTCMonth(result.getUTCMonth() + amount); break;
    case "week": return new Date(date.getTime() + amount * 7 * 86_400_000);
    case "day": return new Date(date.getTime() + amount * 86_400_000);
    case "hour": return new Date(date.getTime() + amount * 3_600_000);
    case "minute": return new Date(date.getTime() + amount * 60_000);
    case "second": return new Date(date.getTime() + amount * 1000);
    case "millisecond": return new Date(date.getTime() + amount);
    default: return null;
  }
  return result;
}

function bin(args: Value[]): Value {
  if (isNull(args[0]) || isNull(args[1])) return null;
  const size = args[1] instanceof Timespan ? args[1].ms : toNumber(args[1]);
  if (!size) return null;
  if (args[0] instanceof Date) return new Date(Math.floor(args[0].getTime() / size) * size);
  if (args[0] instanceof Timespan) return new Timespan(Math.floor(args[0].ms / size) * size);
  const n = toNumber(args[0]);
  return n === null ? null : Math.floor(n / size) * size;
}

function gettype(value: Value): string {
  if (isNull(value)) return "null";
  if (typeof value === "string") return "string";
  if (typeof value === "number") return Number.isInteger(value) ? "long" : "real";
  if (typeof value === "boolean") return "bool";
  if (value instanceof Date) return "datetime";
  if (value instanceof Timespan) return "timespan";
  return Array.isArray(value) ? "array" : "dictionary";
}

const extreme = (sign: number) => (args: Value[]): Value => {
  const present = args.filter((value) => !isNull(value));
  if (present.length === 0) return null;
  return present.reduce((best, value) => (compareValues(value, best) * sign > 0 ? value : best));
};

const FUNCTIONS: Record<string, Fn> = {
  tolower: ([s]) => str(s).toLowerCase(),
  toupper: ([s]) => str(s).toUpperCase(),
  tostring: ([value]) => str(value),
  toint: ([value]) => toInteger(value),
  tolong: ([value]) => toInteger(value),
  toreal: ([value]) => toNumber(value),
  todouble: ([value]) => toNumber(value),
  todecimal: ([value]) => toNumber(value),
  tobool: ([value]) => toBool(value),
  toboolean: ([value]) => toBool(value),
  todatetime: ([value]) => toDate(value),
  totimespan: ([value]) => (value instanceof Timespan ? value : typeof value === "string" ? ((ms) => (ms === undefined ? null : new Timespan(ms)))(parseTimespan(value)) : null),
  strlen: ([s]) => str(s).length,
  substring: ([s, start, length]) => substring(str(s), toInteger(start) ?? 0, length === undefined ? undefined : (toInteger(length) ?? 0)),
  indexof: (args) => indexOf(args),
  split: (args) => split(args),
  extract: (args, types) => extract(args, types),
  extract_all: ([pattern, text]) => {
    const regex = kustoRegex(str(pattern), true);
    return [...str(text).matchAll(regex)].map((match) => (match.length > 2 ? match.slice(1) : (match[1] ?? match[0])));
  },
  strcat: (args) => args.map(str).join(""),
  strcat_array: ([array, delimiter]) => (Array.isArray(array) ? array.map(str).join(str(delimiter)) : ""),
  replace_string: ([text, lookup, rewrite]) => (str(lookup) === "" ? str(text) : str(text).split(str(lookup)).join(str(rewrite))),
  replace_regex: ([text, pattern, rewrite]) => str(text).replace(kustoRegex(str(pattern), true), str(rewrite).replace(/\\(\d)/g, "$$$1")),
  trim: ([pattern, text]) => trimWith(str(pattern), str(text), "both"),
  trim_start: ([pattern, text]) => trimWith(str(pattern), str(text), "start"),
  trim_end: ([pattern, text]) => trimWith(str(pattern), str(text), "end"),
  countof: ([text, search]) => (str(search) === "" ? 0 : str(text).split(str(search)).length - 1),
  isempty: ([value]) => isEmpty(value),
  isnotempty: ([value]) => !isEmpty(value),
  isnull: ([value], [type]) => type !== "string" && isNull(value),
  isnotnull: ([value], [type]) => type === "string" || !isNull(value),
  not: ([value]) => (isNull(value) ? null : !toBool(value)),
  array_length: ([value]) => (Array.isArray(value) ? value.length : null),
  array_concat: (args) => (args.every(Array.isArray) ? (args as unknown[][]).flat(1) : null),
  array_slice: ([array, start, end]) => {
    if (!Array.isArray(array)) return null;
    const from = toInteger(start) ?? 0;
    const to = toInteger(end) ?? array.length - 1;
    return array.slice(from < 0 ? array.length + from : from, (to < 0 ? array.length + to : to) + 1);
  },
  array_index_of: ([array, value]) => (Array.isArray(array) ? array.findIndex((item) => valuesEqual(item, value) === true) : null),
  set_has_element: ([array, value]) => (Array.isArray(array) ? array.some((item) => valuesEqual(item, value) === true) : null),
  bag_keys: ([bag]) => (bag && typeof bag === "object" && !Array.isArray(bag) && !(bag instanceof Date) && !(bag instanceof Timespan) ? Object.keys(bag) : null),
  parse_json: ([value]) => parseJson(value),
  todynamic: ([value]) => parseJson(value),
  pack: (args) => pack(args),
  bag_pack: (args) => pack(args),
  pack_array: (args) => args.map(toDynamic),
  now: ([offset], _types, context) => new Date(context.now.getTime() + (offset instanceof Timespan ? offset.ms : 0)),
  ago: ([span], _types, context) => (span instanceof Timespan ? new Date(context.now.getTime() - span.ms) : null),
  datetime_add: (args) => datetimeAdd(args),
  startofday: ([value]) => ((date) => (date ? new Date(Math.floor(date.getTime() / 86_400_000) * 86_400_000) : null))(toDate(value)),
  bin: (args) => bin(args),
  floor: (args) => bin(args),
  abs: ([value]) => ((n) => (n === null ? null : Math.abs(n)))(toNumber(value)),
  round: ([value, precision]) => ((n, p) => (n === null ? null : Math.round(n * 10 ** p) / 10 ** p))(toNumber(value), toInteger(precision ?? 0) ?? 0),
  max_of: (args) => extreme(1)(args),
  min_of: (args) => extreme(-1)(args),
  gettype: ([value]) => gettype(value),
};

function pack(args: Value[]): Value {
  const bag: Record<string, unknown> = {};
  for (let index = 0; index + 1 < args.length; index += 2) bag[str(args[index])] = toDynamic(args[index + 1]);
  return bag;
}

/** Functions whose arguments are evaluated only as needed (evaluate.ts handles them). */
export const LAZY_FUNCTIONS = new Set(["iff", "iif", "case", "coalesce"]);

export const SCALAR_FUNCTIONS: ReadonlySet<string> = new Set([...Object.keys(FUNCTIONS), ...LAZY_FUNCTIONS]);

export function scalarFunction(name: string): Fn | undefined {
  return FUNCTIONS[name];
}
