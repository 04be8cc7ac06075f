import type { RunReport } from "../shared/findings.js";
import type { DriftSourceSummary } from "../shared/desiredState/compare.js";
import { renderTable, type Column, type TableLayout } from "./format.js";
import { terminalSafe } from "./log.js";

/** The end of a path or URL is what names it: keep the tail. */
function tail(text: string, width: number): string {
  return text.length <= width ? text : `…${text.slice(text.length - width + 1)}`;
}

const count = (summary: DriftSourceSummary, kind: keyof DriftSourceSummary["drift"]): string => (summary.status === "read" ? String(summary.drift[kind]) : "-");

const COLUMNS: Column<DriftSourceSummary>[] = [
  { header: "SOURCE", width: 44, value: (summary) => tail(summary.path, 44) },
  { header: "FORMAT", width: 9, value: (summary) => summary.format },
  { header: "STATUS", width: 10, value: (summary) => (summary.status === "read" ? "read" : "UNREADABLE"), style: (summary) => (summary.status === "read" ? undefined : "red") },
  { header: "NOT IN CODE", width: 11, align: "right", value: (summary) => count(summary, "not-in-code") },
  { header: "MISSING", width: 7, align: "right", value: (summary) => count(summary, "missing-in-azure") },
  { header: "CHANGED", width: 7, align: "right", value: (summary) => count(summary, "changed") },
  { header: "SCOPES", width: 24, value: (summary) => summary.scopes.join(", ") },
];

/** Drift per desired-state source, under the findings table. */
export function driftTable(report: RunReport, colour: boolean, layout?: TableLayout): string {
  if (!report.drift || report.drift.length === 0) return "";
  return `\ndesired state (drift per source)\n${renderTable(report.drift, COLUMNS, (summary) => (summary.status === "read" ? undefined : `not read: ${summary.reason ?? ""}; nothing under its scopes was compared`), colour, layout)}`;
}

/** The same as a markdown section: one row per source, then its drift findings by rule. */
export function driftMarkdown(report: RunReport, code: (text: string) => string, plain: (text: string) => string): string[] {
  if (!report.drift || report.drift.length === 0) return [];
  const lines = ["## Drift against source control", "", "| source | format | status | not in code | missing in Azure | changed | scopes |", "|---|---|---|---|---|---|---|"];
  for (const summary of report.drift) {
    const cells = [code(summary.path), summary.format, summary.status, count(summary, "not-in-code"), count(summary, "missing-in-azure"), count(summary, "changed"), summary.scopes.map(code).join(", ")];
    lines.push(`| ${cells.map((cell) => cell.replace(/\|/g, "\\|")).join(" | ")} |`);
  }
  lines.push("");
  for (const summary of report.drift) {
    if (summary.status !== "read") {
      lines.push(`- ${code(summary.path)} could not be read: ${plain(summary.reason ?? "")}. Nothing under its scopes was compared.`);
      continue;
    }
    const drift = report.findings.filter((finding) => finding.ruleId.startsWith("drift-") && Array.isArray(finding.evidence["sources"]) && (finding.evidence["sources"] as unknown[]).includes(summary.path));
    if (drift.length === 0) {
      lines.push(`- ${code(summary.path)}: no drift inside its scopes.`);
      continue;
    }
    lines.push(`- ${code(summary.path)}:`);
    for (const finding of drift) {
      const address = typeof finding.evidence["address"] === "string" ? ` (${code(finding.evidence["address"])})` : "";
      lines.push(`  - **${finding.ruleId}** ${code(finding.subjectId)}${finding.relatedId ? ` → ${code(finding.relatedId)}` : ""}${address}`);
    }
  }
  lines.push("");
  return lines.map((line) => terminalSafe(line));
}
