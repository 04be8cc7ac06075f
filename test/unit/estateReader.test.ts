import { describe, expect, it } from "vitest";
import { StringPool, toAttachedResource, toIdentity } from "../../shared/azure/estateReader.js";

const RG = "/subscriptions/s1/resourceGroups/rg/providers";
const identityId = `${RG}/Microsoft.ManagedIdentity/userAssignedIdentities/id-a`;

const attachmentRow = (name: string, tags: Record<string, unknown>) => ({
  id: `${RG}/Microsoft.Compute/virtualMachines/${name}`,
  name,
  type: "Microsoft.Compute/virtualMachines",
  subscriptionId: "s1",
  resourceGroup: "rg",
  tags,
  identityType: "UserAssigned",
  // A fresh copy per row, as JSON.parse produces them.
  userAssignedIdentities: { [identityId.split("").join("")]: {} },
});

describe("estate reader mappers with a StringPool", () => {
  it("share one frozen tags object and one copy of repeated values between rows", () => {
    const pool = new StringPool();
    const identity = toIdentity({ id: identityId, name: "id-a", subscriptionId: "s1", resourceGroup: "rg", location: "uksouth", tags: { env: "prod" }, principalId: "p", clientId: "c", tenantId: "t" }, pool);
    const first = toAttachedResource(attachmentRow("vm1", { env: "prod", owner: "team-a" }), pool);
    const second = toAttachedResource(attachmentRow("vm2", { env: "prod", owner: "team-a" }), pool);
    const other = toAttachedResource(attachmentRow("vm3", { env: "dev" }), pool);

    expect(first?.tags).toBe(second?.tags);
    expect(first?.tags).toEqual({ env: "prod", owner: "team-a" });
    expect(Object.isFrozen(first?.tags)).toBe(true);
    expect(other?.tags).toEqual({ env: "dev" });
    expect(first?.userAssignedIdentityIds[0]).toBe(identity?.id);
    expect(second?.userAssignedIdentityIds).toEqual([identityId]);
  });

  it("give every row its own values without a pool, and rows without tags an empty, frozen object", () => {
    const attached = toAttachedResource({ ...attachmentRow("vm1", {}), tags: null });
    expect(attached?.tags).toEqual({});
    expect(Object.isFrozen(attached?.tags)).toBe(true);
    expect(toIdentity({ id: identityId, tags: { a: 1 } })?.tags).toEqual({ a: "1" });
  });
});
