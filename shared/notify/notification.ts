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
  counts: Record<string, number>;
  notices: Notice[];
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
