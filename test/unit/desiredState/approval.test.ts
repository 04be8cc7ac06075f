import { describe, expect, it } from "vitest";
import { cleanupGuard, matchingSource } from "../../../shared/desiredState/approval.js";
import { planCleanup } from "../../../shared/cleanup/plan.js";
import { policySchema } from "../../../shared/config/policy.js";
import { assignment, identity, RG, S } from "../../helpers/sweep.js";
import { findingOf, roleDefinition, source, unreadable } from "../../helpers/drift.js";

const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const roleDefinitions = new Map([[READER, roleDefinition(READER, "Reader")]]);
const app = identity("id-app");
const grant = assignment("5a000001-0000-4000-8000-000000000001", READER, app.principalId, RG);
const vm = `${RG}/providers/Microsoft.Compute/virtualMachines/vm1`;
const credential = `${app.id}/federatedIdentityCredentials/gh`;
const state = source("prod.json", [S], {
  identities: [{ address: "azurerm_user_assigned_identity.app", id: app.id }],
  roleAssignments: [{ address: "azurerm_role_assignment.reader", id: grant.id.toUpperCase().replace("/SUBSCRIPTIONS/", "/subscriptions/"), scope: RG, roleName: "reader", principalId: app.principalId, condition: "" }],
  attachments: [{ address: "azurerm_linux_virtual_machine.vm1", resourceId: vm, identityIds: [app.id], complete: true }],
  federatedCredentials: [{ address: "azurerm_federated_identity_credential.gh", id: credential, identityId: app.id, issuer: "https://token.actions.githubusercontent.com", subject: "repo:contoso/app:environment:prod", audiences: ["api://AzureADTokenExchange"] }],
});

describe("matchingSource (desiredState.approves)", () => {
  it.each([
    ["the declared grant (role by name, id in other casing)", { kind: "role-assignment", assignment: grant, roleDefinitions }, "prod.json"],
    ["the declared grant with a condition added", { kind: "role-assignment", assignment: { ...grant, condition: "x" }, roleDefinitions }, undefined],
    ["a grant the code does not have", { kind: "role-assignment", assignment: assignment("other", READER, app.principalId, RG), roleDefinitions }, undefined],
    ["the declared attachments", { kind: "attachment", resourceId: vm.toUpperCase(), identityIds: [app.id.toLowerCase()] }, "prod.json"],
    ["one identity more than declared", { kind: "attachment", resourceId: vm, identityIds: [app.id, identity("id-x").id] }, undefined],
    ["the declared credential", { kind: "federated-credential", id: credential, issuer: "https://token.actions.githubusercontent.com", subject: "repo:contoso/app:environment:prod", audiences: ["api://AzureADTokenExchange"] }, "prod.json"],
    ["the credential re-pointed", { kind: "federated-credential", id: credential, issuer: "https://token.actions.githubusercontent.com", subject: "repo:contoso/app:pull_request" }, undefined],
    ["the declared identity", { kind: "identity", id: app.id }, "prod.json"],
  ] as const)("%s", (_, readBack, expected) => {
    expect(matchingSource([state], readBack)).toBe(expected);
  });

  it("a source speaks only inside its scopes", () => {
    expect(matchingSource([{ ...state, scopes: [`${S}/resourceGroups/rg-other`] }], { kind: "identity", id: app.id })).toBeUndefined();
  });
});

describe("the cleanup never removes what the code declares", () => {
  const finding = findingOf;
  const other = assignment("hand", READER, app.principalId, RG);
  const findings = [
    finding("role-assignment-outside-pipeline", grant.id, { principalId: app.principalId, scope: RG }),
    finding("role-assignment-outside-pipeline", other.id, { principalId: "someone-else", scope: RG }),
    finding("attachment-outside-pipeline", vm, {}, app.id),
    finding("attachment-outside-pipeline", vm, {}, identity("id-x").id),
  ];
  const plan = (sources: Parameters<typeof cleanupGuard>[0]) =>
    planCleanup(findings, policySchema.parse({ cleanup: { dryRun: false, maxDeletePercent: 100 } }), { forceEnforce: true, consecutive: () => 2, roleAssignmentsSeen: 10, now: new Date(), runId: "r", scope: "events", declared: cleanupGuard(sources) }).plan;

  it("skips a declared grant and a declared attachment; the rest is carried out", () => {
    const result = plan([state]);
    expect(result.records.map((record) => [record.target, record.status, record.reason])).toEqual([
      [grant.id, "skipped", "declared in desired-state source prod.json"],
      [vm, "skipped", "declared in desired-state source prod.json"],
    ]);
    expect(result.toRun.map((action) => [action.targetId, action.identityId])).toEqual([
      [other.id, undefined],
      [vm, identity("id-x").id],
    ]);
  });

  it("under a source that could not be read, removes nothing: what it declares is unknown", () => {
    const result = plan([unreadable("broken.json", [S])]);
    expect(result.toRun).toEqual([]);
    expect(new Set(result.records.map((record) => record.reason))).toEqual(new Set(["desired-state source broken.json could not be read: what it declares there is unknown"]));
  });
});
