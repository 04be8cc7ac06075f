import { createHash } from "node:crypto";
import type { CorePolicy, Severity } from "./config/policyCore.js";
import { SEVERITIES, severityRank } from "./config/policyCore.js";
import type { Incomplete } from "./model.js";
import type { FindingDraft, Remediation, RuleMeta } from "./rules/types.js";
import type { ActionRecord, CleanupSummary } from "./cleanup/record.js";
import type { FixTarget } from "./rules/lib/fixes.js";
import type { DriftSourceSummary } from "./desiredState/compare.js";

/** A finding as docs/output.md "The JSON document" prints it. */
export interface Finding {
  ruleId: string;
  severity: Severity;
  subjectId: string;
  relatedId?: string;
  fingerprint: string;
  title: string;
  message: string;
  evidence: Record<string, unknown>;
  remediation: Remediation;
}

export interface RunSummary {
  identities: number;
  roleAssignments: number;
  findings: number;
  bySeverity: Record<Severity, number>;
  suppressed: number;
}

export interface RunReport {
  runId: string;
  mode: "sweep" | "replay";
  startedAt: string;
  finishedAt: string;
  summary: RunSummary;
  findings: Finding[];
  incomplete: Incomplete[];
  /** Sweeps: the removals that clear the most findings, critical first (docs/output.md "Fix first"). */
  fixes?: Fix[];
  actions: ActionRecord[];
  /** Present when cleanup actions were considered: enforce, dry run, the journal, a tripped breaker. */
  cleanup?: CleanupSummary;
  /** Present when the policy names desired-state sources: each source, whether it was read, and its drift. */
  drift?: DriftSourceSummary[];
}

/** Stable across runs and id casing: the state store and notifications key on it. */
export function fingerprintOf(ruleId: string, subjectId: string, relatedId?: string): string {
  // The first 16 bytes in hex: one flat 32-character string (a slice of the 64-character digest would keep it whole).
  return createHash("sha256")
    .update(`${ruleId}\n${subjectId.toLowerCase()}\n${(relatedId ?? "").toLowerCase()}`)
    .digest()
    .toString("hex", 0, 16);
}

export { isRuleEnabled } from "./config/policyCore.js";

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`, "i");
}

/** Applies policy overrides and suppressions and turns drafts into findings. */
export class FindingCollector {
  private readonly findings: Finding[] = [];
  private readonly ranking = new FixRanking();
  private suppressedCount = 0;
  private readonly suppressions: Array<{ ruleId: string; subject: RegExp }>;

  constructor(private readonly policy: CorePolicy, private readonly metaById: Map<string, RuleMeta>, now: Date) {
    this.suppressions = policy.suppressions
      .filter((suppression) => !suppression.expires || Date.parse(suppression.expires) > now.getTime())
      .map((suppression) => ({ ruleId: suppression.ruleId, subject: globToRegExp(suppression.subjectId) }));
  }

  add(draft: FindingDraft): void {
    if (this.suppressions.some((suppression) => suppression.ruleId === draft.ruleId && suppression.subject.test(draft.subjectId))) {
      this.suppressedCount += 1;
      return;
    }
    const severity = this.policy.rules[draft.ruleId]?.severity ?? draft.severity;
    const meta = this.metaById.get(draft.ruleId);
    const finding: Finding = {
      ruleId: draft.ruleId,
      severity,
      subjectId: draft.subjectId,
      ...(draft.relatedId !== undefined ? { relatedId: draft.relatedId } : {}),
      fingerprint: fingerprintOf(draft.ruleId, draft.subjectId, draft.relatedId),
      title: draft.title,
      message: draft.message,
      evidence: draft.evidence,
      remediation: meta ? meta.remediation(draft) : { summary: "", cli: [] },
    };
    this.findings.push(finding);
    if (draft.fixes && draft.fixes.length > 0) this.ranking.add(finding.fingerprint, severity, draft.fixes);
  }

  /** docs/output.md "Fix first": the removals that clear the reported findings, ranked. */
  fixes(): Fix[] {
    return this.ranking.ranked();
  }

  get suppressed(): number {
    return this.suppressedCount;
  }

  sorted(): Finding[] {
    return sortFindings(this.findings);
  }
}

/** Most severe first, then by rule and subject, so output is stable. */
export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      severityRank(b.severity) - severityRank(a.severity) ||
      a.ruleId.localeCompare(b.ruleId) ||
      a.subjectId.localeCompare(b.subjectId) ||
      (a.relatedId ?? "").localeCompare(b.relatedId ?? ""),
  );
}

export function summarize(findings: Finding[], counts: { identities: number; roleAssignments: number; suppressed: number }): RunSummary {
  const bySeverity = Object.fromEntries(SEVERITIES.map((severity) => [severity, 0])) as Record<Severity, number>;
  for (const finding of findings) bySeverity[finding.severity] += 1;
  return { identities: counts.identities, roleAssignments: counts.roleAssignments, findings: findings.length, bySeverity, suppressed: counts.suppressed };
}

/** docs/output.md "Fix first": a removal, with the findings it alone clears. */
export interface Fix extends FixTarget {
  clears: Record<Severity, number>;
  /** Fingerprints of the findings it clears. */
  findings: string[];
}

const EMPTY = (): Record<Severity, number> => ({ critical: 0, high: 0, medium: 0, low: 0 });

/** Ranks the targets by the findings they alone clear: critical cleared first, then high, medium, low; ties by target id (stable output). */
export function rankFixes(cleared: Array<{ fingerprint: string; severity: Severity; fixes: readonly FixTarget[] }>): Fix[] {
  const ranking = new FixRanking();
  for (const finding of cleared) ranking.add(finding.fingerprint, finding.severity, finding.fixes);
  return ranking.ranked();
}

/**
 * `rankFixes` fed one finding at a time: the findings' lists of targets need not be kept until the end (at 1M role
 * assignments a sweep has ~290,000 findings with fixes), only each target's counts and fingerprints.
 */
export class FixRanking {
  private readonly byTarget = new Map<string, Fix>();
  // Findings share their targets (one per grant): each target's key is worked out once.
  private readonly keys = new Map<FixTarget, string>();

  add(fingerprint: string, severity: Severity, fixes: readonly FixTarget[]): void {
    const seen = new Set<string>();
    for (const target of fixes) {
      let key = this.keys.get(target);
      if (key === undefined) this.keys.set(target, (key = `${target.kind}\u0000${target.target.toLowerCase()}`));
      if (seen.has(key)) continue;
      seen.add(key);
      let fix = this.byTarget.get(key);
      if (!fix) {
        fix = { ...target, clears: EMPTY(), findings: [] };
        this.byTarget.set(key, fix);
      }
      fix.clears[severity] += 1;
      fix.findings.push(fingerprint);
    }
  }

  /** The targets as fed so far (the same objects each call: later findings count into them). */
  ranked(): Fix[] {
    return [...this.byTarget.values()].sort(
      (a, b) =>
        b.clears.critical - a.clears.critical ||
        b.clears.high - a.clears.high ||
        b.clears.medium - a.clears.medium ||
        b.clears.low - a.clears.low ||
        a.target.toLowerCase().localeCompare(b.target.toLowerCase()),
    );
  }
}
