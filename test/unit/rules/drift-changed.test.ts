import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/drift-changed.js";
import { assignment, FOUND_MI, identity, index, keys, policy, runRule, S } from "../../helpers/sweep.js";
import { compare, roleDefinition, source } from "../../helpers/drift.js";

const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const app = identity("id-app");
const grant = assignment("r1", READER, app.principalId);
const credential = { id: `${app.id}/federatedIdentityCredentials/gh`, name: "gh", identityId: app.id, issuer: "https://token.actions.githubusercontent.com", subject: "repo:contoso/app:pull_request", audiences: ["api://AzureADTokenExchange"] };

describe("drift-changed", () => {
  it.each([
    ["a role different from the one declared by name", { roleName: "Owner" }, {}, [["drift-changed", grant.id, undefined, "high"]], ["role"]],
    ["a condition the code does not have", { roleName: "Reader", condition: "" }, { condition: "@Resource[x] StringEquals 'y'" }, [["drift-changed", grant.id, undefined, "high"]], ["condition"]],
    ["the declared grant, role name in another casing", { roleName: "READER", condition: "" }, {}, [], undefined],
  ])("%s", (_, declaredFields, actualFields, expected, differences) => {
    const sweepIndex = index({ identities: [app] });
    sweepIndex.inventory.drift = compare(
      [source("tf", [S], { identities: [{ address: "a", id: app.id }], roleAssignments: [{ address: "azurerm_role_assignment.x", id: grant.id, scope: S, principalId: app.principalId, ...declaredFields }] })],
      { identities: [app], roleAssignments: [[{ ...grant, ...actualFields }, FOUND_MI]], roleDefinitions: [roleDefinition(READER, "Reader"), roleDefinition("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner")] },
    );
    const drafts = runRule(rule, sweepIndex, policy());
    expect(keys(drafts)).toEqual(expected);
    if (differences) expect(drafts[0]?.evidence).toMatchObject({ differences, address: "azurerm_role_assignment.x" });
  });

  it("reports a federated credential whose subject differs (its identity in evidence, not as the related id)", () => {
    const sweepIndex = index({ identities: [app] });
    sweepIndex.inventory.drift = compare(
      [source("w.json", [S], { identities: [{ address: "a", id: app.id }], federatedCredentials: [{ address: credential.id, id: credential.id, identityId: app.id, issuer: credential.issuer, subject: "repo:contoso/app:environment:prod", audiences: credential.audiences }] })],
      { identities: [app], federatedCredentials: [credential] },
    );
    const drafts = runRule(rule, sweepIndex, policy());
    expect(keys(drafts)).toEqual([["drift-changed", credential.id, undefined, "high"]]);
    expect(drafts[0]?.evidence).toMatchObject({ identityId: app.id, declared: { subject: "repo:contoso/app:environment:prod" }, actual: { subject: "repo:contoso/app:pull_request" } });
    expect(rule.meta.remediation(drafts[0]!).cli[0]).toMatch(/^az identity federated-credential show /);
  });
});
