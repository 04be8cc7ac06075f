import type { NoticeRule } from "./types.js";

/**
 * Raised by the cleanup, not evaluated: a run that would pass `cleanup.maxActionsPerRun` or
 * `maxDeletePercent` takes no action, and actions past the budget across runs (`maxActionsPerHour`,
 * `maxDeletePercent` over 24 hours) are deferred. Its subject names the budget and its window, so every
 * new trip is notified; it resolves when the window closes.
 */
export const rule: NoticeRule = {
  kind: "notice",
  meta: {
    id: "cleanup-circuit-breaker",
    title: "Cleanup circuit breaker tripped",
    severity: "critical",
    category: "guard",
    docs: { url: "docs/rules/cleanup-circuit-breaker.md" },
    needs: [],
    description:
      "A cleanup budget was reached: a run that would have made more changes than cleanup.maxActionsPerRun, or deleted more than cleanup.maxDeletePercent of the role assignments, changed nothing; or the budget across runs (cleanup.maxActionsPerHour over a rolling hour, maxDeletePercent over 24 hours) deferred actions until the window has room. Subject: cleanup-budget/<budget>/<window start>.",
    risk: "A sudden burst of cleanup is what a wrong policy, a Microsoft Graph outage read as deletions, or an attacker who can write findings would look like; the breaker stops it, and someone must decide whether the changes were right.",
    remediation: (finding) => ({
      summary:
        "Review the changes of the window in the journal. If they are right, raise cleanup.maxActionsPerRun, cleanup.maxActionsPerHour or cleanup.maxDeletePercent (deferred actions are carried out when the window has room); if not, undo them with uami-guard restore.",
      cli: [`az storage entity query --account-name <storage account> --table-name uamiguardjournal --auth-mode login --filter "RunId eq '${String(finding.evidence["runId"] ?? "<runId>")}'"`],
    }),
  },
};
