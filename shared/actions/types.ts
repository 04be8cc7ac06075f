import type { Finding } from "../findings.js";

/** RULES.md "Actions": which rule's finding leads to which change. No action ever deletes an identity. */
export const ACTION_FOR_RULE = {
  "orphaned-role-assignment": "delete-role-assignment",
  "role-assignment-outside-pipeline": "delete-role-assignment",
  "attachment-outside-pipeline": "detach-identity",
  "untagged-identity": "tag-identity",
} as const;

export type ActionRuleId = keyof typeof ACTION_FOR_RULE;
export type ActionKind = (typeof ACTION_FOR_RULE)[ActionRuleId];

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

/**
 * An action as a run reports it (`actions` in the findings document). `planned` is a dry run;
 * `deferred` waits for more confirmations; `blocked` is the circuit breaker; `queued` went to the
 * cleanup queue (the app); `done`/`failed`/`skipped` come from carrying it out.
 */
export type ActionStatus = "planned" | "deferred" | "blocked" | "queued" | "done" | "failed" | "skipped";

export interface ActionRecord {
  actionId: string;
  action: ActionKind;
  ruleId: string;
  fingerprint: string;
  subjectId: string;
  relatedId?: string;
  target: string;
  change: string;
  status: ActionStatus;
  reason?: string;
  /** The journal entry that records the change (absent when nothing was changed or written). */
  entryId?: string;
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
