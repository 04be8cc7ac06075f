import type { Estate } from "./emulator/estate.js";
import { builtInRoleDefinitions } from "./emulator/builtinRoles.js";
import type { EventDependencies } from "../shared/engine/eventProcessor.js";
import { toIdentity, toRoleAssignment, toRoleDefinition } from "../shared/azure/estateReader.js";
import type { GradedIdentity, RoleDefinition } from "../shared/model.js";
import { ExposureCollector } from "../shared/rules/lib/exposure.js";
import { ScopeTree } from "../shared/rules/lib/scopes.js";

/**
 * With --estate, the event stores start from the estate as a sweep would leave them: its baseline, its
 * identities' principals and their grades, and the role assignments of the app's own identity (`self.objectId`).
 */
export async function seedEventStores(
  estate: Estate,
  stores: Pick<EventDependencies, "baseline" | "catalog"> & Partial<Pick<EventDependencies, "policy" | "selfAssignments" | "graded">>,
): Promise<void> {
  await stores.baseline.setMany(Object.entries(estate.baseline.attachments));
  // Who uses each identity, as a sweep would have read it: the resources whose identity block names it.
  const usedBy = new Map<string, string[]>();
  for (const resource of estate.resources) {
    for (const identityId of Object.keys(resource.identity?.userAssignedIdentities ?? {})) usedBy.set(identityId.toLowerCase(), [...(usedBy.get(identityId.toLowerCase()) ?? []), resource.id]);
  }
  const identities = estate.resources
    .filter((resource) => resource.type.toLowerCase() === "microsoft.managedidentity/userassignedidentities")
    .map((resource) => ({
      identityId: resource.id,
      principalId: String(resource.properties?.["principalId"] ?? ""),
      clientId: String(resource.properties?.["clientId"] ?? ""),
      attachedTo: usedBy.get(resource.id.toLowerCase()) ?? [],
    }))
    .filter((identity) => identity.principalId !== "");
  await stores.catalog.putMany(identities);
  if (stores.graded) await stores.graded.replace(estateGrades(estate), new Set(estate.subscriptions.map((subscription) => subscription.subscriptionId.toLowerCase())));
  const self = stores.policy?.self.objectId?.toLowerCase();
  if (self && stores.selfAssignments) {
    const own = estate.roleAssignments.filter((assignment) => assignment.properties.principalId.toLowerCase() === self).map((assignment) => ({ id: assignment.id, roleDefinitionId: assignment.properties.roleDefinitionId }));
    await stores.selfAssignments.putMany(own, new Date());
  }
}

/** The grades a sweep of the estate would catalog (the same pure code, fed from the estate file). */
export function estateGrades(estate: Estate): GradedIdentity[] {
  const definitions = new Map<string, RoleDefinition>();
  for (const raw of [...builtInRoleDefinitions(), ...estate.roleDefinitions]) {
    const definition = toRoleDefinition({ id: raw.id, name: raw.name, roleName: raw.properties.roleName, roleType: raw.properties.type ?? "CustomRole", permissions: raw.properties.permissions });
    if (definition) definitions.set(definition.name, definition);
  }
  const collector = new ExposureCollector(definitions);
  for (const raw of estate.roleAssignments) {
    const assignment = toRoleAssignment({ id: raw.id, ...raw.properties });
    if (assignment) collector.add(assignment, { state: "unknown" });
  }
  const tree = new ScopeTree(
    estate.subscriptions.map((subscription) => ({ subscriptionId: subscription.subscriptionId, managementGroups: (subscription.managementGroupAncestorsChain ?? []).map((group) => group.name) })),
  );
  const graded: GradedIdentity[] = [];
  for (const resource of estate.resources) {
    if (resource.type.toLowerCase() !== "microsoft.managedidentity/userassignedidentities") continue;
    const identity = toIdentity({ id: resource.id, name: resource.name, principalId: resource.properties?.["principalId"] });
    const grade = identity ? collector.gradeOf(identity) : undefined;
    if (!identity || !grade) continue;
    graded.push({ identityId: identity.id, principalId: identity.principalId, grade: grade.grade === "critical" ? "critical" : "high", gradeScopes: grade.scopes, managementGroups: [...tree.groupsOf(identity.subscriptionId)] });
  }
  return graded;
}
