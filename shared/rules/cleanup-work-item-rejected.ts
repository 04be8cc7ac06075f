import type { NoticeRule } from "./types.js";

/**
 * Raised by the cleanup executor, not evaluated: a work item on the cleanup queue that was not sealed by
 * the app, or that asks for a change the policy and the finding state do not back, is refused and moved to
 * the poison queue. Write access to the queue must not be a way to use the enforcer's rights.
 */
export const rule: NoticeRule = {
  kind: "notice",
  meta: {
    id: "cleanup-work-item-rejected",
    title: "Cleanup work item rejected",
    severity: "critical",
    category: "guard",
    docs: { url: "docs/rules/cleanup-work-item-rejected.md" },
    needs: [],
    description:
      "A cleanup work item whose HMAC seal (UAMI_GUARD_WORK_ITEM_KEY) is missing or wrong, whose action is not its rule's action, whose rule is not in enforce mode now, or whose target is not the subject of an open finding of that rule was refused and moved to the poison queue. Subject: the target the item named; related: a hash of the message.",
    risk: "Whoever can write to the cleanup queue could otherwise delete role assignments and detach identities with the enforcer's rights; a forged item is an attack on the guard or a sign its key leaked.",
    remediation: () => ({
      summary: "Find who can write to the cleanup queue (role assignments on the storage account and queue) and read the rejected item from the poison queue; rotate UAMI_GUARD_WORK_ITEM_KEY if the seal was right.",
      cli: ["az storage message peek --account-name <storage account> --queue-name uamiguard-cleanup-poison --auth-mode login --num-messages 32"],
    }),
  },
};
