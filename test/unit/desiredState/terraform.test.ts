import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readTerraformJson } from "../../../shared/desiredState/terraform.js";
import { DesiredStateFormatError } from "../../../shared/desiredState/model.js";

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../fixtures/desired-state/${name}`, import.meta.url), "utf8"));
const S1 = "/subscriptions/11111111-1111-4111-8111-111111111111";
const S2 = "/subscriptions/22222222-2222-4222-8222-222222222222";

describe("readTerraformJson: a state (terraform show -json)", () => {
  const state = readTerraformJson(fixture("tfstate/prod.json"));

  it("reads resources of the root module and of nested child modules, by address", () => {
    expect(state.identities.map((identity) => identity.address)).toEqual([
      "azurerm_user_assigned_identity.app",
      "azurerm_user_assigned_identity.deleted",
      "module.data.azurerm_user_assigned_identity.this",
    ]);
    expect(state.roleAssignments.map((assignment) => assignment.address)).toContain("module.data.module.kv.azurerm_role_assignment.secrets");
  });

  it("takes the azurerm attributes: identity id and principal, role by id and name, condition, credential parent", () => {
    expect(state.identities[0]).toEqual({
      address: "azurerm_user_assigned_identity.app",
      id: `${S1}/resourceGroups/rg-app/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-app-prod`,
      name: "id-app-prod",
      resourceGroup: "rg-app",
      principalId: "0a000001-0000-4000-8000-000000000001",
    });
    const reader = state.roleAssignments.find((assignment) => assignment.address === "azurerm_role_assignment.reader");
    expect(reader).toMatchObject({ scope: `${S1}/resourceGroups/rg-app`, roleName: "Reader", condition: "", principalId: "0a000001-0000-4000-8000-000000000001" });
    expect(reader?.roleDefinitionId).toMatch(/roleDefinitions\/acdd72a7-3385-48ef-bd42-f606fba81ae7$/);
    const secrets = state.roleAssignments.find((assignment) => assignment.address.endsWith("secrets"));
    expect(secrets?.condition).toContain("StringEquals 'app-db-password'");
    expect(state.federatedCredentials.find((credential) => credential.name === "github")).toMatchObject({
      identityId: `${S1}/resourceGroups/rg-data/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-data-prod`,
      issuer: "https://token.actions.githubusercontent.com",
      subject: "repo:contoso/app:environment:prod",
      audiences: ["api://AzureADTokenExchange"],
    });
  });

  it("reads attachments from the identity block of any resource type, and skips data sources", () => {
    expect(state.attachments.map((attachment) => [attachment.address, attachment.identityIds.length, attachment.complete])).toEqual([
      ["azurerm_linux_virtual_machine.vm1", 1, true],
      ["azurerm_linux_function_app.func1", 1, true],
      ["module.data.azurerm_linux_virtual_machine.vm2", 1, true],
    ]);
    expect(JSON.stringify(state)).not.toContain("azurerm_client_config");
  });
});

describe("readTerraformJson: a saved plan (planned_values and after_unknown)", () => {
  const plan = readTerraformJson(fixture("plan-rg-plan.json"));
  const byAddress = <T extends { address: string }>(items: T[], address: string): T | undefined => items.find((item) => item.address === address);

  it("leaves what Terraform did not know undefined, never a value to compare", () => {
    const batch = byAddress(plan.identities, "azurerm_user_assigned_identity.batch");
    expect(batch).toEqual({ address: "azurerm_user_assigned_identity.batch", name: "id-batch", resourceGroup: "rg-plan" });
    const byName = byAddress(plan.roleAssignments, "azurerm_role_assignment.worker_kv");
    expect(byName?.id).toBeUndefined();
    expect(byName?.roleDefinitionId).toBeUndefined();
    expect(byName?.roleName).toBe("key vault secrets user");
    expect(byAddress(plan.roleAssignments, "azurerm_role_assignment.batch_blob")?.principalId).toBeUndefined();
    expect(byAddress(plan.roleAssignments, "azurerm_role_assignment.worker_blob")?.condition).toBeUndefined();
  });

  it("builds a role assignment's id from a known scope and name", () => {
    expect(byAddress(plan.roleAssignments, "azurerm_role_assignment.worker_reader")?.id).toBe(
      `${S2}/resourceGroups/rg-plan/providers/Microsoft.Authorization/roleAssignments/5a000008-0000-4000-8000-000000000008`,
    );
  });

  it("marks an identity list with an unknown element incomplete", () => {
    expect(byAddress(plan.attachments, "azurerm_container_app.worker")).toMatchObject({ identityIds: [expect.stringContaining("id-worker")], complete: false });
  });

  it("a resource the plan deletes is not desired (it is not in planned_values)", () => {
    const document = {
      format_version: "1.2",
      planned_values: { root_module: {} },
      resource_changes: [{ address: "azurerm_user_assigned_identity.gone", type: "azurerm_user_assigned_identity", change: { actions: ["delete"], before: { id: "/x" }, after: null, after_unknown: {} } }],
    };
    expect(readTerraformJson(document).identities).toEqual([]);
  });
});

describe("readTerraformJson: other shapes", () => {
  it.each([
    ["an empty state", { format_version: "1.0" }],
    ["a state with an empty root module", { format_version: "1.0", values: { root_module: {} } }],
  ])("%s declares nothing", (_, document) => {
    expect(readTerraformJson(document)).toMatchObject({ identities: [], attachments: [], roleAssignments: [], federatedCredentials: [] });
  });

  it("reads user_assigned_identity_id (azurerm 5.x) as the credential's identity", () => {
    const document = {
      format_version: "1.0",
      values: {
        root_module: {
          resources: [
            { address: "azurerm_federated_identity_credential.x", mode: "managed", type: "azurerm_federated_identity_credential", values: { name: "x", user_assigned_identity_id: `${S1}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id`, issuer: "https://i", subject: "s", audience: ["a"] } },
          ],
        },
      },
    };
    expect(readTerraformJson(document).federatedCredentials[0]?.id).toBe(`${S1}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id/federatedIdentityCredentials/x`);
  });

  it.each([
    ["not an object", [], /not a JSON object/],
    ["a raw terraform.tfstate", { version: 4, terraform_version: "1.9.8", resources: [] }, /raw state file/],
    ["no format_version", { values: {} }, /no format_version/],
    ["a major version Terraform has not made", { format_version: "2.0", values: {} }, /not supported/],
    ["values that are not an object", { format_version: "1.0", values: [] }, /values is not an object/],
    ["resources that are not a list", { format_version: "1.0", values: { root_module: { resources: {} } } }, /resources is not an array/],
    ["a resource without an address", { format_version: "1.0", values: { root_module: { resources: [{ type: "x" }] } } }, /no address or type/],
    ["child_modules that are not a list", { format_version: "1.0", values: { root_module: { child_modules: {} } } }, /child_modules is not an array/],
    ["resource_changes that are not a list", { format_version: "1.2", planned_values: { root_module: {} }, resource_changes: {} }, /resource_changes is not an array/],
  ])("refuses %s", (_, document, message) => {
    expect(() => readTerraformJson(document)).toThrow(DesiredStateFormatError);
    expect(() => readTerraformJson(document)).toThrow(message);
  });
});
