import type { Notice } from "./notification.js";
import { rulePageOf } from "../rules/index.js";

export interface FindingCloudEvent {
  id: string;
  type: string;
  source: string;
  subject: string;
  time: string;
  dataContentType: string;
  data: unknown;
}

export const CLOUD_EVENT_SOURCE = "/uami-guard";

/** `UamiGuard.Finding.<ruleId>` for a new finding, `UamiGuard.FindingResolved.<ruleId>` when it goes away. */
export function findingCloudEvent(notice: Notice): FindingCloudEvent {
  const { finding } = notice;
  const kind = notice.status === "resolved" ? "FindingResolved" : "Finding";
  const page = rulePageOf(finding.ruleId);
  return {
    // Stable per finding and status and run, so a consumer can drop a redelivery.
    id: `${finding.fingerprint}-${notice.status}-${notice.runId}`,
    type: `UamiGuard.${kind}.${finding.ruleId}`,
    source: CLOUD_EVENT_SOURCE,
    subject: finding.subjectId,
    time: notice.at,
    dataContentType: "application/json",
    data: { ...finding, status: notice.status, runId: notice.runId, mode: notice.mode, ...(page !== undefined ? { ruleDocs: page } : {}) },
  };
}
