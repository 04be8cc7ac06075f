import type { ArmJson } from "./armActions.js";

/**
 * The `identity` block a PATCH sends to detach or re-attach one user-assigned identity, exactly as
 * each provider accepts it:
 * - other user-assigned identities remain: `{type: <unchanged>, userAssignedIdentities: {<id>: null}}`
 *   (ARM merges the map; null removes one entry);
 * - the last one goes and a system-assigned identity remains: `{type: "SystemAssigned"}` with no map —
 *   Compute answers 400 InvalidParameter when a map accompanies "SystemAssigned", and Azure CLI's
 *   `az vm identity remove` sends none;
 * - the last one goes and there is no system-assigned identity: `{type: "None"}`.
 * Type strings differ per provider: Compute, App Service and the others write
 * "SystemAssigned, UserAssigned" (ResourceIdentityType in
 * specification/compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-07-01/virtualMachine.json),
 * Container Apps writes "SystemAssigned,UserAssigned" without the space (ManagedServiceIdentityType in
 * specification/common-types/resource-management/v5/managedidentity.json, which Microsoft.App uses).
 */

/** Providers whose combined type string has no space after the comma. */
const NO_SPACE_PROVIDERS = new Set(["microsoft.app"]);

export function combinedIdentityType(resourceType: string): string {
  const provider = resourceType.split("/", 1)[0]?.toLowerCase() ?? "";
  return NO_SPACE_PROVIDERS.has(provider) ? "SystemAssigned,UserAssigned" : "SystemAssigned, UserAssigned";
}

/** The identity type with or without a system-assigned identity and user-assigned ones, as this provider spells it. */
export function identityTypeFor(resourceType: string, systemAssigned: boolean, userAssigned: boolean): string {
  if (userAssigned) return systemAssigned ? combinedIdentityType(resourceType) : "UserAssigned";
  return systemAssigned ? "SystemAssigned" : "None";
}

/** The identity block that removes `identityKey`, keeping every other identity and any system-assigned one. */
export function detachIdentityBlock(resourceType: string, systemAssigned: boolean, identityKey: string, othersLeft: number): ArmJson {
  const type = identityTypeFor(resourceType, systemAssigned, othersLeft > 0);
  return othersLeft > 0 ? { type, userAssignedIdentities: { [identityKey]: null } } : { type };
}

/** The identity block that adds `identityKey` back beside what the resource has now. */
export function attachIdentityBlock(resourceType: string, systemAssigned: boolean, identityKey: string): ArmJson {
  return { type: identityTypeFor(resourceType, systemAssigned, true), userAssignedIdentities: { [identityKey]: {} } };
}
