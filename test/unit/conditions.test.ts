import { describe, expect, it } from "vitest";
import { delegationOf, type Delegation } from "../../shared/rules/lib/conditions.js";
import { BUILT_IN_ROLES } from "../../shared/rules/lib/roles.js";

/**
 * The documented forms of Learn "Delegate Azure role assignment management to others with conditions"
 * (azure-docs delegate-role-assignments-examples.md @0b8729ea, quoted in shared/rules/data/privilege-SOURCES.md §3d),
 * verbatim, and forms that are not one of them.
 */
const BACKUP_CONTRIBUTOR = "5e467623-bb1f-42f4-a55d-6e525e11384b";
const BACKUP_READER = "a795c7a0-d4a2-40c1-ae25-d81f01202912";
const { owner: OWNER, rbacAdministrator: RBAC_ADMIN, userAccessAdministrator: UAA } = BUILT_IN_ROLES;
const ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d";

const clause = (action: string, body: string): string => `(\n (\n  !(ActionMatches{'Microsoft.Authorization/roleAssignments/${action}'})\n )\n OR \n (\n  ${body}\n )\n)`;
const both = (write: string): string => `${clause("write", write)}\nAND\n${clause("delete", write.replace(/@Request/g, "@Resource"))}`;
const roles = (operator: string, ...guids: string[]): string => `@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ${operator} {${guids.join(", ")}}`;

const cases: Array<[string, string | null | undefined, Delegation]> = [
  ["no condition", undefined, { kind: "unconstrained" }],
  ["null condition", null, { kind: "unconstrained" }],
  ["blank condition", "  ", { kind: "unconstrained" }],
  ["example 1: constrain roles", both(roles("ForAnyOfAnyValues:GuidEquals", BACKUP_CONTRIBUTOR, BACKUP_READER)), { kind: "allow", roles: [BACKUP_CONTRIBUTOR, BACKUP_READER] }],
  [
    "example 2: constrain roles and principal types",
    both(`${roles("ForAnyOfAnyValues:GuidEquals", BACKUP_CONTRIBUTOR, BACKUP_READER)}\n  AND\n  @Request[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {'User', 'Group'}`),
    { kind: "allow", roles: [BACKUP_CONTRIBUTOR, BACKUP_READER] },
  ],
  [
    "example 3: constrain roles and specific groups",
    both(`${roles("ForAnyOfAnyValues:GuidEquals", BACKUP_CONTRIBUTOR, BACKUP_READER)}\n  AND\n  @Request[Microsoft.Authorization/roleAssignments:PrincipalId] ForAnyOfAnyValues:GuidEquals {28c35fea-2099-4cf5-8ad9-473547bc9423, 86951b8b-723a-407b-a74a-1bca3f0c95d0}`),
    { kind: "allow", roles: [BACKUP_CONTRIBUTOR, BACKUP_READER] },
  ],
  ["example 4: allow most roles, but not Owner, RBAC Admin or UAA", both(roles("ForAnyOfAllValues:GuidNotEquals", OWNER, RBAC_ADMIN, UAA)), { kind: "deny", roles: [UAA, OWNER, RBAC_ADMIN] }],
  [
    "example 5: constrain ACR management",
    both(`${roles("ForAnyOfAnyValues:GuidEquals", ACR_PULL)}\n  AND\n  @Request[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {'ServicePrincipal'}`),
    { kind: "allow", roles: [ACR_PULL] },
  ],
  ["constrain add role assignments (write only)", clause("write", roles("ForAnyOfAnyValues:GuidEquals", BACKUP_READER)), { kind: "allow", roles: [BACKUP_READER] }],
  ["the clause's two sides in the other order", `((${roles("ForAnyOfAnyValues:GuidEquals", BACKUP_READER)}) OR (!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})))`, { kind: "allow", roles: [BACKUP_READER] }],
  ["operators and attribute names in another case", clause("write", roles("foranyofanyvalues:guidequals", BACKUP_READER.toUpperCase()).replace("RoleDefinitionId", "roledefinitionid")), { kind: "allow", roles: [BACKUP_READER] }],
  ["delete only: what may be granted is open", clause("delete", roles("ForAnyOfAnyValues:GuidEquals", BACKUP_READER).replace("@Request", "@Resource")), { kind: "unconstrained" }],
  ["principal types only: what may be granted is open", clause("write", "@Request[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {'User'}"), { kind: "unconstrained" }],
  ["an allow-list and a deny-list: the allowed ones not denied", `${clause("write", roles("ForAnyOfAnyValues:GuidEquals", OWNER, BACKUP_READER))} AND ${clause("write", roles("ForAnyOfAllValues:GuidNotEquals", OWNER))}`, { kind: "allow", roles: [BACKUP_READER] }],
  ["not a condition at all", "anything goes", { kind: "not-understood" }],
  ["a storage data condition on a role that writes role assignments", "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:ContainerName] StringEqualsIgnoreCase 'foo'", { kind: "not-understood" }],
  ["an OR inside the write predicate", clause("write", `${roles("ForAnyOfAnyValues:GuidEquals", BACKUP_READER)} OR ${roles("ForAnyOfAnyValues:GuidEquals", OWNER)}`), { kind: "not-understood" }],
  ["an operator of no documented form", clause("write", roles("ForAllOfAllValues:GuidEquals", BACKUP_READER)), { kind: "not-understood" }],
  ["@Resource in the write clause", clause("write", roles("ForAnyOfAnyValues:GuidEquals", BACKUP_READER).replace("@Request", "@Resource")), { kind: "not-understood" }],
  ["another action", `((!(ActionMatches{'Microsoft.Authorization/roleAssignments/*'})) OR (${roles("ForAnyOfAnyValues:GuidEquals", BACKUP_READER)}))`, { kind: "not-understood" }],
  ["unbalanced parentheses", `(${clause("write", roles("ForAnyOfAnyValues:GuidEquals", BACKUP_READER))}`, { kind: "not-understood" }],
  ["a value that is no GUID", clause("write", "@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {owner}"), { kind: "not-understood" }],
];

describe("delegation conditions", () => {
  it.each(cases)("%s", (_name, condition, expected) => {
    const delegation = delegationOf(condition);
    if (delegation.kind === "allow" || delegation.kind === "deny") {
      expect({ ...delegation, roles: [...delegation.roles].sort() }).toEqual({ ...expected, roles: [...(expected as { roles: string[] }).roles].map((role) => role.toLowerCase()).sort() });
    } else {
      expect(delegation).toEqual(expected);
    }
  });
});
