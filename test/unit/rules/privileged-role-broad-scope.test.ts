import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/privileged-role-broad-scope.js";
import { BUILT_IN_ROLES } from "../../../shared/rules/lib/roles.js";
import { assignment, FOUND_MI, FOUND_USER, identity, index, keys, policy, RG, runRule, S, UNKNOWN } from "../../helpers/sweep.js";
import type { PrincipalStatus } from "../../../shared/rules/types.js";

const { owner: OWNER, contributor: CONTRIBUTOR, userAccessAdministrator: UAA, rbacAdministrator: RBAC } = BUILT_IN_ROLES;
const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const MG = "/providers/Microsoft.Management/managementGroups/root";
const VAULT = `${RG}/providers/Microsoft.KeyVault/vaults/kv1`;
const custom = (guid: string, actions: string[]) => ({ id: `${S}/providers/Microsoft.Authorization/roleDefinitions/${guid}`, name: guid, roleName: `custom-${guid}`, roleType: "CustomRole", permissions: [{ actions, notActions: [], dataActions: [], notDataActions: [] }] });

const uami = identity("id-app-prod-uks-01");
const sweepIndex = index({
  identities: [uami],
  roleDefinitions: [custom("c-star", ["*"]), custom("c-auth", ["Microsoft.Authorization/*"]), custom("c-write", ["microsoft.authorization/roleAssignments/write"]), custom("c-read", ["*/read"])],
});

describe("privileged-role-broad-scope", () => {
  const cases: Array<[string, string, string, string, PrincipalStatus, string | undefined]> = [
    ["Owner at subscription (UAMI)", OWNER, S, uami.principalId, UNKNOWN, "critical"],
    ["UAA at subscription", UAA, S, uami.principalId, UNKNOWN, "critical"],
    ["RBAC Administrator at management group", RBAC, MG, uami.principalId, UNKNOWN, "critical"],
    ["custom * at subscription", "c-star", S, uami.principalId, UNKNOWN, "critical"],
    ["custom Microsoft.Authorization/* at subscription", "c-auth", S, uami.principalId, UNKNOWN, "critical"],
    ["custom roleAssignments/write at subscription", "c-write", S, uami.principalId, UNKNOWN, "critical"],
    ["Contributor at subscription", CONTRIBUTOR, S, uami.principalId, UNKNOWN, "high"],
    ["Contributor at management group", CONTRIBUTOR, MG, uami.principalId, UNKNOWN, "high"],
    ["Owner at resource group", OWNER, RG, uami.principalId, UNKNOWN, "medium"],
    ["Contributor at resource group", CONTRIBUTOR, RG, uami.principalId, UNKNOWN, "medium"],
    ["custom * at resource group", "c-star", RG, uami.principalId, UNKNOWN, "medium"],
    ["Owner at resource scope is not reported", OWNER, VAULT, uami.principalId, UNKNOWN, undefined],
    ["Reader at subscription", READER, S, uami.principalId, UNKNOWN, undefined],
    ["harmless custom role", "c-read", S, uami.principalId, UNKNOWN, undefined],
    ["system-assigned MI known from the directory", OWNER, S, "p-system", FOUND_MI, "critical"],
    ["a user is not a managed identity", OWNER, S, "p-user", FOUND_USER, undefined],
    ["unknown principal not in the inventory", OWNER, S, "p-unknown", UNKNOWN, undefined],
  ];
  it.each(cases)("%s", (_name, role, scope, principalId, principal, severity) => {
    const item = assignment("a1", role, principalId, scope);
    const drafts = runRule(rule, sweepIndex, policy(), [[item, principal]]);
    expect(keys(drafts)).toEqual(severity ? [["privileged-role-broad-scope", item.id, undefined, severity]] : []);
  });
});
