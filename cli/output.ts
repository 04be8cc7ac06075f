import jmespath from "jmespath";
import { stringify as toYaml } from "yaml";
import { InputError, errorMessage } from "../shared/errors.js";
import { fit, oneLine, renderCsv, tableLayout, type TableLayout } from "./format.js";
import { colourWanted, paint } from "./log.js";

/**
 * az's output conventions (Learn "Output formats for Azure CLI commands",
 * https://learn.microsoft.com/cli/azure/format-output-azure-cli): `-o json|jsonc|table|tsv|yaml|none`,
 * and `--query` with JMESPath (the `jmespath` package implements the same specification as the
 * jmespath library az uses). csv and markdown are this tool's own additions.
 */
import { AZ_FORMATS } from "./formats.js";

export { AZ_FORMATS };
export type OutputFormat = (typeof AZ_FORMATS)[number] | "csv" | "markdown";

/** How one command renders its result when no --query reshapes it. */
export interface CommandOutput {
  /** The JSON document (`-o json`): the contract other tools read. */
  document: unknown;
  /** The rows `-o tsv` prints, one per line (findings, identities, restore results). */
  rows: () => unknown[];
  table: (layout: TableLayout) => string;
  csv?: () => string;
  markdown?: () => string;
}

export function render(output: CommandOutput, format: OutputFormat, query?: string, layout: TableLayout = tableLayout()): string {
  if (query === undefined) {
    switch (format) {
      case "json":
        return `${JSON.stringify(output.document, null, 2)}\n`;
      case "jsonc":
        return jsonc(output.document);
      case "yaml":
        return toYaml(plain(output.document));
      case "tsv":
        return tsv(output.rows());
      case "table":
        return output.table(layout);
      case "csv":
        return output.csv?.() ?? csv(output.rows());
      case "markdown":
        if (!output.markdown) throw new InputError("--output markdown: not available for this command");
        return output.markdown();
      case "none":
        return "";
    }
  }
  const value = search(output.document, query);
  switch (format) {
    case "json":
      return `${JSON.stringify(value ?? null, null, 2)}\n`;
    case "jsonc":
      return jsonc(value ?? null);
    case "yaml":
      return toYaml(plain(value ?? null));
    case "tsv":
      return tsv(value);
    case "table":
      return table(value, layout);
    case "csv":
      return csv(value);
    case "markdown":
      throw new InputError("--query: works with -o json, jsonc, yaml, tsv, table, csv and none, not markdown");
    case "none":
      return "";
  }
}

function search(document: unknown, query: string): unknown {
  try {
    return jmespath.search(plain(document), query);
  } catch (error) {
    throw new InputError(`--query ${query}: ${errorMessage(error)}`);
  }
}

/** JSON round trip: what --query and YAML see is exactly what -o json prints (no undefined, no Dates). */
function plain(value: unknown): unknown {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as unknown);
}

function scalar(value: unknown): value is string | number | boolean | null {
  return value === null || ["string", "number", "boolean"].includes(typeof value);
}

function text(value: unknown): string {
  return value === null || value === undefined ? "" : String(value);
}

/** az's tsv: one line per list item; an object's scalar values in key order, nested values left out. */
function tsv(value: unknown): string {
  const items = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  const lines = items.map((item) => {
    const field = (value: unknown): string => oneLine(text(value));
    if (scalar(item)) return field(item);
    if (Array.isArray(item)) return item.filter(scalar).map(field).join("\t");
    return Object.values(item as Record<string, unknown>).filter(scalar).map(field).join("\t");
  });
  return lines.length > 0 ? `${lines.join("\n")}\n` : "";
}

/** Columns of a list of objects: their scalar keys, in first-seen order. */
function columnsOf(items: unknown[]): string[] {
  const keys: string[] = [];
  for (const item of items) {
    if (item === null || typeof item !== "object" || Array.isArray(item)) continue;
    for (const [key, field] of Object.entries(item)) if (scalar(field) && !keys.includes(key)) keys.push(key);
  }
  return keys;
}

function cells(value: unknown): { header: string[]; rows: string[][] } {
  const items = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  const keys = columnsOf(items);
  if (keys.length === 0) return { header: ["Result"], rows: items.map((item) => [scalar(item) ? text(item) : JSON.stringify(item)]) };
  return { header: keys, rows: items.map((item) => keys.map((key) => (item && typeof item === "object" ? text((item as Record<string, unknown>)[key]) : ""))) };
}

/** A --query result as a table: like az, a column per scalar key; cells cut at the end past 60 characters (`--wide`: never). */
function table(value: unknown, layout: TableLayout): string {
  const { header, rows } = cells(value);
  const limit = layout.wide ? Infinity : 60;
  const widths = header.map((name, index) => Math.min(limit, Math.max(name.length, ...rows.map((row) => oneLine(row[index] ?? "").length))));
  const line = (row: string[]): string => row.map((cell, index) => fit(oneLine(cell), widths[index] ?? 0).padEnd(widths[index] ?? 0)).join("  ").trimEnd();
  return `${[line(header), widths.map((width) => "-".repeat(width)).join("  "), ...rows.map(line)].join("\n")}\n`;
}

function csv(value: unknown): string {
  const { header, rows } = cells(value);
  return renderCsv(header, rows);
}

/** Coloured JSON on a terminal (unless NO_COLOR), plain JSON otherwise: always valid JSON text. */
function jsonc(value: unknown): string {
  const json = JSON.stringify(value, null, 2);
  if (!colourWanted(process.stdout)) return `${json}\n`;
  const coloured = json.replace(/("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g, (match, string: string | undefined, colon: string | undefined, literal: string | undefined, number: string | undefined) => {
    if (string !== undefined) return colon ? `${paint(string, "cyan", true)}${colon}` : paint(string, "yellow", true);
    if (literal !== undefined) return paint(literal, "magenta", true);
    if (number !== undefined) return paint(number, "bold", true);
    return match;
  });
  return `${coloured}\n`;
}
