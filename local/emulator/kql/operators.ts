import type { Aggregate, Operator, Query, SortKey } from "./ir.js";
import { compileExpr, type Getter } from "./expressions.js";
import { accumulatorFor, extremeRow } from "./aggregates.js";
import { compareValues, groupKey, isNull, toBool, toDynamic, type Value } from "./values.js";
import type { CallContext } from "./functions.js";

/**
 * Tabular operators as push stages: rows flow from the table scan through each stage to the result,
 * so rows a `where` drops are never copied, and blocking operators (sort, summarize, top, count)
 * buffer only what they must.
 */
export type Row = Record<string, unknown>;

export interface Sink {
  push: (row: Row) => void;
  end: () => void;
}

/** Runs a whole query to rows: how join and union read their other side. */
export type RunQuery = (query: Query) => Row[];

export type Stage = (next: Sink, run: RunQuery) => Sink;

const passThroughEnd = (next: Sink) => () => next.end();

function sortComparator(keys: Array<{ get: Getter; key: SortKey }>): (a: { values: Value[] }, b: { values: Value[] }) => number {
  return (a, b) => {
    for (let index = 0; index < keys.length; index += 1) {
      const { key } = keys[index] as { key: SortKey };
      const x = a.values[index];
      const y = b.values[index];
      const xNull = isNull(x);
      const yNull = isNull(y);
      if (xNull || yNull) {
        if (xNull && yNull) continue;
        return (xNull ? -1 : 1) * (key.nullsFirst ? 1 : -1);
      }
      const order = compareValues(x, y);
      if (order !== 0) return key.descending ? -order : order;
    }
    return 0;
  };
}

/** One string key (`order by id asc`, the product's paging order): compared directly, no conversions. */
function byString(descending: boolean): (a: { row: Row; key: string }, b: { row: Row; key: string }) => number {
  return descending ? (a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0) : (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

function sorted(keys: SortKey[], context: CallContext, limit: number): Stage {
  const getters = keys.map((key) => ({ get: compileExpr(key.e, context), key }));
  const compare = sortComparator(getters);
  const [single] = getters;
  return (next) => {
    const buffer: Array<{ row: Row; values: Value[] }> = [];
    const keyed: Array<{ row: Row; key: string }> = [];
    let strings = getters.length === 1;
    const emit = (rows: Array<{ row: Row }>): void => {
      const count = Math.min(limit, rows.length);
      for (let index = 0; index < count; index += 1) next.push((rows[index] as { row: Row }).row);
      next.end();
    };
    return {
      push: (row) => {
        if (strings && single) {
          const key = single.get(row);
          if (typeof key === "string") {
            keyed.push({ row, key });
            return;
          }
          // A key that is not a string: every row goes the general way.
          strings = false;
          for (const entry of keyed) buffer.push({ row: entry.row, values: [entry.key] });
          keyed.length = 0;
          buffer.push({ row, values: [key] });
          return;
        }
        buffer.push({ row, values: getters.map((getter) => getter.get(row)) });
      },
      end: () => {
        // Array.prototype.sort is stable: rows with equal keys keep their order.
        if (strings && single) {
          keyed.sort(byString(single.key.descending));
          emit(keyed);
          return;
        }
        buffer.sort(compare);
        emit(buffer);
      },
    };
  };
}

/** One aggregate of one group: takes rows, writes its column(s) of the group's output row. */
interface Slot {
  add(args: Value[], row: Row): void;
  write(out: Row): void;
}

function slotFactory(aggregate: Aggregate, context: CallContext): () => Slot {
  const name = aggregate.name;
  if (aggregate.fields) {
    const fields = aggregate.fields.map((field) => ({ name: field.name, get: compileExpr(field.e, context) }));
    const sign = aggregate.fn === "arg_max" ? 1 : -1;
    return () => {
      const extreme = extremeRow(sign);
      return {
        add: (args, row) => extreme.add(args, row),
        write: (out) => {
          const { value, row } = extreme.best();
          out[name] = value;
          for (const field of fields) out[field.name] = row ? (field.get(row) ?? null) : null;
        },
      };
    };
  }
  const create = accumulatorFor(aggregate.fn);
  return () => {
    const accumulator = create();
    return { add: (args) => accumulator.add(args), write: (out) => void (out[name] = accumulator.result()) };
  };
}

function summarize(op: Extract<Operator, { op: "summarize" }>, context: CallContext): Stage {
  const by = op.by.map((column) => ({ name: column.name, get: compileExpr(column.e, context) }));
  const aggregates = op.aggregates.map((aggregate) => ({ args: aggregate.args.map((arg) => compileExpr(arg, context)), create: slotFactory(aggregate, context) }));
  return (next) => {
    const groups = new Map<string, { keys: Value[]; slots: Slot[] }>();
    return {
      push: (row) => {
        const keys = by.map((column) => column.get(row));
        const id = keys.length === 1 ? groupKey(keys[0]) : keys.map(groupKey).join("\u0001");
        let group = groups.get(id);
        if (!group) {
          group = { keys, slots: aggregates.map((aggregate) => aggregate.create()) };
          groups.set(id, group);
        }
        for (let index = 0; index < aggregates.length; index += 1) {
          const aggregate = aggregates[index] as (typeof aggregates)[number];
          (group.slots[index] as Slot).add(aggregate.args.map((arg) => arg(row)), row);
        }
      },
      end: () => {
        // Without `by`, an empty input still gives one row (count() is 0).
        if (by.length === 0 && groups.size === 0) groups.set("", { keys: [], slots: aggregates.map((aggregate) => aggregate.create()) });
        for (const group of groups.values()) {
          const out: Row = {};
          by.forEach((column, index) => (out[column.name] = group.keys[index] ?? null));
          for (const slot of group.slots) slot.write(out);
          next.push(out);
        }
        next.end();
      },
    };
  };
}

function mvExpand(op: Extract<Operator, { op: "mvExpand" }>, context: CallContext): Stage {
  const columns = op.columns.map((column) => ({ name: column.name, get: compileExpr(column.e, context) }));
  // Learn "mv-expand operator": null gives one row with null, an empty array or bag gives none, a bag
  // expands into single-property bags, and several columns expand in parallel (missing values null).
  const itemsOf = (value: Value): Value[] => {
    if (isNull(value)) return [null];
    if (Array.isArray(value)) return value;
    if (typeof value === "object" && !(value instanceof Date)) return Object.entries(value as Record<string, unknown>).map(([key, item]) => ({ [key]: item }));
    return [value];
  };
  return (next) => ({
    push: (row) => {
      const expanded = columns.map((column) => itemsOf(column.get(row)));
      const count = Math.min(op.limit, Math.max(...expanded.map((items) => items.length)));
      for (let index = 0; index < count; index += 1) {
        const out: Row = { ...row };
        columns.forEach((column, position) => (out[column.name] = toDynamic(expanded[position]?.[index] ?? null)));
        if (op.itemIndex) out[op.itemIndex] = index;
        next.push(out);
      }
    },
    end: passThroughEnd(next),
  });
}

function join(op: Extract<Operator, { op: "join" }>, context: CallContext): Stage {
  const leftKeys = op.on.map((pair) => compileExpr(pair.left, context));
  const rightKeys = op.on.map((pair) => compileExpr(pair.right, context));
  const keyOf = (getters: Getter[], row: Row): string | undefined => {
    const values = getters.map((get) => get(row));
    return values.some(isNull) ? undefined : values.map(groupKey).join("\u0001");
  };
  const build = (left: Row | undefined, right: Row | undefined): Row => {
    const out: Row = {};
    for (const column of op.output) out[column.name] = (column.side === "left" ? left?.[column.from] : right?.[column.from]) ?? null;
    return out;
  };
  return (next, run) => {
    const byKey = new Map<string, Row[]>();
    const rightRows = run(op.right);
    for (const row of rightRows) {
      const key = keyOf(rightKeys, row);
      if (key === undefined) continue;
      const list = byKey.get(key);
      if (list) list.push(row);
      else byKey.set(key, [row]);
    }
    const seenLeft = new Set<string>();
    const matchedRight = new Set<Row>();
    return {
      push: (left) => {
        const key = keyOf(leftKeys, left);
        // innerunique (Kusto's default): one left row per key.
        if (op.kind === "innerunique" && key !== undefined) {
          if (seenLeft.has(key)) return;
          seenLeft.add(key);
        }
        const matches = key === undefined ? undefined : byKey.get(key);
        if (!matches) {
          if (op.kind === "leftouter" || op.kind === "fullouter") next.push(build(left, undefined));
          return;
        }
        for (const right of matches) {
          if (op.kind === "fullouter") matchedRight.add(right);
          next.push(build(left, right));
        }
      },
      end: () => {
        if (op.kind === "fullouter") for (const right of rightRows) if (!matchedRight.has(right)) next.push(build(undefined, right));
        next.end();
      },
    };
  };
}

function union(op: Extract<Operator, { op: "union" }>, inputTable: string): Stage {
  const shape = (row: Row, table: string): Row => {
    const out: Row = {};
    for (const name of op.output) out[name] = name === op.withSource ? table : (row[name] ?? null);
    return out;
  };
  return (next, run) => ({
    push: (row) => next.push(shape(row, inputTable)),
    end: () => {
      for (const leg of op.legs) for (const row of run(leg)) next.push(shape(row, leg.table));
      next.end();
    },
  });
}

export function stageOf(op: Operator, context: CallContext, inputTable: string): Stage {
  switch (op.op) {
    case "where": {
      const condition = compileExpr(op.condition, context);
      return (next) => ({ push: (row) => void (toBool(condition(row)) === true && next.push(row)), end: passThroughEnd(next) });
    }
    case "project": {
      const columns = op.columns.map((column) => ({ name: column.name, get: compileExpr(column.e, context) }));
      return (next) => ({
        push: (row) => {
          const out: Row = {};
          for (const column of columns) out[column.name] = column.get(row);
          next.push(out);
        },
        end: passThroughEnd(next),
      });
    }
    case "extend": {
      const columns = op.columns.map((column) => ({ name: column.name, get: compileExpr(column.e, context) }));
      return (next) => ({
        push: (row) => {
          const out: Row = { ...row };
          // Later expressions of one extend see the columns the earlier ones made.
          for (const column of columns) out[column.name] = column.get(out);
          next.push(out);
        },
        end: passThroughEnd(next),
      });
    }
    case "keep":
      return (next) => ({
        push: (row) => {
          const out: Row = {};
          for (const name of op.names) out[name] = row[name] ?? null;
          next.push(out);
        },
        end: passThroughEnd(next),
      });
    case "rename": {
      const renamed = new Map(op.pairs.map((pair) => [pair.from, pair.to]));
      return (next) => ({
        push: (row) => {
          const out: Row = {};
          for (const [name, value] of Object.entries(row)) out[renamed.get(name) ?? name] = value;
          next.push(out);
        },
        end: passThroughEnd(next),
      });
    }
    case "mvExpand":
      return mvExpand(op, context);
    case "summarize":
      return summarize(op, context);
    case "sort":
      return sorted(op.keys, context, Number.POSITIVE_INFINITY);
    case "top":
      return sorted([op.key], context, op.count);
    case "take":
      return (next) => {
        let taken = 0;
        return { push: (row) => void (taken < op.count && (taken += 1) && next.push(row)), end: passThroughEnd(next) };
      };
    case "distinct": {
      const columns = op.columns.map((column) => ({ name: column.name, get: compileExpr(column.e, context) }));
      return (next) => {
        const seen = new Set<string>();
        return {
          push: (row) => {
            const out: Row = {};
            for (const column of columns) out[column.name] = column.get(row);
            const key = columns.map((column) => groupKey(out[column.name])).join("\u0001");
            if (seen.has(key)) return;
            seen.add(key);
            next.push(out);
          },
          end: passThroughEnd(next),
        };
      };
    }
    case "count":
      return (next) => {
        let n = 0;
        return { push: () => void (n += 1), end: () => (next.push({ [op.name]: n }), next.end()) };
      };
    case "join":
      return join(op, context);
    case "union":
      return union(op, inputTable);
  }
}
