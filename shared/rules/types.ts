import type { Policy, Severity } from "../config/policy.js";
import type { AbsorbedBy, GradedIdentity, PrincipalStatus, RoleAssignment, RoleDefinition } from "../model.js";
import type { SweepIndex } from "./lib/sweepIndex.js";
import type { Approval } from "./lib/approval.js";
import type { ChangeKind } from "../events/operations.js";
import type { ResourceEvent } from "../events/resourceEvent.js";
import type { FederatedCredentialState, ResourceIdentityState } from "../events/readBack.js";

export type RuleCategory = "orphans" | "hygiene" | "privilege" | "attachment" | "pipeline" | "guard";

/** What a rule found, before the engine adds fingerprint, remediation and policy overrides. */
export interface FindingDraft {
  ruleId: string;
  severity: Severity;
  subjectId: string;
  relatedId?: string;
  title: string;
  message: string;
  evidence: Record<string, unknown>;
}

export interface Remediation {
  summary: string;
  /** The `az` commands an operator runs for this finding. */
  cli: string[];
}

export interface RuleMeta {
  id: string;
  title: string;
  /** Default severity; some rules grade it per finding (see RULES.md). */
  severity: Severity;
  category: RuleCategory;
  description: string;
  /** Why it matters, for a card or a ticket. */
  risk: string;
  remediation: (finding: FindingDraft) => Remediation;
}

// In model.ts so that rules/lib/exposure.ts can use it without an import cycle through the sweep index.
export type { PrincipalStatus } from "../model.js";

/** Rules over the whole inventory (identities, attachments, credentials). */
export interface InventoryRule {
  kind: "inventory";
  meta: RuleMeta;
  evaluate(index: SweepIndex, policy: Policy): FindingDraft[];
}

/** Rules over one role assignment at a time: role assignments are streamed, never held all at once. */
export interface AssignmentRule {
  kind: "role-assignment";
  meta: RuleMeta;
  evaluate(assignment: RoleAssignment, principal: PrincipalStatus, index: SweepIndex, policy: Policy): FindingDraft | undefined;
}

export type SweepRule = InventoryRule | AssignmentRule;

/** The inventory a sweep gathered, before indexing. */

/** What an event handler read back before deciding (never the event payload alone). */
export interface EventFacts {
  event: ResourceEvent;
  change: ChangeKind;
  approval: Approval;
  /** role-assignment-write: the assignment as ARM has it now (undefined: gone). */
  roleAssignment?: RoleAssignment;
  principal?: PrincipalStatus;
  roleDefinitions?: Map<string, RoleDefinition>;
  /** attachment-write: the resource's identity block now, and the baseline before this event (undefined: none). */
  resource?: ResourceIdentityState;
  baseline?: string[];
  /** attachment-write: identities of the baseline that an approved write's read-back absorbed, by `idKey` (RULES.md "Order does not matter"). */
  absorbed?: Record<string, AbsorbedBy>;
  /** identity-delete: what still uses the identity. */
  usage?: { resources: string[]; roleAssignments: string[]; principalId?: string };
  federatedCredential?: FederatedCredentialState;
  /** role-assignment-write whose role gives assign or federate: graded identities (identity catalog) its scope contains. */
  gradedIdentities?: GradedIdentity[];
  /** ...and the assignee's role assignments as ARM lists them now ("already as privileged"); undefined: not read. */
  assigneeAssignments?: RoleAssignment[];
  /** role-assignment-delete / federated-credential-delete: ARM no longer has it. */
  deleted?: boolean;
  /** role-assignment-delete: the deleted assignment was the app's own (its principal was `self.objectId` at the last sweep). */
  selfRoleAssignment?: boolean;
  /** role-definition-change: the app's own identity holds the role (as the last sweep saw it, or ARM lists it now). */
  selfRoleDefinition?: boolean;
}

export interface EventRule {
  kind: "event";
  meta: RuleMeta;
  changes: readonly ChangeKind[];
  evaluate(facts: EventFacts, policy: Policy): FindingDraft[];
}
