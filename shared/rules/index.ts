import type { EventRule, SweepRule } from "./types.js";
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
import { rule as privilegedIdentityExposed } from "./privileged-identity-exposed.js";
import { rule as danglingIdentityReference } from "./dangling-identity-reference.js";
import { rule as driftChanged } from "./drift-changed.js";
import { rule as driftMissingInAzure } from "./drift-missing-in-azure.js";
import { rule as driftNotInCode } from "./drift-not-in-code.js";
import { rule as eventCoverageMissing } from "./event-coverage-missing.js";
import { rule as identityNameInvalid } from "./identity-name-invalid.js";
import { rule as namingConvention } from "./naming-convention.js";
import { rule as orphanedRoleAssignment } from "./orphaned-role-assignment.js";
import { rule as privilegedRoleBroadScope } from "./privileged-role-broad-scope.js";
import { rule as sharedIdentitySprawl } from "./shared-identity-sprawl.js";
import { rule as staleIdentity } from "./stale-identity.js";
import { rule as unattachedIdentity } from "./unattached-identity.js";
import { rule as untaggedIdentity } from "./untagged-identity.js";

/** The sweep rules, sorted by id. Each lives in shared/rules/<rule-id>.ts (a test keeps this in step). */
export const sweepRules: readonly SweepRule[] = [
  crossEnvironmentAttachment,
  danglingIdentityReference,
  driftChanged,
  driftMissingInAzure,
  driftNotInCode,
  eventCoverageMissing,
  federatedCredentialRiskySubject,
  federatedCredentialUntrustedIssuer,
  identityNameInvalid,
  namingConvention,
  orphanedRoleAssignment,
  privilegedIdentityExposed,
  privilegedRoleBroadScope,
  sharedIdentitySprawl,
  staleIdentity,
  unattachedIdentity,
  untaggedIdentity,
];

/** The event rules, sorted by id. */
export const eventRules: readonly EventRule[] = [
  attachmentOutsidePipeline,
  federatedCredentialOutsidePipeline,
  governanceTampering,
  identityAssignRightGranted,
  identityChangeOutsidePipeline,
  identityDeletedWhileInUse,
  roleAssignmentOutsidePipeline,
];

/** Every rule id a policy may name. */
export const ruleIds: readonly string[] = [...sweepRules, ...eventRules].map((rule) => rule.meta.id).sort();
