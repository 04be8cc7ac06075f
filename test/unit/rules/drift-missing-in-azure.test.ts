import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/drift-missing-in-azure.js";
import { identity, index, keys, policy, resource, runRule, S } from "../../helpers/sweep.js";
import { compare, source, unreadable } from "../../helpers/drift.js";

const app = identity("id-app");
const gone = identity("id-gone");
const vm = resource("vm1", []);
const declared = {
  identities: [
    { address: "azurerm_user_assigned_identity.app", id: app.id, principalId: app.principalId },
    { address: "module.x.azurerm_user_assigned_identity.gone", id: gone.id },
  ],
  attachments: [{ address: "azurerm_linux_virtual_machine.vm1", resourceId: vm.id, identityIds: [app.id], complete: true }],
  roleAssignments: [{ address: "azurerm_role_assignment.reader", id: `${S}/providers/Microsoft.Authorization/roleAssignments/r1`, scope: S, roleName: "Reader", principalId: app.principalId }],
  federatedCredentials: [{ address: "azurerm_federated_identity_credential.gh", id: `${app.id}/federatedIdentityCredentials/gh`, identityId: app.id, issuer: "https://i", subject: "s", audiences: ["a"] }],
};

describe("drift-missing-in-azure", () => {
  it("reports what a source declares and Azure lacks, with the source address in evidence", () => {
    const sweepIndex = index({ identities: [app] });
    sweepIndex.inventory.drift = compare([source("state.json", [S], declared)], { identities: [app] });
    const drafts = runRule(rule, sweepIndex, policy());
    expect(keys(drafts)).toEqual([
      ["drift-missing-in-azure", gone.id, undefined, "medium"],
      ["drift-missing-in-azure", vm.id, app.id, "medium"],
      ["drift-missing-in-azure", declared.federatedCredentials[0]!.id, undefined, "medium"],
      ["drift-missing-in-azure", declared.roleAssignments[0]!.id, undefined, "medium"],
    ]);
    expect(drafts[0]?.evidence).toMatchObject({ source: "state.json", address: "module.x.azurerm_user_assigned_identity.gone" });
  });

  it("reports nothing under an unreadable source's scopes", () => {
    const sweepIndex = index({ identities: [app] });
    sweepIndex.inventory.drift = compare([source("state.json", [S], declared), unreadable("other.json", [S])], { identities: [app] });
    expect(runRule(rule, sweepIndex, policy())).toEqual([]);
  });
});
