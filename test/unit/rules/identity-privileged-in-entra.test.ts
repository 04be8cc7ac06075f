import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/identity-privileged-in-entra.js";
import type { AppRoleGrant, DirectoryRoleGrant, GroupMember } from "../../../shared/model.js";
import { exposureIndex, identity, keys, runRule, policy } from "../../helpers/sweep.js";

const GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10";
const USER_ADMIN = "fe930be7-5e62-47db-91af-98c3a49a38b1";
const DIRECTORY_READERS = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b";
const ROLE_MANAGEMENT_RW = "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8";
const DIRECTORY_READ_ALL = "7ab1d382-f21e-4acd-a863-ba3e13f7da61";
const USER_READ_ALL = "df021288-bdef-4463-88db-98f22de89214";
const GRAPH_SP = "f0000000-0000-4000-8000-00000000a9a9";
const GROUP = "g0000000-0000-4000-8000-000000000001";

const id = identity("id-x");
const directoryRole = (roleDefinitionId: string, options: Partial<DirectoryRoleGrant> = {}): DirectoryRoleGrant => ({ id: `dra-${roleDefinitionId}`, principalId: id.principalId, principalType: "ServicePrincipal", roleDefinitionId, directoryScopeId: "/", eligible: false, ...options });
const appRole = (appRoleId: string, principalId = id.principalId): AppRoleGrant => ({ id: `ara-${appRoleId}`, principalId, principalType: "ServicePrincipal", appRoleId, resourceId: GRAPH_SP });
const member: GroupMember = { id: id.principalId, type: "ServicePrincipal", displayName: "id-x" };

type Case = [name: string, input: { directoryRoles?: DirectoryRoleGrant[]; appRoles?: AppRoleGrant[]; groups?: Record<string, GroupMember[]> }, expected: Array<[string, string]>];
const cases: Case[] = [
  ["Global Administrator, active, tenant-wide: critical", { directoryRoles: [directoryRole(GLOBAL_ADMIN)] }, [[GLOBAL_ADMIN, "critical"]]],
  ["Global Administrator, PIM-eligible: counts", { directoryRoles: [directoryRole(GLOBAL_ADMIN, { eligible: true })] }, [[GLOBAL_ADMIN, "critical"]]],
  ["Global Administrator at an administrative unit: high at most", { directoryRoles: [directoryRole(GLOBAL_ADMIN, { directoryScopeId: "/administrativeUnits/au" })] }, [[GLOBAL_ADMIN, "high"]]],
  ["User Administrator: high", { directoryRoles: [directoryRole(USER_ADMIN)] }, [[USER_ADMIN, "high"]]],
  ["a role outside the tiered list (Directory Readers): nothing", { directoryRoles: [directoryRole(DIRECTORY_READERS)] }, []],
  [
    "through a role-assignable group",
    { directoryRoles: [directoryRole(GLOBAL_ADMIN, { principalId: GROUP, principalType: "Group" })], groups: { [GROUP]: [member] } },
    [[GLOBAL_ADMIN, "critical"]],
  ],
  ["a group's role without the identity among its members: nothing", { directoryRoles: [directoryRole(GLOBAL_ADMIN, { principalId: GROUP, principalType: "Group" })], groups: { [GROUP]: [] } }, []],
  ["RoleManagement.ReadWrite.Directory: critical", { appRoles: [appRole(ROLE_MANAGEMENT_RW)] }, [[ROLE_MANAGEMENT_RW, "critical"]]],
  ["Directory.Read.All: high", { appRoles: [appRole(DIRECTORY_READ_ALL)] }, [[DIRECTORY_READ_ALL, "high"]]],
  ["a permission outside the list (User.Read.All): nothing", { appRoles: [appRole(USER_READ_ALL)] }, []],
  ["another principal's permission: nothing", { appRoles: [appRole(ROLE_MANAGEMENT_RW, "someone-else")] }, []],
  ["a Graph permission granted to a group does not reach its members", { appRoles: [{ ...appRole(ROLE_MANAGEMENT_RW, GROUP), principalType: "Group" }], groups: { [GROUP]: [member] } }, []],
  [
    "one finding per role, however many ways it is held",
    { directoryRoles: [directoryRole(GLOBAL_ADMIN), directoryRole(GLOBAL_ADMIN, { id: "second", eligible: true }), directoryRole(USER_ADMIN)], appRoles: [appRole(ROLE_MANAGEMENT_RW)] },
    [[ROLE_MANAGEMENT_RW, "critical"], [GLOBAL_ADMIN, "critical"], [USER_ADMIN, "high"]],
  ],
];

describe("identity-privileged-in-entra", () => {
  it.each(cases)("%s", (_name, input, expected) => {
    const drafts = runRule(rule, exposureIndex({ identities: [id] }, [], input), policy());
    expect(keys(drafts).map(([, , related, severity]) => [related, severity]).sort()).toEqual(expected.map(([related, severity]) => [related.toLowerCase(), severity]).sort());
    for (const draft of drafts) expect(draft.subjectId).toBe(id.id);
  });

  it("evidence: role name, template id, scope, via group and eligible; one source is the fix", () => {
    const [draft] = runRule(rule, exposureIndex({ identities: [id] }, [], { directoryRoles: [directoryRole(GLOBAL_ADMIN, { principalId: GROUP, principalType: "Group", eligible: true })], groups: { [GROUP]: [member] } }), policy());
    expect(draft?.evidence).toMatchObject({ kind: "directory-role", roleName: "Global Administrator", templateId: GLOBAL_ADMIN, directoryScopeId: "/", viaGroup: GROUP, eligible: true });
    expect(draft?.fixes).toEqual([expect.objectContaining({ kind: "directory-role-eligibility", target: `dra-${GLOBAL_ADMIN}` })]);
    const [graph] = runRule(rule, exposureIndex({ identities: [id] }, [], { appRoles: [appRole(ROLE_MANAGEMENT_RW)] }), policy());
    expect(graph?.evidence).toMatchObject({ kind: "app-role", roleName: "RoleManagement.ReadWrite.Directory", appRoleId: ROLE_MANAGEMENT_RW });
    expect(graph?.fixes?.[0]?.az).toBe(`az rest --method delete --url https://graph.microsoft.com/v1.0/servicePrincipals/${GRAPH_SP}/appRoleAssignedTo/ara-${ROLE_MANAGEMENT_RW}`);
  });
});
