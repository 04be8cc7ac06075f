import type { Estate } from "./emulator/estate.js";
import type { EventDependencies } from "../shared/engine/eventProcessor.js";

/**
 * With --estate, the event stores start from the estate as a sweep would leave them: its baseline, its
 * identities' principals, and the role assignments of the app's own identity (`self.objectId`).
 */
export async function seedEventStores(estate: Estate, stores: Pick<EventDependencies, "baseline" | "catalog"> & Partial<Pick<EventDependencies, "policy" | "selfAssignments">>): Promise<void> {
  await stores.baseline.setMany(Object.entries(estate.baseline.attachments));
  const identities = estate.resources
    .filter((resource) => resource.type.toLowerCase() === "microsoft.managedidentity/userassignedidentities")
    .map((resource) => ({
      identityId: resource.id,
      principalId: String(resource.properties?.["principalId"] ?? ""),
      clientId: String(resource.properties?.["clientId"] ?? ""),
    }))
    .filter((identity) => identity.principalId !== "");
  await stores.catalog.putMany(identities);
  const self = stores.policy?.self.objectId?.toLowerCase();
  if (self && stores.selfAssignments) {
    const own = estate.roleAssignments.filter((assignment) => assignment.properties.principalId.toLowerCase() === self).map((assignment) => assignment.id);
    await stores.selfAssignments.putMany(own, new Date());
  }
}
