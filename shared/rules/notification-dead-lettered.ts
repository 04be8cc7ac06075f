import type { NoticeRule } from "./types.js";

/**
 * Raised by the outbox, not evaluated: a notice that a sink refused for good (a 4xx other than 408/429)
 * or that failed `notify.maxAttempts` times is moved to the sink's dead-letter partition, so it no longer
 * holds back the others, and this finding tells every sink about it.
 */
export const rule: NoticeRule = {
  kind: "notice",
  meta: {
    id: "notification-dead-lettered",
    title: "A notification could not be delivered",
    severity: "critical",
    category: "guard",
    docs: { url: "docs/rules/notification-dead-lettered.md" },
    needs: [],
    description:
      "An outbox entry (a Teams card, a Sentinel row, a CloudEvent) was refused by its sink with a 4xx other than 408/429, or failed notify.maxAttempts times with backoff. It was moved to the outbox's dead-letter partition for that sink. Subject: outbox/<sink>/<entry key>; related: the fingerprint of the finding it was about (when it was about one).",
    risk: "A finding nobody was told about is a finding nobody acts on: a rejected webhook, an expired DCR or topic key silently cuts the guard off from the people it alerts.",
    remediation: (finding) => ({
      summary: "Fix the sink (webhook URL, DCR and stream, topic key or role), then read the dead-lettered entry and act on the finding it carried.",
      cli: [
        `az storage entity query --account-name <storage account> --table-name uamiguardoutbox --auth-mode login --filter "PartitionKey eq '${String(finding.evidence["sink"] ?? "<sink>")}-dead'"`,
      ],
    }),
  },
};
