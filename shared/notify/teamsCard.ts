import { SEVERITIES } from "../config/policy.js";
import { ruleMeta, rulePageOf } from "../rules/index.js";
import type { Digest, Notice } from "./notification.js";
import { callerOf, resourceGroupOfFinding, subscriptionOfFinding } from "./notification.js";

/** Teams accepts at most 28 KB a message; keep a margin for the envelope Workflows adds. */
export const TEAMS_MESSAGE_LIMIT = 27 * 1024;

const RULES = ruleMeta;
const ICON: Record<string, string> = { critical: "🟥", high: "🟧", medium: "🟨", low: "🟦" };

/**
 * Resource names, tags, UPNs and messages are user-controlled: escape every markdown character so
 * nothing renders as a link, heading or emphasis, and break URLs so Teams does not auto-link them.
 */
export function escapeText(text: string): string {
  return text
    .replace(/[\\`*_{}[\]()#+\-.!|<>~]/g, (character) => `\\${character}`)
    .replace(/:\/\//g, ":\u200b//")
    .replace(/www\\\./gi, (match) => `${match.slice(0, 3)}\u200b${match.slice(3)}`)
    .replace(/[\r\n]+/g, " ");
}

function shorten(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

type Element = Record<string, unknown>;

function message(body: Element[]): Record<string, unknown> {
  return {
    type: "message",
    attachments: [
      {
        contentType: "application/vnd.microsoft.card.adaptive",
        contentUrl: null,
        content: { $schema: "http://adaptivecards.io/schemas/adaptive-card.json", type: "AdaptiveCard", version: "1.4", msteams: { width: "Full" }, body },
      },
    ],
  };
}

function fact(title: string, value: string): Element {
  return { title, value: escapeText(shorten(value, 400)) };
}

function sizeOf(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

/** A group holder's members as a line (evidence `members` / `memberCount` of privileged-identity-exposed). */
function membersLine(evidence: Record<string, unknown>): string | undefined {
  const members = evidence["members"];
  if (!Array.isArray(members)) return evidence["membersUnknown"] ? "Its members could not be read: anyone in it can." : undefined;
  const count = typeof evidence["memberCount"] === "number" ? evidence["memberCount"] : members.length;
  const named = (members as Array<{ id?: unknown; displayName?: unknown; type?: unknown }>).slice(0, 20).map((member) => `${String(member.displayName ?? member.id ?? "")} (${String(member.type ?? "")})`);
  return `Members who can act through it (${count}): ${named.join(", ")}${count > named.length ? `, and ${count - named.length} more` : ""}`;
}

/** One card for one finding (event findings go out at once): who, what, where, why, and the fix. */
export function findingCard(notice: Notice, textLimit = 2000): Record<string, unknown> {
  const { finding } = notice;
  const meta = RULES.get(finding.ruleId);
  const state = notice.status === "resolved" ? "Resolved" : notice.status === "reminder" ? "Still open" : "New";
  const facts = [
    fact("Rule", `${finding.ruleId} (${finding.severity})`),
    fact("Who", callerOf(finding) || "n/a"),
    fact("Subject", finding.subjectId),
    ...(finding.relatedId ? [fact("Related", finding.relatedId)] : []),
    fact("Subscription", subscriptionOfFinding(finding) || "n/a"),
    fact("Resource group", resourceGroupOfFinding(finding) || "n/a"),
    fact("When", notice.at),
    // The rule's page (its manifest's docs.url: the app's own text, `docs/rules/<id>.md`, nothing from outside),
    // as it is spelled, so that it reads and searches as the path it is.
    ...(meta ? [{ title: "Rule page", value: meta.docs.url }] : []),
  ];
  const card = message([
    { type: "TextBlock", size: "Medium", weight: "Bolder", wrap: true, text: `${ICON[finding.severity] ?? ""} ${state}: ${escapeText(shorten(finding.title, 300))}` },
    { type: "FactSet", facts },
    { type: "TextBlock", wrap: true, text: escapeText(shorten(finding.message, textLimit)) },
    ...(membersLine(finding.evidence) ? [{ type: "TextBlock", wrap: true, text: escapeText(shorten(membersLine(finding.evidence) ?? "", textLimit)) }] : []),
    ...(meta ? [{ type: "TextBlock", wrap: true, weight: "Bolder", text: "Why it matters" }, { type: "TextBlock", wrap: true, text: escapeText(meta.risk) }] : []),
    { type: "TextBlock", wrap: true, weight: "Bolder", text: "Remediation" },
    { type: "TextBlock", wrap: true, text: escapeText(finding.remediation.summary) },
    { type: "TextBlock", wrap: true, fontType: "Monospace", text: escapeText(shorten(finding.remediation.cli.join("\n"), textLimit)) },
  ]);
  return sizeOf(card) <= TEAMS_MESSAGE_LIMIT || textLimit < 100 ? card : findingCard(notice, Math.floor(textLimit / 2));
}

/** What changed, counted as it was sent: the new and resolved findings at or above notify.minSeverity. */
function digestHeadline(digest: Digest): string {
  const count = (n: number, what: string): string => `${n} ${what} finding${n === 1 ? "" : "s"}`;
  const floor = digest.minSeverity && digest.minSeverity !== "low" ? ` (${digest.minSeverity} and above)` : "";
  return `uami-guard sweep: ${count(digest.notices.length, "new")}, ${count(digest.resolved, "resolved")}${floor}`;
}

/** One card a sweep: what is new and resolved, every finding by severity, the most severe new ones, where the full report is. */
export function digestCard(digest: Digest): Record<string, unknown> {
  const total = SEVERITIES.reduce((sum, severity) => sum + (digest.counts[severity] ?? 0), 0);
  const build = (shown: number): Record<string, unknown> => {
    const rows = digest.notices.slice(0, shown).map((notice) => ({
      type: "TextBlock",
      wrap: true,
      spacing: "Small",
      text: `${ICON[notice.finding.severity] ?? ""} ${escapeText(notice.finding.ruleId)} · ${escapeText(shorten(notice.finding.title, 160))}`,
    }));
    const hidden = digest.notices.length - shown;
    // The pages of the rules shown (the manifest's docs.url, the app's own text, as spelled).
    const pages = [...new Set(digest.notices.slice(0, shown).flatMap((notice) => rulePageOf(notice.finding.ruleId) ?? []))];
    return message([
      { type: "TextBlock", size: "Medium", weight: "Bolder", wrap: true, text: digestHeadline(digest) },
      { type: "TextBlock", wrap: true, spacing: "Small", text: `All ${total} finding${total === 1 ? "" : "s"} of this sweep, new or not:` },
      { type: "FactSet", facts: SEVERITIES.map((severity) => ({ title: `${ICON[severity] ?? ""} ${severity}`, value: String(digest.counts[severity] ?? 0) })) },
      ...(digest.incomplete.length > 0
        ? [{ type: "TextBlock", wrap: true, color: "Warning", text: `Incomplete: ${escapeText(shorten(digest.incomplete.join("; "), 600))}` }]
        : []),
      ...rows,
      ...(hidden > 0 ? [{ type: "TextBlock", wrap: true, isSubtle: true, text: `…and ${hidden} more.` }] : []),
      ...(pages.length > 0 ? [{ type: "TextBlock", wrap: true, isSubtle: true, text: `Rule pages: ${pages.join(", ")}` }] : []),
      {
        type: "TextBlock",
        wrap: true,
        isSubtle: true,
        text: `Run ${escapeText(digest.runId)}. Full report: uami-guard sweep \\-\\-output markdown, or in Sentinel: UamiGuardFindings\\_CL \\| where RunId == "${escapeText(digest.runId)}"`,
      },
    ]);
  };
  let shown = Math.min(digest.notices.length, 15);
  let card = build(shown);
  while (sizeOf(card) > TEAMS_MESSAGE_LIMIT && shown > 0) {
    shown = Math.floor(shown / 2);
    card = build(shown);
  }
  return card;
}
