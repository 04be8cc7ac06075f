/** Plain-text rendering helpers for the CLI: fixed-width tables and RFC 4180 CSV. */

export interface Column<T> {
  header: string;
  width: number;
  value: (row: T) => string;
  align?: "left" | "right";
}

/** Shortens in the middle, keeping both ends of ids recognisable. */
export function fit(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width <= 3) return text.slice(0, width);
  const keep = width - 1;
  const head = Math.ceil(keep / 2);
  return `${text.slice(0, head)}…${text.slice(text.length - (keep - head))}`;
}

function cell(text: string, width: number, align: "left" | "right" = "left"): string {
  const fitted = fit(text.replace(/[\r\n\t]+/g, " "), width);
  return align === "right" ? fitted.padStart(width) : fitted.padEnd(width);
}

export function renderTable<T>(rows: T[], columns: Column<T>[], detail?: (row: T) => string | undefined): string {
  const lines = [columns.map((column) => cell(column.header, column.width, column.align)).join(" ").trimEnd()];
  lines.push(columns.map((column) => "-".repeat(column.width)).join(" "));
  const total = columns.reduce((sum, column) => sum + column.width + 1, -1);
  for (const row of rows) {
    lines.push(columns.map((column) => cell(column.value(row), column.width, column.align)).join(" ").trimEnd());
    const extra = detail?.(row);
    if (extra) lines.push(`  ${fit(extra, total - 2)}`);
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
