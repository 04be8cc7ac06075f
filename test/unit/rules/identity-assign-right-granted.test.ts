import { describe, expect, it } from "vitest";
import { BUILT_IN_ROLES } from "../../../shared/rules/lib/roles.js";
import { rule } from "../../../shared/rules/identity-assign-right-granted.js";
import type { GradedIdentity, RoleAssignment } from "../../../shared/model.js";
import type { PrincipalStatus } from "../../../shared/rules/types.js";
import { APPROVED, facts, NOT_APPROVED, resourceEvent } from "../../helpers/events.js";
import { assignment, customRole, FOUND_MI, identity, keys, MISSING, policy, RG, S, UNKNOWN } from "../../helpers/sweep.js";

const { owner: OWNER, contributor: CONTRIBUTOR, managedIdentityOperator: MI_OPERATOR, managedIdentityContributor: MI_CONTRIBUTOR } = BUILT_IN_ROLES;
const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const MG = (name: string) => `/providers/Microsoft.Management/managementGroups/${name}`;
const ASSIGNEE = "cccccccc-0000-4000-8000-000000000003";
const APP = "aaaaaaaa-0000-4000-8000-000000000001";

const critical = identity("id-crit");
const high = identity("id-high");
const graded: GradedIdentity[] = [
  { identityId: critical.id, principalId: critical.principalId, grade: "critical", gradeScopes: [S], managementGroups: ["mg-corp", "root"] },
  { identityId: high.id, principalId: high.principalId, grade: "high", gradeScopes: [S], managementGroups: ["mg-corp", "root"] },
];
const definitions = new Map([
  ["c-no-assign", customRole("c-no-assign", [{ actions: ["*"], notActions: ["Microsoft.ManagedIdentity/*", "Microsoft.Authorization/*/Write"] }])],
]);

type Case = [name: string, role: string, scope: string, expected: Array<[string, string]>, options?: { principal?: PrincipalStatus; assignee?: string; others?: RoleAssignment[]; overrides?: Record<string, unknown>; approved?: boolean; condition?: string; graded?: GradedIdentity[] }];

const { userAccessAdministrator: UAA, rbacAdministrator: RBAC_ADMIN } = BUILT_IN_ROLES;
const onlyRole = (guid: string) => `((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${guid}}))`;
/** An identity graded by a directory role (Global Administrator at the tenant), not by Azure. */
const entraGraded: GradedIdentity[] = [{ identityId: critical.id, principalId: critical.principalId, grade: "critical", gradeScopes: ["entra:/"], managementGroups: ["mg-corp", "root"] }];

describe("identity-assign-right-granted", () => {
  const cases: Case[] = [
    ["Managed Identity Operator on the identity", MI_OPERATOR, critical.id, [[critical.id, "critical"]]],
    ["Managed Identity Operator at the resource group: both", MI_OPERATOR, RG, [[critical.id, "critical"], [high.id, "high"]]],
    ["Managed Identity Contributor (federate) at the subscription", MI_CONTRIBUTOR, S, [[critical.id, "critical"], [high.id, "high"]]],
    ["Contributor at a management group above", CONTRIBUTOR, MG("mg-corp"), [[critical.id, "critical"], [high.id, "high"]]],
    ["Managed Identity Operator at another management group", MI_OPERATOR, MG("mg-other"), []],
    ["Managed Identity Operator in another resource group", MI_OPERATOR, `${S}/resourceGroups/rg-other`, []],
    ["Reader", READER, S, []],
    ["custom * minus Microsoft.ManagedIdentity/*", "c-no-assign", S, []],
    ["approved caller", MI_OPERATOR, critical.id, [], { approved: true }],
    ["assignee is the identity itself", MI_OPERATOR, critical.id, [], { assignee: critical.principalId }],
    ["assignee is an approved pipeline in scope (app id)", MI_OPERATOR, critical.id, [], {
      principal: { state: "found", object: { id: ASSIGNEE, odataType: "#microsoft.graph.servicePrincipal", appId: APP } },
      overrides: { approvedPipelines: [{ name: "p", appId: APP, scopes: [RG] }] },
    }],
    ["assignee is an approved pipeline out of scope", MI_OPERATOR, critical.id, [[critical.id, "critical"]], { overrides: { approvedPipelines: [{ name: "p", objectId: ASSIGNEE, scopes: [`${S}/resourceGroups/rg-other`] }] } }],
    ["assignee is self", MI_OPERATOR, critical.id, [], { overrides: { self: { objectId: ASSIGNEE } } }],
    ["assignee is protected", MI_OPERATOR, critical.id, [], { overrides: { protected: { principals: [ASSIGNEE] } } }],
    ["assignee missing from the directory", MI_OPERATOR, critical.id, [], { principal: MISSING }],
    ["directory unknown: reported", MI_OPERATOR, critical.id, [[critical.id, "critical"]], { principal: UNKNOWN }],
    ["assignee already Owner at the subscription", MI_OPERATOR, RG, [], { others: [assignment("o1", OWNER, ASSIGNEE, S)] }],
    ["assignee already Contributor at the subscription: as privileged as the high one only", MI_OPERATOR, RG, [[critical.id, "critical"]], { others: [assignment("o1", CONTRIBUTOR, ASSIGNEE, S)] }],
    ["the new assignment itself does not count as already held", OWNER, S, [[critical.id, "critical"], [high.id, "high"]], { others: [assignment("new", OWNER, ASSIGNEE, S)] }],
    ["User Access Administrator at the resource group (grant)", UAA, RG, [[critical.id, "critical"], [high.id, "high"]]],
    ["RBAC Administrator limited to Reader: no right", RBAC_ADMIN, RG, [], { condition: onlyRole(READER) }],
    ["RBAC Administrator limited to Managed Identity Operator: grant", RBAC_ADMIN, RG, [[critical.id, "critical"], [high.id, "high"]], { condition: onlyRole(MI_OPERATOR) }],
    ["RBAC Administrator with a condition not understood: grant", RBAC_ADMIN, RG, [[critical.id, "critical"], [high.id, "high"]], { condition: "@Resource[x:y] StringEquals 'z'" }],
    ["an identity graded by a directory role: an Owner of the root is not as privileged", MI_OPERATOR, RG, [[critical.id, "critical"]], { graded: entraGraded, others: [assignment("o1", OWNER, ASSIGNEE, "/")] }],
  ];
  it.each(cases)("%s", (_name, role, scope, expected, options = {}) => {
    const item = assignment("new", role, options.assignee ?? ASSIGNEE, scope, options.condition ? { condition: options.condition } : {});
    const event = resourceEvent("Microsoft.Authorization/roleAssignments/write", item.id);
    const drafts = rule.evaluate(
      facts("role-assignment-write", event, options.approved ? APPROVED : NOT_APPROVED, {
        roleAssignment: item,
        principal: options.principal ?? FOUND_MI,
        roleDefinitions: definitions,
        gradedIdentities: options.graded ?? graded,
        ...(options.others ? { assigneeAssignments: options.others } : {}),
      }),
      policy(options.overrides ?? {}),
    );
    expect(keys(drafts)).toEqual(expected.map(([identityId, severity]) => ["identity-assign-right-granted", item.id, identityId, severity]));
  });

  it("names the rights: grant for an access administrator, with the assignee's name", () => {
    const item = assignment("new", UAA, ASSIGNEE, critical.id);
    const event = resourceEvent("Microsoft.Authorization/roleAssignments/write", item.id);
    const principal: PrincipalStatus = { state: "found", object: { id: ASSIGNEE, odataType: "#microsoft.graph.user", displayName: "Mallory" } };
    const [draft] = rule.evaluate(facts("role-assignment-write", event, NOT_APPROVED, { roleAssignment: { ...item, principalType: "User" }, principal, roleDefinitions: definitions, gradedIdentities: graded }), policy());
    expect(draft?.evidence).toMatchObject({ rights: ["grant"], displayName: "Mallory" });
    expect(draft?.title).toContain("Mallory (User)");
  });

  it("reports nothing without the identity catalog's grades", () => {
    const item = assignment("new", MI_OPERATOR, ASSIGNEE, RG);
    const event = resourceEvent("Microsoft.Authorization/roleAssignments/write", item.id);
    expect(rule.evaluate(facts("role-assignment-write", event, NOT_APPROVED, { roleAssignment: item, principal: FOUND_MI }), policy())).toEqual([]);
  });
});
