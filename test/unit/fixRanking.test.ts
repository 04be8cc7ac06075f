import { describe, expect, it } from "vitest";
import { defaultPolicy } from "../../shared/config/policy.js";
import { FindingCollector, rankFixes } from "../../shared/findings.js";
import { roleAssignmentFix } from "../../shared/rules/lib/fixes.js";
import type { FindingDraft, RuleMeta } from "../../shared/rules/types.js";

const RA = (n: number) => `/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.Authorization/roleAssignments/0000000${n}-0000-0000-0000-000000000000`;
const A = roleAssignmentFix(RA(1), "Owner", "alice", "/subscriptions/1");
const B = roleAssignmentFix(RA(2), "Contributor", "bob", "/subscriptions/1");
// The same target under another case and object: one fix.
const B_UPPER = { ...B, target: B.target.toUpperCase() };
const C = roleAssignmentFix(RA(3), "Owner", "carol", "/subscriptions/1");

const draft = (subjectId: string, severity: FindingDraft["severity"], fixes?: FindingDraft["fixes"]): FindingDraft => ({
  ruleId: "privileged-identity-exposed",
  severity,
  subjectId,
  title: "t",
  message: "m",
  evidence: {},
  ...(fixes ? { fixes } : {}),
});

const meta = new Map<string, RuleMeta>([["privileged-identity-exposed", { remediation: () => ({ summary: "", cli: [] }) } as unknown as RuleMeta]]);

describe("Fix first, ranked as findings are collected", () => {
  it("gives the ranking rankFixes gives over the collected findings: counts, fingerprints in order, ties by target", () => {
    const drafts = [
      draft("/id/1", "high", [A, B]),
      draft("/id/2", "critical", [B_UPPER]),
      draft("/id/3", "critical", [C, B, B_UPPER]),
      draft("/id/4", "medium"),
      draft("/id/5", "high", [A]),
    ];
    const collector = new FindingCollector(defaultPolicy(), meta, new Date("2026-12-07T00:00:00Z"));
    for (const item of drafts) collector.add(item);
    const findings = collector.sorted();
    const byFingerprint = new Map(drafts.map((item, at) => [findings.find((finding) => finding.subjectId === item.subjectId)?.fingerprint ?? "", at]));
    const batch = rankFixes(
      [...byFingerprint].flatMap(([fingerprint, at]) => {
        const fixes = drafts[at]?.fixes;
        return fixes ? [{ fingerprint, severity: drafts[at]?.severity ?? "low", fixes }] : [];
      }),
    );
    const ranked = collector.fixes();
    expect(ranked).toEqual(batch);
    expect(ranked.map((fix) => [fix.target, fix.clears])).toEqual([
      [B.target, { critical: 2, high: 1, medium: 0, low: 0 }],
      [C.target, { critical: 1, high: 0, medium: 0, low: 0 }],
      [A.target, { critical: 0, high: 2, medium: 0, low: 0 }],
    ]);
    // B counts each finding once (a finding naming it twice, in two cases, clears it once), in the order collected.
    const fingerprintOf = (subjectId: string) => findings.find((finding) => finding.subjectId === subjectId)?.fingerprint;
    expect(ranked[0]?.findings).toEqual([fingerprintOf("/id/1"), fingerprintOf("/id/2"), fingerprintOf("/id/3")]);
  });

  it("a suppressed finding clears nothing", () => {
    const policy = defaultPolicy();
    policy.suppressions = [{ ruleId: "privileged-identity-exposed", subjectId: "/id/2", reason: "accepted" } as (typeof policy.suppressions)[number]];
    const collector = new FindingCollector(policy, meta, new Date("2026-12-07T00:00:00Z"));
    collector.add(draft("/id/1", "high", [A]));
    collector.add(draft("/id/2", "critical", [A]));
    expect(collector.fixes().map((fix) => fix.clears)).toEqual([{ critical: 0, high: 1, medium: 0, low: 0 }]);
  });
});
