import type { Finding } from "../findings.js";

/** One thing to tell the sinks: a finding that is new, resolved, or still open past renotifyAfterHours. */
export interface Notice {
  status: "new" | "resolved" | "reminder";
  finding: Finding;
  runId: string;
  mode: "sweep" | "replay" | "event" | "work-item";
  at: string;
}

/** What a sweep tells Teams in one card. */
export interface Digest {
  runId: string;
  at: string;
  /** Every finding of the sweep by severity (the sweep's `summary.bySeverity`), new or not, sent or not. */
  counts: Record<string, number>;
  /** The new findings sent (at or above `minSeverity`). */
  notices: Notice[];
  /** `notify.minSeverity`: what `notices` and `resolved` count from. */
  minSeverity?: string;
  resolved: number;
  incomplete: string[];
}

export function callerOf(finding: Finding): string {
  const caller = finding.evidence["caller"] as { upn?: string; appId?: string; objectId?: string } | undefined;
  return caller?.upn ?? (caller?.appId ? `app ${caller.appId}` : caller?.objectId ? `object ${caller.objectId}` : "");
}

export function subscriptionOfFinding(finding: Finding): string {
  return /^\/subscriptions\/([^/]+)/i.exec(finding.subjectId)?.[1] ?? "";
}

export function resourceGroupOfFinding(finding: Finding): string {
  return /\/resourceGroups\/([^/]+)/i.exec(finding.subjectId)?.[1] ?? "";
}
