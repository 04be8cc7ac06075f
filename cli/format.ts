/** Plain-text rendering helpers for the CLI: fixed-width tables and RFC 4180 CSV. */
import { paint, terminalSafe, type Style } from "./log.js";

export interface Column<T> {
  header: string;
  width: number;
  value: (row: T) => string;
  align?: "left" | "right";
  /** Colour for this cell on a terminal (after padding, so columns stay aligned). */
  style?: (row: T) => Style | undefined;
}

/** Shortens at the end: the start of a sentence or of an `rg/type/name` id is what identifies it. */
export function fit(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width <= 1) return text.slice(0, width);
  return `${text.slice(0, width - 1)}…`;
}

/**
 * An ARM id as `resourceGroup/type/name` (nested types and extension resources kept, provider
 * namespaces dropped): `rg-app/virtualMachines/vm1`, `rg-app/userAssignedIdentities/id-x/roleAssignments/<guid>`.
 * Without a resource group, the subscription (`subscriptions/<first 8>`) or management group leads.
 * Tables only: JSON and CSV carry the full id.
 */
export function displayId(id: string): string {
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
    } else {
      parts.push(segments[i] ?? "");
      i += 1;
    }
  }
  return parts.filter(Boolean).join("/") || id;
}

function cell(text: string, width: number, align: "left" | "right" = "left"): string {
  const fitted = fit(terminalSafe(text.replace(/[\r\n\t]+/g, " ")), width);
  return align === "right" ? fitted.padStart(width) : fitted.padEnd(width);
}

export function renderTable<T>(rows: T[], columns: Column<T>[], detail?: (row: T) => string | undefined, colour = false): string {
  const lines = [columns.map((column) => cell(column.header, column.width, column.align)).join(" ").trimEnd()];
  lines.push(columns.map((column) => "-".repeat(column.width)).join(" "));
  const total = columns.reduce((sum, column) => sum + column.width + 1, -1);
  for (const row of rows) {
    lines.push(
      columns
        .map((column) => {
          const text = cell(column.value(row), column.width, column.align);
          const style = colour ? column.style?.(row) : undefined;
          return style ? paint(text, style, true) : text;
        })
        .join(" ")
        .trimEnd(),
    );
    const extra = detail?.(row);
    if (extra) lines.push(`  ${fit(terminalSafe(extra.replace(/[\r\n\t]+/g, " ")), total - 2)}`);
  }
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
