import type { Estate } from "./emulator/estate.js";
import type { EventDependencies } from "../shared/engine/eventProcessor.js";

/** With --estate, the event stores start from the estate: its baseline and its identities' principals. */
export async function seedEventStores(estate: Estate, stores: Pick<EventDependencies, "baseline" | "catalog">): Promise<void> {
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
}
