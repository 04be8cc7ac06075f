import { compareValues, groupKey, isNull, toBool, toDynamic, toNumber, type Value } from "./values.js";

/**
 * The aggregation functions the emulator evaluates in `summarize` (Learn "Aggregation functions").
 * Each gets its arguments' values for one row at a time and gives the group's result at the end.
 * Nulls are ignored as Kusto ignores them.
 */
export interface Accumulator {
  add(args: Value[]): void;
  result(): Value;
}

const MAX_ARRAY = 1_048_576;

function count(): Accumulator {
  let n = 0;
  return { add: () => void (n += 1), result: () => n };
}

function countIf(): Accumulator {
  let n = 0;
  return { add: ([predicate]) => void (toBool(predicate) === true && (n += 1)), result: () => n };
}

function distinctCount(conditional: boolean): Accumulator {
  const seen = new Set<string>();
  return {
    add: ([value, predicate]) => {
      if (conditional && toBool(predicate) !== true) return;
      if (!isNull(value)) seen.add(groupKey(value));
    },
    result: () => seen.size,
  };
}

function makeSet(conditional: boolean): Accumulator {
  const seen = new Set<string>();
  const items: unknown[] = [];
  let max = MAX_ARRAY;
  const take = (value: Value): void => {
    if (isNull(value) || items.length >= max) return;
    const key = groupKey(value);
    if (seen.has(key)) return;
    seen.add(key);
    items.push(toDynamic(value));
  };
  return {
    add: (args) => {
      const [value] = args;
      if (conditional && toBool(args[1]) !== true) return;
      const limit = toNumber(args[conditional ? 2 : 1]);
      if (limit !== null) max = limit;
      // A dynamic array contributes its elements (Learn "make_set()").
      if (Array.isArray(value)) for (const item of value) take(item);
      else take(value);
    },
    result: () => items,
  };
}

function makeList(conditional: boolean): Accumulator {
  const items: unknown[] = [];
  let max = MAX_ARRAY;
  return {
    add: (args) => {
      if (conditional && toBool(args[1]) !== true) return;
      const limit = toNumber(args[conditional ? 2 : 1]);
      if (limit !== null) max = limit;
      if (!isNull(args[0]) && items.length < max) items.push(toDynamic(args[0]));
    },
    result: () => items,
  };
}

function any(): Accumulator {
  let value: Value = null;
  let taken = false;
  return {
    add: ([candidate]) => {
      if (!taken && !isNull(candidate)) {
        value = candidate;
        taken = true;
      }
    },
    result: () => value,
  };
}

function extreme(sign: number, conditional: boolean): Accumulator {
  let best: Value = null;
  return {
    add: ([value, predicate]) => {
      if (conditional && toBool(predicate) !== true) return;
      if (isNull(value)) return;
      if (isNull(best) || compareValues(value, best) * sign > 0) best = value;
    },
    result: () => best,
  };
}

function sum(conditional: boolean, average: boolean): Accumulator {
  let total = 0;
  let n = 0;
  return {
    add: ([value, predicate]) => {
      if (conditional && toBool(predicate) !== true) return;
      const number = toNumber(value);
      if (number === null) return;
      total += number;
      n += 1;
    },
    result: () => (average ? (n === 0 ? null : total / n) : total),
  };
}

/** arg_max/arg_min: the extreme value and the row that holds it (the first such row). */
export interface RowAccumulator {
  add(args: Value[], row: Record<string, unknown>): void;
  best(): { value: Value; row: Record<string, unknown> | undefined };
}

export function extremeRow(sign: number): RowAccumulator {
  let value: Value = null;
  let holder: Record<string, unknown> | undefined;
  return {
    add: ([candidate], row) => {
      if (isNull(candidate)) return;
      if (holder === undefined || compareValues(candidate, value) * sign > 0) {
        value = candidate;
        holder = row;
      }
    },
    best: () => ({ value, row: holder }),
  };
}

const AGGREGATES: Record<string, () => Accumulator> = {
  count,
  countif: countIf,
  dcount: () => distinctCount(false),
  dcountif: () => distinctCount(true),
  make_set: () => makeSet(false),
  make_set_if: () => makeSet(true),
  makeset: () => makeSet(false),
  make_list: () => makeList(false),
  make_list_if: () => makeList(true),
  makelist: () => makeList(false),
  any,
  take_any: any,
  min: () => extreme(-1, false),
  max: () => extreme(1, false),
  minif: () => extreme(-1, true),
  maxif: () => extreme(1, true),
  sum: () => sum(false, false),
  sumif: () => sum(true, false),
  avg: () => sum(false, true),
  avgif: () => sum(true, true),
};

export const AGGREGATE_FUNCTIONS: ReadonlySet<string> = new Set([...Object.keys(AGGREGATES), "arg_max", "arg_min"]);

export function accumulatorFor(name: string): () => Accumulator {
  const factory = AGGREGATES[name];
  if (!factory) throw new Error(`no aggregate ${name}`);
  return factory;
}
