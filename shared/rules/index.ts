import type { z } from "zod";
import { CHECKS, type ActionKind, type CheckId } from "../model.js";
import type { EventRule, NoticeRule, OptionSchemas, Rule, RuleMeta, SweepRule } from "./types.js";
import { rule as attachmentOutsidePipeline } from "./attachment-outside-pipeline.js";
import { rule as federatedCredentialOutsidePipeline } from "./federated-credential-outside-pipeline.js";
import { rule as identityAssignRightGranted } from "./identity-assign-right-granted.js";
import { rule as governanceTampering } from "./governance-tampering.js";
import { rule as identityChangeOutsidePipeline } from "./identity-change-outside-pipeline.js";
import { rule as identityDeletedWhileInUse } from "./identity-deleted-while-in-use.js";
import { rule as roleAssignmentOutsidePipeline } from "./role-assignment-outside-pipeline.js";
import { rule as crossEnvironmentAttachment } from "./cross-environment-attachment.js";
import { rule as federatedCredentialRiskySubject } from "./federated-credential-risky-subject.js";
import { rule as federatedCredentialUntrustedIssuer } from "./federated-credential-untrusted-issuer.js";
import { rule as federatedCredentialUntrustedSubject } from "./federated-credential-untrusted-subject.js";
import { rule as identityPrivilegeViaGroup } from "./identity-privilege-via-group.js";
import { rule as identityPrivilegedInEntra } from "./identity-privileged-in-entra.js";
import { rule as privilegedIdentityExposed } from "./privileged-identity-exposed.js";
import { rule as danglingIdentityReference } from "./dangling-identity-reference.js";
import { rule as driftChanged } from "./drift-changed.js";
import { rule as driftMissingInAzure } from "./drift-missing-in-azure.js";
import { rule as driftNotInCode } from "./drift-not-in-code.js";
import { rule as eventCoverageMissing } from "./event-coverage-missing.js";
import { rule as eventDeliveryFailing } from "./event-delivery-failing.js";
import { rule as identityNameInvalid } from "./identity-name-invalid.js";
import { rule as namingConvention } from "./naming-convention.js";
import { rule as orphanedRoleAssignment } from "./orphaned-role-assignment.js";
import { rule as privilegedRoleBroadScope } from "./privileged-role-broad-scope.js";
import { rule as sharedIdentitySprawl } from "./shared-identity-sprawl.js";
import { rule as staleIdentity } from "./stale-identity.js";
import { rule as unattachedIdentity } from "./unattached-identity.js";
import { rule as untaggedIdentity } from "./untagged-identity.js";
import { rule as cleanupCircuitBreaker } from "./cleanup-circuit-breaker.js";
import { rule as cleanupWorkItemRejected } from "./cleanup-work-item-rejected.js";
import { rule as eventUndecided } from "./event-undecided.js";
import { rule as notificationDeadLettered } from "./notification-dead-lettered.js";

/**
 * The registry: every rule, by kind, sorted by id (a test keeps it in step with shared/rules/<id>.ts). Adding a
 * rule is its file and one line here; everything else about it is read from its `meta`.
 */
const SWEEP_RULES = [
  crossEnvironmentAttachment,
  danglingIdentityReference,
  driftChanged,
  driftMissingInAzure,
  driftNotInCode,
  eventCoverageMissing,
  eventDeliveryFailing,
  federatedCredentialRiskySubject,
  federatedCredentialUntrustedIssuer,
  federatedCredentialUntrustedSubject,
  identityNameInvalid,
  identityPrivilegeViaGroup,
  identityPrivilegedInEntra,
  namingConvention,
  orphanedRoleAssignment,
  privilegedIdentityExposed,
  privilegedRoleBroadScope,
  sharedIdentitySprawl,
  staleIdentity,
  unattachedIdentity,
  untaggedIdentity,
] as const;

const EVENT_RULES = [
  attachmentOutsidePipeline,
  federatedCredentialOutsidePipeline,
  governanceTampering,
  identityAssignRightGranted,
  identityChangeOutsidePipeline,
  identityDeletedWhileInUse,
  roleAssignmentOutsidePipeline,
] as const;

/** Findings the engine raises about itself: committed and notified like any other, never switched off. */
const NOTICE_RULES = [cleanupCircuitBreaker, cleanupWorkItemRejected, eventUndecided, notificationDeadLettered] as const;

export const sweepRules: readonly SweepRule[] = SWEEP_RULES;
export const eventRules: readonly EventRule<OptionSchemas>[] = EVENT_RULES;
export const noticeRules: readonly NoticeRule[] = NOTICE_RULES;
export const allRules: readonly Rule[] = [...SWEEP_RULES, ...EVENT_RULES, ...NOTICE_RULES];

/** Every rule id a policy may name (`rules.<id>`, `suppressions[].ruleId`): notices are not among them. */
export const ruleIds: readonly string[] = [...sweepRules, ...eventRules].map((rule) => rule.meta.id).sort();

/** The manifest of every rule and notice, by id. */
export const ruleMeta: ReadonlyMap<string, RuleMeta> = new Map(allRules.map((rule) => [rule.meta.id, rule.meta]));

/** Which incomplete check leaves which rules' findings open and unconfirmed: each rule's `meta.needs`, inverted. */
export const CHECK_AFFECTS: Readonly<Record<CheckId, readonly string[]>> = Object.fromEntries(
  CHECKS.map((check) => [check, allRules.filter((rule) => rule.meta.needs.includes(check)).map((rule) => rule.meta.id)]),
) as unknown as Record<CheckId, readonly string[]>;

/** Which rule's finding leads to which change: each rule's `meta.action`. */
export const ACTION_FOR_RULE: Readonly<Record<string, ActionKind>> = Object.fromEntries(
  allRules.flatMap((rule) => (rule.meta.action ? [[rule.meta.id, rule.meta.action] as const] : [])),
);

/** The page of a rule (its manifest's `docs.url`): what cards, Sentinel rows, reports and markdown link each finding to. */
export function rulePageOf(ruleId: string): string | undefined {
  return ruleMeta.get(ruleId)?.docs.url;
}

export function actionForRule(ruleId: string): ActionKind | undefined {
  return Object.hasOwn(ACTION_FOR_RULE, ruleId) ? ACTION_FOR_RULE[ruleId] : undefined;
}

type OptionsOf<R> = R extends { meta: { options?: infer O } } ? (O extends OptionSchemas ? O : never) : never;
type UnionToIntersection<U> = (U extends unknown ? (value: U) => void : never) extends (value: infer I) => void ? I : never;

/** The policy keys the rules own, with their schemas: the rules' part of the policy schema (shared/config/policy.ts). */
export type RuleOptionSchemas = UnionToIntersection<OptionsOf<(typeof SWEEP_RULES)[number] | (typeof EVENT_RULES)[number]>>;

/**
 * Every rule's options joined. A key two rules both declare must be the same schema object (a shared
 * section such as `federation` lives in shared/rules/lib/); anything else is a programming error caught at load.
 */
export const ruleOptionSchemas: RuleOptionSchemas = (() => {
  const joined: Record<string, z.ZodType> = {};
  const owner: Record<string, string> = {};
  for (const rule of allRules) {
    const options: OptionSchemas = rule.meta.options ?? {};
    for (const [key, schema] of Object.entries(options)) {
      const known = joined[key];
      if (known && known !== schema) throw new Error(`policy key ${key}: declared by ${owner[key] ?? "?"} and ${rule.meta.id} with different schemas`);
      joined[key] = schema;
      owner[key] ??= rule.meta.id;
    }
  }
  return joined as RuleOptionSchemas;
})();
