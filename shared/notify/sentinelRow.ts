import { rulePageOf } from "../rules/index.js";
import type { Notice } from "./notification.js";
import { callerOf, subscriptionOfFinding } from "./notification.js";

/**
 * The documented schema of UamiGuardFindings_CL (stream Custom-UamiGuardFindings). Stable: analytics
 * rules and the workbook in infra/ query these columns.
 */
export interface SentinelRow {
  TimeGenerated: string;
  RuleId: string;
  Severity: string;
  SubjectId: string;
  RelatedId: string;
  Fingerprint: string;
  Title: string;
  Message: string;
  Caller: string;
  SubscriptionId: string;
  Evidence: Record<string, unknown>;
  RunId: string;
  Mode: string;
  Status: "new" | "resolved";
  /** The rule's page: what it reports, why it matters, how to fix it. */
  RulePage: string;
}

/** Log Analytics takes at most 64 KB per field. */
const FIELD_LIMIT = 60_000;

export function sentinelRow(notice: Notice): SentinelRow {
  const { finding } = notice;
  const evidence = JSON.stringify(finding.evidence).length <= FIELD_LIMIT ? finding.evidence : { truncated: true };
  return {
    TimeGenerated: notice.at,
    RuleId: finding.ruleId,
    Severity: finding.severity,
    SubjectId: finding.subjectId,
    RelatedId: finding.relatedId ?? "",
    Fingerprint: finding.fingerprint,
    Title: finding.title.slice(0, FIELD_LIMIT),
    Message: finding.message.slice(0, FIELD_LIMIT),
    Caller: callerOf(finding),
    SubscriptionId: subscriptionOfFinding(finding),
    Evidence: evidence,
    RunId: notice.runId,
    Mode: notice.mode,
    Status: notice.status === "resolved" ? "resolved" : "new",
    RulePage: rulePageOf(finding.ruleId) ?? "",
  };
}
