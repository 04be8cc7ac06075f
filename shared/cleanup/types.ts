import type { Finding } from "../findings.js";
import type { ActionKind, ActionRecord, ActionStatus } from "./record.js";

export const STATUS_TAG = "uami-guard-status";

/** The finding an action answers, as the journal keeps it (evidence included: it is the why). */
export type ActionFinding = Omit<Finding, "message" | "remediation">;

/** One change to make; also the body of a cleanup work item on the queue. */
export interface PlannedAction {
  /** Stable for the same change to the same target: hash of kind, target and related id. */
  actionId: string;
  kind: ActionKind;
  /** Role assignment id (delete), resource id (detach) or identity id (tag). */
  targetId: string;
  /** Detach: the identity to remove from the resource. */
  identityId?: string;
  /** The principal the finding saw (delete: the assignment is only deleted while it still names it; tag: the identity's). */
  principalId?: string;
  /** Tag: the value of `uami-guard-status`. */
  tagValue?: string;
  finding: ActionFinding;
}

/** What the journal knows of an entry: `pending` until the change is known to have happened or not. */
export type JournalStatus = "pending" | "done" | "failed" | "skipped" | "reverted";

export interface JournalEntry {
  entryId: string;
  runId: string;
  /** `restore` entries undo another entry (`undoes`). */
  kind: ActionKind | "restore";
  undoes?: string;
  action: PlannedAction;
  /** Who made the change (object id / app id of the token the run used). */
  caller: string;
  status: JournalStatus;
  /** The ARM state the change started from, as ARM returned it: what restore puts back. */
  prior: Record<string, unknown>;
  /** The state after the change, when it was read back. */
  after?: Record<string, unknown>;
  detail?: string;
  createdAt: string;
  updatedAt: string;
}

export function describeChange(action: PlannedAction): string {
  switch (action.kind) {
    case "delete-role-assignment":
      return `delete role assignment ${action.targetId}`;
    case "detach-identity":
      return `detach ${action.identityId ?? "?"} from ${action.targetId}`;
    case "tag-identity":
      return `tag ${action.targetId} ${STATUS_TAG}=${action.tagValue ?? ""}`;
  }
}

export function recordOf(action: PlannedAction, status: ActionStatus, reason?: string, entryId?: string): ActionRecord {
  return {
    actionId: action.actionId,
    action: action.kind,
    ruleId: action.finding.ruleId,
    fingerprint: action.finding.fingerprint,
    subjectId: action.finding.subjectId,
    ...(action.finding.relatedId !== undefined ? { relatedId: action.finding.relatedId } : {}),
    target: action.targetId,
    change: describeChange(action),
    status,
    ...(reason !== undefined ? { reason } : {}),
    ...(entryId !== undefined ? { entryId } : {}),
  };
}
