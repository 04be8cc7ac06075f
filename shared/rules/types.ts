import type { z } from "zod";
import type { CorePolicy, Severity } from "../config/policyCore.js";
import type { AbsorbedBy, ActionKind, CheckId, GradedIdentity, PrincipalStatus, RoleAssignment, RoleDefinition } from "../model.js";
import type { SweepIndex } from "./lib/sweepIndex.js";
import type { Approval } from "./lib/approval.js";
import type { ChangeKind } from "../events/operations.js";
import type { ResourceEvent } from "../events/resourceEvent.js";
import type { FederatedCredentialState, ResourceIdentityState } from "../events/readBack.js";
import type { FixTarget } from "./lib/fixes.js";

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
  /** docs/output.md "Fix first": each removal that alone clears this finding (never printed with the finding). */
  fixes?: FixTarget[];
}

export interface Remediation {
  summary: string;
  /** The `az` commands an operator runs for this finding. */
  cli: string[];
}

/** A rule's policy options: top-level policy keys and their zod schemas (with their defaults). */
export type OptionSchemas = Readonly<Record<string, z.ZodType>>;

/** What a rule sees of the policy: the core keys and its own options. */
export type PolicyWith<O extends OptionSchemas> = CorePolicy & { readonly [K in keyof O]: z.output<O[K]> };

/**
 * The rule manifest, in the manner of eslint's `meta`: everything the rest of the app needs to know of a
 * rule sits beside its code, and the tables elsewhere are derived from it (shared/rules/index.ts):
 * `needs` gives CHECK_AFFECTS, `action` gives ACTION_FOR_RULE, `options` gives the rule's sections of the
 * policy schema, `docs.url` is the page cards and reports link to.
 */
export interface RuleMeta<O extends OptionSchemas = OptionSchemas> {
  id: string;
  title: string;
  /** Default severity; some rules grade it per finding (see the rule's page). */
  severity: Severity;
  category: RuleCategory;
  description: string;
  /** Why it matters, for a card or a ticket. */
  risk: string;
  remediation: (finding: FindingDraft) => Remediation;
  /** The page of the rule: `docs/rules/<id>.md`, relative to the repository root. */
  docs: { url: string };
  /**
   * The checks the rule's verdict depends on. A sweep in which one of them is incomplete leaves the rule's
   * open findings open and unconfirmed (never "resolved"); an event whose rule needs a check that failed is
   * not decided (the trigger fails, and after the last delivery an `event-undecided` finding is raised).
   */
  needs: readonly CheckId[];
  /** The cleanup action enforce mode takes on a finding of this rule (none: report only). */
  action?: ActionKind;
  /** The policy keys this rule owns (a key two rules share is declared by both with the same schema object). */
  options?: O;
}

// In model.ts so that rules/lib/exposure.ts can use it without an import cycle through the sweep index.
export type { PrincipalStatus } from "../model.js";

/** Rules over the whole inventory (identities, attachments, credentials). */
export interface InventoryRule<O extends OptionSchemas = Record<never, z.ZodType>> {
  kind: "inventory";
  meta: RuleMeta<O>;
  evaluate(index: SweepIndex, policy: PolicyWith<O>): FindingDraft[];
  /** The same drafts handed over one at a time, for a rule with very many: the sweep keeps none it has collected. */
  evaluateEach?(index: SweepIndex, policy: PolicyWith<O>, emit: (draft: FindingDraft) => void): void;
}

/** Rules over one role assignment at a time: role assignments are streamed, never held all at once. */
export interface AssignmentRule<O extends OptionSchemas = Record<never, z.ZodType>> {
  kind: "role-assignment";
  meta: RuleMeta<O>;
  evaluate(assignment: RoleAssignment, principal: PrincipalStatus, index: SweepIndex, policy: PolicyWith<O>): FindingDraft | undefined;
}

export type SweepRule = InventoryRule<OptionSchemas> | AssignmentRule<OptionSchemas>;

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
  /** attachment-write: identities of the baseline that an approved write's read-back absorbed, by `idKey` (docs/guarantees.md "Order does not matter"). */
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
  /** guard-scope-write on a management group: the guard's subscription whose ancestry (Resource Graph) names the group. */
  guardManagementGroup?: { group: string; subscriptionId: string };
}

export interface EventRule<O extends OptionSchemas = Record<never, z.ZodType>> {
  kind: "event";
  meta: RuleMeta<O>;
  changes: readonly ChangeKind[];
  evaluate(facts: EventFacts, policy: PolicyWith<O>): FindingDraft[];
}

/**
 * A notice: a finding the engine raises about itself (a tripped budget, a dead-lettered notification, a
 * rejected work item, an event it could not decide). It has a manifest and a page like any rule, and is
 * committed and notified like any finding, but no policy can switch it off or suppress it.
 */
export interface NoticeRule {
  kind: "notice";
  meta: RuleMeta<Record<never, z.ZodType>>;
}

export type Rule = SweepRule | EventRule<OptionSchemas> | NoticeRule;
