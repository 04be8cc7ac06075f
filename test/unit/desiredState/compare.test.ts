import { describe, expect, it } from "vitest";
import type { PrincipalStatus } from "../../../shared/model.js";
import { assignment, identity, resource, RG, S } from "../../helpers/sweep.js";
import { compare, driftKeys, roleDefinition, source, unreadable } from "../../helpers/drift.js";

const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c";
const definitions = [roleDefinition(READER, "Reader"), roleDefinition(CONTRIBUTOR, "Contributor")];
const MI: PrincipalStatus = { state: "found", object: { id: "p", odataType: "#microsoft.graph.servicePrincipal", servicePrincipalType: "ManagedIdentity" } };
const USER: PrincipalStatus = { state: "found", object: { id: "u", odataType: "#microsoft.graph.user" } };
const UNKNOWN: PrincipalStatus = { state: "unknown" };

const app = identity("id-app");
const hand = identity("id-hand");
const declaredApp = { address: "azurerm_user_assigned_identity.app", id: app.id.toUpperCase().replace("/SUBSCRIPTIONS/", "/subscriptions/"), principalId: app.principalId };
const OTHER_RG = `${S}/resourceGroups/rg-other`;
/** Both identities declared, so that only the thing under test can drift. */
const identitiesInCode = [declaredApp, { address: "azurerm_user_assigned_identity.hand", id: hand.id }];

describe("DriftComparison: identities", () => {
  it.each([
    ["declared with other casing: no drift", [source("a", [S], { identities: [declaredApp] })], [app], []],
    ["not declared, inside the scope", [source("a", [S], { identities: [declaredApp] })], [app, hand], [["not-in-code", hand.id, undefined]]],
    ["not declared, outside every scope", [source("a", [OTHER_RG], { identities: [] })], [app, hand], []],
    ["declared and missing", [source("a", [S], { identities: [declaredApp] })], [], [["missing-in-azure", declaredApp.id, undefined]]],
    ["declared outside its own source's scopes: ignored", [source("a", [OTHER_RG], { identities: [declaredApp] })], [], []],
    ["under an unreadable source's scope: nothing either way", [source("a", [S], { identities: [declaredApp] }), unreadable("b", [RG])], [hand], []],
    ["named by resource group and name (a plan before the id is known)", [source("a", [S], { identities: [{ address: "x", name: "ID-HAND", resourceGroup: "RG-APP" }] })], [hand], []],
    ["what-if Ignore: not compared", [source("a", [S], { notCompared: [hand.id] })], [hand], []],
  ])("%s", (_, sources, identities, expected) => {
    expect(driftKeys(compare(sources, { identities }))).toEqual(expected);
  });

  it("does not call a declared identity missing where the sweep did not look", () => {
    expect(driftKeys(compare([source("a", ["/"], { identities: [declaredApp] })], { read: ["/subscriptions/other"] }))).toEqual([]);
  });
});

describe("DriftComparison: role assignments", () => {
  const granted = assignment("5A000001-0000-4000-8000-000000000001", READER, app.principalId, RG);
  const declared = { address: "azurerm_role_assignment.reader", id: granted.id.toLowerCase(), scope: RG, roleDefinitionId: `${S}/providers/Microsoft.Authorization/roleDefinitions/${READER}`, principalId: app.principalId, condition: "" };

  it.each([
    ["the same grant, ids in other casing", [declared], [[granted, MI]], []],
    ["role given by name, resolved through the definitions read", [{ ...declared, roleDefinitionId: undefined, roleName: "reader" }], [[granted, MI]], []],
    ["role given by name that differs", [{ ...declared, roleDefinitionId: undefined, roleName: "Contributor" }], [[granted, MI]], [["changed", granted.id, undefined]]],
    ["condition added outside the code", [declared], [[{ ...granted, condition: "@Resource[x] StringEquals 'y'" }, MI]], [["changed", granted.id, undefined]]],
    ["condition unknown (plan): not compared", [{ ...declared, condition: undefined }], [[{ ...granted, condition: "c" }, MI]], []],
    ["matched by scope, principal and role when the id is unknown", [{ ...declared, id: undefined }], [[granted, MI]], []],
    ["a managed identity's grant not in code", [], [[granted, MI]], [["not-in-code", granted.id, undefined]]],
    ["a UAMI principal of the inventory counts without the directory", [], [[granted, UNKNOWN]], [["not-in-code", granted.id, undefined]]],
    ["a user's grant is not this product's business", [], [[assignment("u1", READER, "user-1", RG), USER]], []],
    ["declared and missing", [declared], [], [["missing-in-azure", declared.id, undefined]]],
    ["declared for a principal not known as a managed identity: not reported missing", [{ ...declared, principalId: "user-1" }], [], []],
  ] as const)("%s", (_, roleAssignments, observed, expected) => {
    const result = compare([source("tf", [S], { identities: identitiesInCode, roleAssignments: [...roleAssignments] })], { identities: [app, hand], roleAssignments: observed.map(([a, p]) => [a, p]), roleDefinitions: definitions });
    expect(driftKeys(result)).toEqual(expected);
  });

  it("shows declared against actual, with the source address", () => {
    const [entry] = compare([source("tf", [S], { identities: identitiesInCode, roleAssignments: [{ ...declared, roleDefinitionId: undefined, roleName: "Contributor" }] })], { identities: [app, hand], roleAssignments: [[granted, MI]], roleDefinitions: definitions }).entries;
    expect(entry).toMatchObject({ sources: ["tf"], address: "azurerm_role_assignment.reader", differences: ["role"], declared: { roleName: "Contributor" }, actual: { roleName: "Reader" } });
  });
});

describe("DriftComparison: attachments", () => {
  const declaredVm = { address: "azurerm_linux_virtual_machine.vm1", resourceId: resource("vm1", []).id, identityIds: [app.id.toLowerCase()], complete: true };
  it.each([
    ["as declared, casing aside", [declaredVm], [resource("vm1", [app.id])], []],
    ["one more than declared", [declaredVm], [resource("vm1", [app.id, hand.id])], [["not-in-code", declaredVm.resourceId, hand.id]]],
    ["on a resource no source declares", [], [resource("vm9", [hand.id])], [["not-in-code", resource("vm9", []).id, hand.id]]],
    ["declared and not attached", [declaredVm], [], [["missing-in-azure", declaredVm.resourceId, declaredVm.identityIds[0]]]],
    ["a declared set with unknown members: nothing is called not in code", [{ ...declaredVm, complete: false }], [resource("vm1", [app.id, hand.id])], []],
  ])("%s", (_, attachments, actual, expected) => {
    expect(driftKeys(compare([source("tf", [S], { identities: identitiesInCode, attachments })], { identities: [app, hand], attachments: actual }))).toEqual(expected);
  });
});

describe("DriftComparison: federated credentials", () => {
  const credential = { id: `${app.id}/federatedIdentityCredentials/gh`, name: "gh", identityId: app.id, issuer: "https://token.actions.githubusercontent.com", subject: "repo:contoso/app:environment:prod", audiences: ["api://AzureADTokenExchange", "api://b"] };
  const declared = { address: "azurerm_federated_identity_credential.gh", id: credential.id.toLowerCase(), identityId: app.id, name: "gh", issuer: credential.issuer, subject: credential.subject, audiences: ["api://b", "api://AzureADTokenExchange"] };
  it.each([
    ["the same, audiences in another order", [declared], [credential], [], []],
    ["subject changed", [declared], [{ ...credential, subject: "repo:contoso/app:pull_request" }], [], [["changed", credential.id, undefined]]],
    ["issuer changed", [declared], [{ ...credential, issuer: "https://evil.example" }], [], [["changed", credential.id, undefined]]],
    ["not in code", [], [credential], [], [["not-in-code", credential.id, undefined]]],
    ["declared and missing", [declared], [], [], [["missing-in-azure", declared.id, undefined]]],
    ["declared, but ARM did not list the identity's credentials", [declared], [], [app.id], []],
  ])("%s", (_, federatedCredentials, actual, credentialsUnknown, expected) => {
    expect(driftKeys(compare([source("tf", [S], { identities: identitiesInCode, federatedCredentials })], { identities: [app, hand], federatedCredentials: actual, credentialsUnknown }))).toEqual(expected);
  });
});

describe("DriftComparison: per-source summary", () => {
  it("counts drift per source and says which could not be read", () => {
    const result = compare([source("a", [RG], { identities: [] }), unreadable("b", [OTHER_RG])], { identities: [hand] });
    expect(result.sources.map((summary) => [summary.path, summary.status, summary.drift["not-in-code"]])).toEqual([
      ["a", "read", 1],
      ["b", "unreadable", 0],
    ]);
  });
});
