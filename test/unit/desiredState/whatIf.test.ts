import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readWhatIfJson } from "../../../shared/desiredState/whatIf.js";
import { DesiredStateFormatError } from "../../../shared/desiredState/model.js";

const WEB = "/subscriptions/22222222-2222-4222-8222-222222222222/resourceGroups/rg-web";
const fixture = JSON.parse(readFileSync(new URL("../../fixtures/desired-state/whatif-rg-web.json", import.meta.url), "utf8")) as { changes: unknown[] };
// azure-rest-api-specs Microsoft.Resources/stable/2024-03-01/examples/PostDeploymentWhatIfOnResourceGroup.json (response body, trimmed)
const rest = {
  status: "Succeeded",
  properties: {
    changes: [
      {
        resourceId: "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/my-resource-group/providers/Microsoft.ManagedIdentity/userAssignedIdentities/myNewIdentity",
        changeType: "Create",
        after: { apiVersion: "2018-11-30", id: "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/my-resource-group/providers/Microsoft.ManagedIdentity/userAssignedIdentities/myNewIdentity", type: "Microsoft.ManagedIdentity/userAssignedIdentities", name: "myNewIdentity", location: "eastus" },
      },
    ],
  },
};

describe("readWhatIfJson", () => {
  const state = readWhatIfJson(fixture);

  it("desires every after of Create, Deploy, Modify and NoChange, and not what Delete removes", () => {
    expect(state.identities.map((identity) => identity.id)).toEqual([`${WEB}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-web`]);
    expect(state.roleAssignments.map((assignment) => assignment.id?.slice(-12))).toEqual(["00000000000a", "00000000000b", "00000000000e"]);
    expect(state.federatedCredentials.map((credential) => credential.name)).toEqual(["gh-web", "deploy"]);
  });

  it("does not compare Ignore and Unsupported entries", () => {
    expect(state.notCompared).toEqual([`${WEB}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-ignored`, `${WEB}/providers/Microsoft.Web/serverfarms/plan-web`]);
  });

  it("takes the scope from the role assignment's id when the template leaves it out", () => {
    expect(state.roleAssignments[1]).toMatchObject({ scope: WEB, condition: "", principalId: "0a000006-0000-4000-8000-000000000006" });
  });

  it("treats an expression what-if could not evaluate (reference()) as unknown", () => {
    expect(state.roleAssignments[2]?.principalId).toBeUndefined();
    expect(state.roleAssignments[2]?.roleDefinitionId).toMatch(/acdd72a7/);
  });

  it("reads a resource's identity block as its attachments", () => {
    expect(state.attachments).toEqual([
      { address: `${WEB}/providers/Microsoft.Web/sites/web1`, resourceId: `${WEB}/providers/Microsoft.Web/sites/web1`, identityIds: [`${WEB}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-web`], complete: true },
    ]);
  });

  it("reads the REST API's shape (properties.changes) as well as the CLI's", () => {
    expect(readWhatIfJson(rest).identities).toHaveLength(1);
  });

  it.each([
    ["not an object", "text", /not a JSON object/],
    ["no changes", { status: "Succeeded" }, /no changes/],
    ["a failed what-if", { status: "Failed", error: { code: "InvalidTemplate", message: "Deployment template validation failed" }, changes: [] }, /did not succeed.*validation failed/],
    ["a change without a resourceId", { changes: [{ changeType: "Create" }] }, /no resourceId/],
    ["an unknown change type", { changes: [{ resourceId: "/x", changeType: "Replace" }] }, /not a what-if change type/],
  ])("refuses %s", (_, document, message) => {
    expect(() => readWhatIfJson(document)).toThrow(DesiredStateFormatError);
    expect(() => readWhatIfJson(document)).toThrow(message);
  });
});
