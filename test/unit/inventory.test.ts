import { describe, expect, it } from "vitest";
import { InventoryBuilder } from "../../shared/inventoryBuilder.js";
import type { Identity } from "../../shared/model.js";

const SUB = "/subscriptions/s1/resourceGroups/rg/providers";
const identity = (name: string, principalId: string): Identity => ({
  id: `${SUB}/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`,
  name,
  subscriptionId: "s1",
  resourceGroup: "rg",
  location: "uksouth",
  tags: {},
  principalId,
  clientId: `client-${name}`,
  tenantId: "t",
});

describe("InventoryBuilder", () => {
  it("joins attachments, credentials and role assignments case-insensitively", () => {
    const builder = new InventoryBuilder(
      [identity("id-a", "P-A"), identity("id-b", "p-b")],
      [{ id: "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7", name: "acdd72a7-3385-48ef-bd42-f606fba81ae7", roleName: "Reader", roleType: "BuiltInRole", permissions: [{ actions: ["*/read"], notActions: [], dataActions: [], notDataActions: [] }] }],
    );
    builder.addAttachments([
      { id: `${SUB}/Microsoft.Compute/virtualMachines/vm1`, name: "vm1", type: "Microsoft.Compute/virtualMachines", subscriptionId: "s1", resourceGroup: "rg", tags: {}, identityType: "UserAssigned", userAssignedIdentityIds: [`${SUB.toLowerCase()}/microsoft.managedidentity/userassignedidentities/id-a`, `${SUB}/Microsoft.ManagedIdentity/userAssignedIdentities/gone`] },
    ]);
    builder.addFederatedCredentials([
      { id: `${SUB}/Microsoft.ManagedIdentity/userAssignedIdentities/id-b/federatedIdentityCredentials/gh`, name: "gh", identityId: `${SUB}/Microsoft.ManagedIdentity/userAssignedIdentities/id-b`, issuer: "https://token.actions.githubusercontent.com", subject: "repo:o/r:ref:refs/heads/main", audiences: [] },
    ]);
    builder.addRoleAssignments([
      { id: "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/1", scope: "/subscriptions/s1", roleDefinitionId: "/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/ACDD72A7-3385-48EF-BD42-F606FBA81AE7", principalId: "p-a", principalType: "ServicePrincipal" },
      { id: "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/2", scope: "/subscriptions/s1", roleDefinitionId: "/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/unknown", principalId: "p-b", principalType: "ServicePrincipal" },
      { id: "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/3", scope: "/subscriptions/s1", roleDefinitionId: "x", principalId: "someone-else", principalType: "User" },
    ]);
    const [a, b] = builder.build().identities;
    expect(a?.attachedTo).toEqual([`${SUB}/Microsoft.Compute/virtualMachines/vm1`]);
    expect(a?.roleAssignments).toEqual([expect.objectContaining({ id: "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/1", roleName: "Reader" })]);
    expect(b?.roleAssignments[0]?.roleName).toBeNull();
    expect(b?.federatedCredentials).toEqual([expect.objectContaining({ subject: "repo:o/r:ref:refs/heads/main" })]);
    expect(b?.attachedTo).toEqual([]);
  });
});
