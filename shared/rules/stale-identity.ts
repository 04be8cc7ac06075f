import { z } from "zod";
import type { FindingDraft, InventoryRule } from "./types.js";
import { listAssignmentsOf } from "./lib/commands.js";
import { assignmentCount } from "./lib/sweepIndex.js";

const DAY_MS = 86_400_000;

/** `signInLogs`: the workspace holding AADManagedIdentitySignInLogs (null: the rule is off) and the lookback. */
const OPTIONS = {
  signInLogs: z
    .strictObject({
      workspaceId: z.string().min(1).nullable().default(null),
      lookbackDays: z.number().int().min(1).max(730).default(90),
    })
    .default({ workspaceId: null, lookbackDays: 90 }),
};

/** A UAMI holding role assignments with no sign-in in the lookback window (sign-in logs configured only). */
export const rule: InventoryRule<typeof OPTIONS> = {
  kind: "inventory",
  meta: {
    id: "stale-identity",
    title: "Identity with permissions but no recent sign-in",
    severity: "low",
    category: "hygiene",
    docs: { url: "docs/rules/stale-identity.md" },
    needs: ["sign-in-logs"],
    options: OPTIONS,
    description: "Only when signInLogs.workspaceId is set: a user-assigned identity that holds role assignments but has no sign-in in AADManagedIdentitySignInLogs within signInLogs.lookbackDays (default 90).",
    risk: "Standing permissions nobody uses are pure exposure.",
    remediation: (finding) => ({
      summary: "Confirm the workload is retired, then remove the identity's role assignments.",
      cli: [listAssignmentsOf(String(finding.evidence["principalId"] ?? "<principalId>"))],
    }),
  },
  evaluate(index, policy): FindingDraft[] {
    const signIns = index.inventory.lastSignIns;
    if (!policy.signInLogs.workspaceId || !signIns) return [];
    const cutoff = index.inventory.now.getTime() - policy.signInLogs.lookbackDays * DAY_MS;
    const findings: FindingDraft[] = [];
    for (const identity of index.inventory.identities) {
      const roleAssignments = assignmentCount(index, identity);
      if (roleAssignments === 0) continue;
      const last = signIns.get(identity.principalId.toLowerCase());
      if (last && last.getTime() >= cutoff) continue;
      findings.push({
        ruleId: "stale-identity",
        severity: "low",
        subjectId: identity.id,
        title: `Identity ${identity.name} has not signed in for ${policy.signInLogs.lookbackDays} days`,
        message: last
          ? `Identity ${identity.name} holds ${roleAssignments} role assignment(s) and last signed in ${last.toISOString()}.`
          : `Identity ${identity.name} holds ${roleAssignments} role assignment(s) and has no sign-in in the last ${policy.signInLogs.lookbackDays} days.`,
        evidence: { principalId: identity.principalId, lastSignIn: last?.toISOString() ?? null, lookbackDays: policy.signInLogs.lookbackDays, roleAssignments },
      });
    }
    return findings;
  },
};
