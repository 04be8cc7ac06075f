/** Plain-text rendering helpers for the CLI: fixed-width tables and RFC 4180 CSV. */
import { paint, terminalSafe, type Style } from "./log.js";

export interface Column<T> {
  header: string;
  width: number;
  value: (row: T) => string;
  align?: "left" | "right";
  /** Colour for this cell on a terminal (after padding, so columns stay aligned). */
  style?: (row: T) => Style | undefined;
  /**
   * A shorter form of the value for when it does not fit (an id without its type segments: the names
   * stay); what still does not fit is cut at its end, as every cell is.
   */
  compact?: (row: T) => string;
}

/** How wide a table may be: `width` columns, or (`--wide`) as wide as its longest cell, nothing cut. */
export interface TableLayout {
  width: number;
  wide: boolean;
}

/** Narrower than this, no table is readable: a terminal or COLUMNS below it still gets this many. */
export const MIN_TABLE_WIDTH = 60;
/** A pipe or file without COLUMNS: wide enough for a title and an `rg/type/name` id side by side. */
export const DEFAULT_TABLE_WIDTH = 120;

/**
 * The table's width: COLUMNS when set (as `ls` and `git` read it), else the terminal's width, else
 * 120 (a pipe or a file); `--wide` lifts the limit.
 */
export function tableLayout(wide = false, stream: { isTTY?: boolean; columns?: number } = process.stdout, env: NodeJS.ProcessEnv = process.env): TableLayout {
  const columns = Number(env["COLUMNS"]);
  const width = Number.isInteger(columns) && columns > 0 ? columns : stream.isTTY && stream.columns ? stream.columns : DEFAULT_TABLE_WIDTH;
  return { width: Math.max(MIN_TABLE_WIDTH, width), wide };
}

/** Shortens at the end: the start of a sentence or of an id is what identifies it. */
export function fit(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width <= 1) return text.slice(0, width);
  return `${text.slice(0, width - 1)}…`;
}

/**
 * An ARM id without its provider namespaces: the resource group (or, without one, the subscription's first 8
 * characters or the management group) leads. `namesOnly` keeps each type segment's name and drops the type.
 */
function shortenId(id: string, namesOnly: boolean): string {
  const segments = id.split("/").filter(Boolean);
  const parts: string[] = [];
  for (let i = 0; i < segments.length; ) {
    const segment = (segments[i] ?? "").toLowerCase();
    const next = segments[i + 1] ?? "";
    if (segment === "subscriptions") {
      if ((segments[i + 2] ?? "").toLowerCase() !== "resourcegroups") parts.push(`subscriptions/${next.slice(0, 8)}`);
      i += 2;
    } else if (segment === "resourcegroups") {
      parts.push(next);
      i += 2;
    } else if (segment === "providers") {
      i += 2; // and the namespace (Microsoft.Compute): the type after it says enough
    } else if (namesOnly) {
      // A type segment and its name: keep the name.
      parts.push(next || segments[i] || "");
      i += 2;
    } else {
      parts.push(segments[i] ?? "");
      i += 1;
    }
  }
  return parts.filter(Boolean).join("/") || id;
}

/**
 * An ARM id as `resourceGroup/type/name` (nested types and extension resources kept, provider
 * namespaces dropped): `rg-app/virtualMachines/vm1`, `rg-app/userAssignedIdentities/id-x/roleAssignments/<guid>`.
 * Without a resource group, the subscription (`subscriptions/<first 8>`) or management group leads.
 * Tables only: JSON and CSV carry the full id.
 */
export function displayId(id: string): string {
  return shortenId(id, false);
}

/**
 * An ARM id as its resource group (or subscription) and names only: `rg-cicd-prod/id-cicd-prod-uks-01`,
 * `rg-orders-prod/vm-orders-prod-uks-01/<guid>`. For a cell too narrow for `displayId`: the names are what
 * says which one it is, the title says what kind.
 */
export function compactId(id: string): string {
  return shortenId(id, true);
}

/** Estate text on one line, invisible characters escaped: what a table cell shows. */
export function oneLine(text: string): string {
  return terminalSafe(text.replace(/[\r\n\t]+/g, " "));
}

function cell(text: string, width: number, align: "left" | "right" = "left"): string {
  const fitted = fit(text, width);
  return align === "right" ? fitted.padStart(width) : fitted.padEnd(width);
}

/**
 * A fixed-width table: each column as wide as it says (values cut to fit), or with `layout.wide` as
 * wide as its longest value (nothing cut, detail lines whole). Estate text is shown on one line with
 * invisible characters escaped.
 */
export function renderTable<T>(rows: T[], columns: Column<T>[], detail?: (row: T) => string | undefined, colour = false, layout?: TableLayout): string {
  const texts = rows.map((row) => columns.map((column) => oneLine(column.value(row))));
  const widths = columns.map((column, index) => (layout?.wide ? Math.max(column.header.length, ...texts.map((values) => (values[index] ?? "").length)) : column.width));
  const lines = [columns.map((column, index) => cell(column.header, widths[index] ?? 0, column.align)).join(" ").trimEnd()];
  lines.push(widths.map((width) => "-".repeat(width)).join(" "));
  const total = widths.reduce((sum, width) => sum + width + 1, -1);
  rows.forEach((row, rowIndex) => {
    lines.push(
      columns
        .map((column, index) => {
          const width = widths[index] ?? 0;
          const value = texts[rowIndex]?.[index] ?? "";
          const shown = !layout?.wide && value.length > width && column.compact ? oneLine(column.compact(row)) : value;
          const text = cell(shown, width, column.align);
          const style = colour ? column.style?.(row) : undefined;
          return style ? paint(text, style, true) : text;
        })
        .join(" ")
        .trimEnd(),
    );
    const extra = detail?.(row);
    if (extra) lines.push(`  ${layout?.wide ? oneLine(extra) : fit(oneLine(extra), total - 2)}`);
  });
  return `${lines.join("\n")}\n`;
}

function csvField(value: string): string {
  // A leading =, +, - or @ makes spreadsheets evaluate the cell: neutralise it (tags are user input).
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function renderCsv(header: string[], rows: string[][]): string {
  return `${[header, ...rows].map((row) => row.map(csvField).join(",")).join("\r\n")}\r\n`;
}
