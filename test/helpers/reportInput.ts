import { defaultPolicy, type Policy } from "../../shared/config/policy.js";
import { FindingCollector, summarize, type RunReport } from "../../shared/findings.js";
import { InventoryBuilder } from "../../shared/inventoryBuilder.js";
import type { AttachedResource, DirectoryObject, FederatedCredential, Identity, RoleAssignment, RoleDefinition } from "../../shared/model.js";
import { idKey, resourceGroupOf, subscriptionOf } from "../../shared/model.js";
import type { ReportInput } from "../../shared/report/model.js";
import { sweepRules } from "../../shared/rules/index.js";
import { buildSweepIndex } from "../../shared/rules/lib/sweepIndex.js";
import type { AssignmentRule, InventoryRule, PrincipalStatus } from "../../shared/rules/types.js";
import { builtInRoleDefinitions } from "../../local/emulator/builtinRoles.js";
import type { DirectoryEntry, Estate } from "../../local/emulator/estate.js";

const IDENTITY_TYPE = "microsoft.managedidentity/userassignedidentities";

/**
 * The report's input from an estate file without the emulator: the estate mapped to the snapshot
 * types the Resource Graph adapters produce, the real sweep rules run over it (the directory is the
 * estate's), the inventory joined by the real InventoryBuilder. For tests that need a big report
 * fast (a 10,000-identity estate through the emulator takes ~40 s).
 */
export function reportInputFromEstate(estate: Estate, options: { now?: Date; policy?: Policy } = {}): ReportInput {
  const now = options.now ?? new Date("2026-11-20T12:00:00Z");
  const policy = options.policy ?? defaultPolicy();
  const identities: Identity[] = [];
  const attachments: AttachedResource[] = [];
  for (const resource of estate.resources) {
    const subscriptionId = subscriptionOf(resource.id) ?? "";
    const resourceGroup = resourceGroupOf(resource.id) ?? "";
    if (resource.type.toLowerCase() === IDENTITY_TYPE) {
      const properties = (resource.properties ?? {}) as Record<string, string>;
      identities.push({
        id: resource.id,
        name: resource.name,
        subscriptionId,
        resourceGroup,
        location: resource.location ?? "",
        tags: resource.tags ?? {},
        principalId: properties["principalId"] ?? "",
        clientId: properties["clientId"] ?? "",
        tenantId: properties["tenantId"] ?? estate.tenantId,
      });
    }
    const assigned = Object.keys(resource.identity?.userAssignedIdentities ?? {});
    if (assigned.length > 0) {
      attachments.push({
        id: resource.id,
        name: resource.name,
        type: resource.type,
        subscriptionId,
        resourceGroup,
        tags: resource.tags ?? {},
        identityType: resource.identity?.type ?? "UserAssigned",
        userAssignedIdentityIds: assigned,
      });
    }
  }
  const roleDefinitions: RoleDefinition[] = [...builtInRoleDefinitions(), ...estate.roleDefinitions].map((definition) => ({
    id: definition.id,
    name: definition.name.toLowerCase(),
    roleName: definition.properties.roleName,
    roleType: definition.properties.type ?? "CustomRole",
    actions: definition.properties.permissions.flatMap((permission) => permission.actions),
    permissions: definition.properties.permissions.map((permission) => ({
      actions: permission.actions,
      notActions: permission.notActions,
      dataActions: permission.dataActions,
      notDataActions: permission.notDataActions,
    })),
  }));
  const federatedCredentials: FederatedCredential[] = estate.federatedCredentials.map((credential) => ({
    id: credential.id,
    name: credential.name,
    identityId: credential.id.replace(/\/federatedIdentityCredentials\/[^/]+$/i, ""),
    issuer: credential.properties.issuer,
    subject: credential.properties.subject ?? "",
    ...(credential.properties.claimsMatchingExpression ? { claimsMatchingExpression: credential.properties.claimsMatchingExpression } : {}),
    audiences: credential.properties.audiences,
  }));
  const assignments: RoleAssignment[] = estate.roleAssignments.map((assignment) => ({
    id: assignment.id,
    scope: assignment.properties.scope,
    roleDefinitionId: assignment.properties.roleDefinitionId,
    principalId: assignment.properties.principalId,
    principalType: assignment.properties.principalType ?? "ServicePrincipal",
    ...(assignment.properties.createdOn ? { createdOn: assignment.properties.createdOn } : {}),
  }));

  const assignmentsByPrincipal = new Map<string, number>();
  for (const assignment of assignments) {
    const key = assignment.principalId.toLowerCase();
    assignmentsByPrincipal.set(key, (assignmentsByPrincipal.get(key) ?? 0) + 1);
  }
  const index = buildSweepIndex({
    now,
    identities,
    attachments,
    roleDefinitions,
    federatedCredentials,
    assignmentsByPrincipal,
    subscriptionsInScope: new Set([...identities, ...attachments].map((item) => idKey(item.subscriptionId))),
  });
  const collector = new FindingCollector(policy, new Map(sweepRules.map((rule) => [rule.meta.id, rule.meta])), now);
  const directory = new Map(estate.directory.map((entry) => [entry.id.toLowerCase(), entry]));
  const assignmentRules = sweepRules.filter((rule): rule is AssignmentRule => rule.kind === "role-assignment");
  for (const assignment of assignments) {
    if (assignment.principalType.toLowerCase() === "foreigngroup") continue;
    const entry = directory.get(assignment.principalId.toLowerCase());
    const principal: PrincipalStatus = entry ? { state: "found", object: directoryObject(entry) } : { state: "missing" };
    for (const rule of assignmentRules) {
      const draft = rule.evaluate(assignment, principal, index, policy);
      if (draft) collector.add(draft);
    }
  }
  for (const rule of sweepRules.filter((candidate): candidate is InventoryRule => candidate.kind === "inventory")) {
    for (const draft of rule.evaluate(index, policy)) collector.add(draft);
  }
  const findings = collector.sorted();
  const sweep: RunReport = {
    runId: "sweep-test",
    mode: "sweep",
    startedAt: now.toISOString(),
    finishedAt: now.toISOString(),
    summary: summarize(findings, { identities: identities.length, roleAssignments: assignments.length, suppressed: collector.suppressed }),
    findings,
    incomplete: [],
    actions: [],
  };
  const builder = new InventoryBuilder(identities, roleDefinitions);
  builder.addAttachments(attachments);
  builder.addFederatedCredentials(federatedCredentials);
  builder.addRoleAssignments(assignments);
  // As collectInventory does: holders looked up in the directory (here the estate's), then graded and joined.
  const subscriptions = estate.subscriptions.map((subscription) => ({
    subscriptionId: subscription.subscriptionId,
    managementGroups: (subscription.managementGroupAncestorsChain ?? []).map((group) => group.name),
  }));
  for (const holder of builder.exposureHolders(policy, subscriptions)) {
    const entry = directory.get(holder.toLowerCase());
    builder.exposure.setStatus(holder, entry ? { state: "found", object: directoryObject(entry) } : { state: "missing" });
  }
  return { inventory: builder.build(policy, subscriptions), sweep, now };
}

function directoryObject(entry: DirectoryEntry): DirectoryObject {
  return {
    id: entry.id,
    odataType: entry["@odata.type"],
    ...(entry.displayName ? { displayName: entry.displayName } : {}),
    ...(entry.servicePrincipalType ? { servicePrincipalType: entry.servicePrincipalType } : {}),
    ...(entry.appId ? { appId: entry.appId } : {}),
  };
}
