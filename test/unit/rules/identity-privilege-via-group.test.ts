import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/identity-privilege-via-group.js";
import { BUILT_IN_ROLES } from "../../../shared/rules/lib/roles.js";
import type { DirectoryRoleGrant, GroupMember, RoleEligibility } from "../../../shared/model.js";
import { assignment, exposureIndex, FOUND_MI, identity, keys, policy, RG, runRule, S, UNKNOWN, type PrivilegeInput } from "../../helpers/sweep.js";

const { owner: OWNER, contributor: CONTRIBUTOR, managedIdentityOperator: MI_OPERATOR } = BUILT_IN_ROLES;
const GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10";
const G1 = "g0000000-0000-4000-8000-000000000001";
const G2 = "g0000000-0000-4000-8000-000000000002";
const id = identity("id-x");
const member: GroupMember = { id: id.principalId, type: "ServicePrincipal" };
const groupGrant = (name: string, role: string, scope: string, group = G1) => [assignment(name, role, group, scope, { principalType: "Group" }), UNKNOWN] as [ReturnType<typeof assignment>, typeof UNKNOWN];
const eligibility = (role: string, principalId: string): RoleEligibility => ({ id: `${S}/providers/Microsoft.Authorization/roleEligibilityScheduleInstances/e1`, scope: S, roleDefinitionId: `${S}/providers/Microsoft.Authorization/roleDefinitions/${role}`, principalId, principalType: "Group" });
const directoryRole: DirectoryRoleGrant = { id: "dra", principalId: G2, principalType: "Group", roleDefinitionId: GLOBAL_ADMIN, directoryScopeId: "/", eligible: false };

type Case = [name: string, grants: Array<[ReturnType<typeof assignment>, typeof UNKNOWN]>, privilege: PrivilegeInput, expected: string[]];
const cases: Case[] = [
  ["Owner at the subscription through a group", [groupGrant("a", OWNER, S)], { groups: { [G1]: [member] } }, [G1]],
  ["Contributor at the subscription (high) through a group", [groupGrant("a", CONTRIBUTOR, S)], { groups: { [G1]: [member] } }, [G1]],
  ["through a nested group (transitive members)", [groupGrant("a", OWNER, S)], { groups: { [G1]: [{ id: G2, type: "Group" }, member] } }, [G1]],
  ["PIM-eligible Owner through a group", [], { eligibilities: [eligibility(OWNER, G1)], groups: { [G1]: [member] } }, [G1]],
  ["a directory role through a role-assignable group", [], { directoryRoles: [directoryRole], groups: { [G2]: [member] } }, [G2]],
  ["two groups: one finding each", [groupGrant("a", OWNER, S), groupGrant("b", CONTRIBUTOR, S, G2)], { groups: { [G1]: [member], [G2]: [member] } }, [G1, G2]],
  ["Owner at a resource group (medium) is no grade: nothing", [groupGrant("a", OWNER, RG)], { groups: { [G1]: [member] } }, []],
  ["Managed Identity Operator through a group gives rights, no grade: nothing", [groupGrant("a", MI_OPERATOR, S)], { groups: { [G1]: [member] } }, []],
  ["the identity is not a member: nothing", [groupGrant("a", OWNER, S)], { groups: { [G1]: [{ id: "someone", type: "User" }] } }, []],
  ["members not read: nothing concluded", [groupGrant("a", OWNER, S)], { groups: { [G1]: undefined } }, []],
];

describe("identity-privilege-via-group", () => {
  it.each(cases)("%s", (_name, grants, privilege, expected) => {
    const drafts = runRule(rule, exposureIndex({ identities: [id] }, grants, privilege), policy());
    expect(keys(drafts)).toEqual(expected.map((group) => ["identity-privilege-via-group", id.id, group, "medium"]));
  });

  it("a direct grant beside the group's still reports the group; evidence lists the roles through it", () => {
    const drafts = runRule(rule, exposureIndex({ identities: [id] }, [[assignment("own", OWNER, id.principalId, S), FOUND_MI], groupGrant("a", OWNER, S)], { groups: { [G1]: [member] } }), policy());
    expect(drafts).toHaveLength(1);
    expect(drafts[0]?.evidence["roles"]).toEqual([expect.objectContaining({ kind: "role-assignment", roleName: "Owner", scope: S, viaGroup: G1, grade: "critical" })]);
    expect(drafts[0]?.fixes).toEqual([expect.objectContaining({ kind: "role-assignment", target: `${S}/providers/Microsoft.Authorization/roleAssignments/a` })]);
  });
});
