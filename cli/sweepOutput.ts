import type { Finding, Fix, RunReport } from "../shared/findings.js";
import type { ActionRecord } from "../shared/cleanup/record.js";
import { SEVERITIES } from "../shared/config/policy.js";
import { rulePageOf } from "../shared/rules/index.js";
import { compactId, displayId, renderCsv, renderTable, tableLayout, type Column, type TableLayout } from "./format.js";
import { colourWanted, terminalSafe, type Style } from "./log.js";
import { driftMarkdown, driftTable } from "./driftOutput.js";

const SEVERITY_STYLE: Record<string, Style> = { critical: "red", high: "red", medium: "yellow", low: "dim" };

import { REPORT_FORMATS } from "./formats.js";

export { REPORT_FORMATS };
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/**
 * The title says what was found (names, roles), the subject where (`rg/type/name`, or `rg/name` when that
 * does not fit, so the name stays); both share what the layout's width leaves after severity and rule.
 * `--wide`: the subject's whole id and the whole title.
 */
function findingColumns(findings: Finding[], layout: TableLayout): Column<Finding>[] {
  // As wide as the longest rule id shown, so the subject and title get the rest.
  const rule = Math.max(4, ...findings.map((finding) => finding.ruleId.length));
  const rest = Math.max(20, layout.width - 8 - rule - 3);
  const subjectOf = (finding: Finding): string => (layout.wide ? finding.subjectId : displayId(finding.subjectId));
  const subject = Math.min(Math.max(...findings.map((finding) => subjectOf(finding).length), 7), Math.floor(rest / 2));
  return [
    { header: "SEVERITY", width: 8, value: (finding) => finding.severity, style: (finding) => SEVERITY_STYLE[finding.severity] },
    { header: "RULE", width: rule, value: (finding) => finding.ruleId },
    { header: "SUBJECT", width: subject, value: subjectOf, compact: (finding) => compactId(finding.subjectId) },
    { header: "TITLE", width: rest - subject - 1, value: (finding) => finding.title },
  ];
}

function summaryLine(report: RunReport): string {
  const counts = SEVERITIES.map((severity) => `${report.summary.bySeverity[severity]} ${severity}`).join(", ");
  const suppressed = report.summary.suppressed > 0 ? `, ${report.summary.suppressed} suppressed` : "";
  const scope =
    report.mode === "replay"
      ? "from the replayed events"
      : `across ${report.summary.identities} identities and ${report.summary.roleAssignments.toLocaleString("en-US")} role assignments`;
  return `${report.summary.findings} finding${report.summary.findings === 1 ? "" : "s"} (${counts}${suppressed}) ${scope}`;
}

function incompleteLines(report: RunReport): string {
  return report.incomplete.map((entry) => `INCOMPLETE ${entry.check}: ${entry.reason} (${entry.affected} affected)\n`).join("");
}

/** `delete rg/type/name`, `detach rg/type/vm ← rg/type/identity`, `tag …`: what an action changes, ids shown by `show`. */
function changeText(action: ActionRecord, show: (id: string) => string): string {
  const verb = action.action.replace("-role-assignment", "").replace("-identity", "");
  return `${verb} ${show(action.target)}${action.action === "detach-identity" && action.relatedId ? ` ← ${show(action.relatedId)}` : ""}`;
}

const ACTION_COLUMNS: Column<ActionRecord>[] = [
  { header: "ACTION", width: 8, value: (action) => action.status },
  { header: "CHANGE", width: 70, value: (action) => changeText(action, displayId), compact: (action) => changeText(action, compactId) },
  { header: "WHY", width: 36, value: (action) => action.reason ?? "" },
];

/** The cleanup part of a table report: what was (or, in a dry run, would be) changed, and the journal. */
function actionLines(report: RunReport, layout: TableLayout): string {
  const cleanup = report.cleanup;
  if (!cleanup || cleanup.mode === "off") return "";
  const header = `\ncleanup (${cleanup.mode}${cleanup.journal ? `, journal ${cleanup.journal}` : ""})${cleanup.breaker ? `: CIRCUIT BREAKER TRIPPED, nothing changed: ${cleanup.breaker}` : ""}\n`;
  if (report.actions.length === 0) return `${header}no actions\n`;
  const counts = new Map<string, number>();
  for (const action of report.actions) counts.set(action.status, (counts.get(action.status) ?? 0) + 1);
  return `${header}${renderTable(report.actions, ACTION_COLUMNS, undefined, false, layout)}${[...counts].map(([status, count]) => `${count} ${status}`).join(", ")}\n`;
}

/** How many fixes the table and markdown show (docs/output.md "Fix first"); JSON has them all. */
export const FIXES_SHOWN = 10;

const clearsText = (fix: Fix): string =>
  SEVERITIES.filter((severity) => fix.clears[severity] > 0)
    .map((severity) => `${fix.clears[severity]} ${severity}`)
    .join(", ");

type RankedFix = Fix & { rank: number };

function fixColumns(width: number): Column<RankedFix>[] {
  const clears = 34;
  return [
    { header: "#", width: 2, align: "right", value: (fix) => String(fix.rank) },
    { header: "CLEARS", width: clears, value: (fix) => clearsText(fix), style: (fix) => (fix.clears.critical > 0 ? "red" : fix.clears.high > 0 ? "red" : undefined) },
    { header: "FIX", width: width - clears - 2 - 2, value: (fix) => fix.title },
  ];
}

/** The "Fix first" block above a table report: the removals that clear the most findings, and how to make the first. */
function fixFirstBlock(report: RunReport, layout: TableLayout): string {
  const fixes: RankedFix[] = (report.fixes ?? []).slice(0, FIXES_SHOWN).map((fix, at) => ({ ...fix, rank: at + 1 }));
  if (fixes.length === 0) return "";
  const more = (report.fixes?.length ?? 0) - fixes.length;
  const table = renderTable(fixes, fixColumns(layout.width), undefined, colourWanted(process.stdout), layout);
  const first = fixes[0];
  return `Fix first: ${fixes.length} removal${fixes.length === 1 ? "" : "s"} that clear the most findings${more > 0 ? ` (${more} more in -o json)` : ""}\n${table}${first ? `  ${terminalSafe(first.az)}\n` : ""}\n`;
}

export function renderReport(report: RunReport, format: ReportFormat, layout: TableLayout = tableLayout()): string {
  switch (format) {
    case "json":
      return `${JSON.stringify(report, null, 2)}\n`;
    case "table":
      return `${fixFirstBlock(report, layout)}${renderTable(report.findings, findingColumns(report.findings, layout), undefined, colourWanted(process.stdout), layout)}${summaryLine(report)}\n${incompleteLines(report)}${driftTable(report, colourWanted(process.stdout), layout)}${actionLines(report, layout)}`;
    case "csv":
      return renderCsv(
        ["ruleId", "severity", "subjectId", "relatedId", "fingerprint", "title", "remediation"],
        report.findings.map((finding) => [
          finding.ruleId, finding.severity, finding.subjectId, finding.relatedId ?? "", finding.fingerprint, finding.title,
          finding.remediation.cli.join(" && "),
        ]),
      );
    case "markdown":
      return renderMarkdown(report);
  }
}

/** Markdown never interprets names or tags: they go in code spans with backticks neutralised. */
function code(text: string): string {
  return `\`${terminalSafe(text.replace(/`/g, "'").replace(/[\r\n\t]+/g, " "))}\``;
}

function plain(text: string): string {
  return terminalSafe(text.replace(/([\\`*_{}[\]()#+!|<>~])/g, "\\$1").replace(/[\r\n\t]+/g, " "));
}

interface ExposureRight {
  right?: unknown;
  roleName?: unknown;
  scope?: unknown;
  resourceId?: unknown;
  eligible?: unknown;
  condition?: unknown;
}

/** `displayName (type)` of a finding's holder (its evidence), else its id. */
function holderOf(finding: Finding): string {
  const name = finding.evidence["displayName"];
  const type = String(finding.evidence["principalType"] ?? "");
  return typeof name === "string" && name ? `${name}${type ? ` (${type})` : ""}` : (finding.relatedId ?? "");
}

/** A group holder's members as evidence lists them: `name (type)`, and how many more. */
function membersOf(finding: Finding): string {
  const members = finding.evidence["members"];
  if (!Array.isArray(members)) return finding.evidence["membersUnknown"] ? "members unknown" : "";
  const count = Number(finding.evidence["memberCount"] ?? members.length);
  const named = (members as Array<{ id?: unknown; displayName?: unknown; type?: unknown }>).slice(0, 5).map((member) => `${String(member.displayName ?? member.id ?? "")} (${String(member.type ?? "")})`);
  return `${named.join(", ")}${count > named.length ? ` and ${count - named.length} more` : ""}`;
}

/** docs/rules/privileged-identity-exposed.md as an access review reads it: per identity, who can act as it and through which grant. */
function exposureByIdentity(findings: Finding[]): string[] {
  const lines: string[] = [];
  const byIdentity = new Map<string, Finding[]>();
  for (const finding of findings) byIdentity.set(finding.subjectId.toLowerCase(), [...(byIdentity.get(finding.subjectId.toLowerCase()) ?? []), finding]);
  for (const group of byIdentity.values()) {
    const first = group[0];
    if (!first) continue;
    const name = first.subjectId.slice(first.subjectId.lastIndexOf("/") + 1);
    const ways = new Set(group.flatMap((finding) => rightsOf(finding).map((right) => String(right.right))));
    const verbs = [ways.has("assign") ? "assign it" : "", ways.has("federate") ? "add a federated credential to it" : "", ways.has("run-code") ? "run code as it" : ""].filter(Boolean);
    const how = verbs.length > 1 ? `${verbs.slice(0, -1).join(", ")} or ${verbs[verbs.length - 1] ?? ""}` : (verbs[0] ?? "act as it");
    lines.push(`### ${code(name)} (${first.severity}): ${group.length} principal${group.length === 1 ? " can" : "s can"} ${how}`, "", `Identity ${code(first.subjectId)}.`, "");
    lines.push("| principal | id | right | role | scope | resource | members |", "|---|---|---|---|---|---|---|");
    for (const finding of group) {
      for (const right of rightsOf(finding)) {
        const marks = [right.eligible ? "eligible" : "", typeof right.condition === "string" ? `condition: ${right.condition}` : ""].filter(Boolean).join("; ");
        const cells = [holderOf(finding), finding.relatedId ?? "", `${String(right.right ?? "")}${marks ? ` (${marks})` : ""}`, String(right.roleName ?? ""), String(right.scope ?? ""), right.resourceId ? String(right.resourceId) : "", membersOf(finding)];
        lines.push(`| ${cells.map((cell) => (cell ? code(cell).replace(/\|/g, "\\|") : "")).join(" | ")} |`);
      }
    }
    lines.push("", "```sh");
    for (const finding of group) lines.push(...finding.remediation.cli.map((command) => terminalSafe(command.replace(/`/g, "'"))));
    lines.push("```", "");
  }
  const remediation = findings[0]?.remediation;
  if (remediation) lines.push(`Remediation: ${plain(remediation.summary)}`, "");
  return lines;
}

function rightsOf(finding: Finding): ExposureRight[] {
  const rights = finding.evidence["rights"];
  return Array.isArray(rights) ? (rights as ExposureRight[]) : [];
}

function renderMarkdown(report: RunReport): string {
  const lines = [`# uami-guard ${report.mode} ${report.runId}`, "", `${summaryLine(report)}.`, ""];
  lines.push("| severity | count |", "|---|---|");
  for (const severity of SEVERITIES) lines.push(`| ${severity} | ${report.summary.bySeverity[severity]} |`);
  lines.push("");
  if (report.incomplete.length > 0) {
    lines.push("## Incomplete checks", "", "These were not checked; nothing was concluded about them.", "");
    for (const entry of report.incomplete) lines.push(`- **${entry.check}** (${entry.affected} affected): ${plain(entry.reason)}`);
    lines.push("");
  }
  const fixes = (report.fixes ?? []).slice(0, FIXES_SHOWN);
  if (fixes.length > 0) {
    lines.push("## Fix first", "", "The removals that clear the most findings, critical first (each is the only source of what the findings it clears need).", "");
    lines.push("| # | clears | fix |", "|---|---|---|");
    fixes.forEach((fix, at) => lines.push(`| ${at + 1} | ${clearsText(fix)} | ${plain(fix.title)} |`));
    lines.push("", "```sh", ...fixes.map((fix) => terminalSafe(fix.az.replace(/`/g, "'"))), "```", "");
  }
  if (report.cleanup && report.cleanup.mode !== "off") {
    lines.push(`## Cleanup (${report.cleanup.mode})`, "");
    if (report.cleanup.breaker) lines.push(`**Circuit breaker tripped, nothing was changed:** ${plain(report.cleanup.breaker)}`, "");
    if (report.cleanup.journal) lines.push(`Journal: ${code(report.cleanup.journal)}`, "");
    for (const action of report.actions) lines.push(`- **${action.status}** ${plain(action.change)}${action.reason ? ` (${plain(action.reason)})` : ""}`);
    lines.push("");
  }
  lines.push(...driftMarkdown(report, code, plain));
  const byRule = new Map<string, Finding[]>();
  for (const finding of report.findings) byRule.set(finding.ruleId, [...(byRule.get(finding.ruleId) ?? []), finding]);
  for (const [ruleId, findings] of byRule) {
    lines.push(`## ${ruleId} (${findings.length})`, "");
    const page = rulePageOf(ruleId);
    if (page) lines.push(`Rule page: [${page}](${page})`, "");
    if (ruleId === "privileged-identity-exposed") {
      lines.push(...exposureByIdentity(findings));
      continue;
    }
    for (const finding of findings) {
      lines.push(`- **${finding.severity}** ${code(finding.subjectId)}${finding.relatedId ? ` → ${code(finding.relatedId)}` : ""}`);
      lines.push(`  ${plain(finding.message)}`);
    }
    const remediation = findings[0]?.remediation;
    if (remediation) {
      lines.push("", `Remediation: ${plain(remediation.summary)}`, "", "```sh");
      // A command naming a hostile resource shows its escapes: pasted, it matches nothing rather than driving the terminal.
      for (const finding of findings) lines.push(...finding.remediation.cli.map((command) => terminalSafe(command.replace(/`/g, "'"))));
      lines.push("```", "");
    }
  }
  return `${lines.join("\n")}\n`;
}
