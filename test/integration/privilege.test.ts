import { afterEach, describe, expect, it } from "vitest";
import { runSweep } from "../../shared/engine/sweep.js";
import { collectInventory } from "../../shared/engine/inventory.js";
import { collectReport } from "../../shared/engine/report.js";
import type { Finding } from "../../shared/findings.js";
import { startTarget, SUB, type TestTarget } from "../helpers/estate.js";
import { azuriteTargets } from "../helpers/azuriteTargets.js";
import { seedEventStores } from "../../local/seed.js";
import { eventDependencies } from "../../shared/composition.js";
import { replayEvents } from "../../shared/engine/replay.js";
import {
  ACI,
  AKS_ISSUER,
  ASSIGNMENT,
  AU,
  CRIT,
  ELIGIBILITY,
  ENTRA,
  GLOBAL_ADMIN,
  GRAPH,
  HOLDER,
  MG,
  PIM,
  privilegeEstate,
  PRIVILEGE_POLICY,
  RG,
  ROLE_MANAGEMENT_RW,
  S,
  USER_ADMIN,
  VIA_GROUP,
  p,
} from "../helpers/privilegeEstate.js";

/**
 * The planted privilege estate through the emulator with the real SDK clients: escalation (UAA, RBAC Administrator
 * with and without delegation conditions, a custom `*` role without the identity actions), groups (nested, empty, all
 * members excluded), PIM eligibility, an Owner inherited from a management group, Entra directory roles and Graph
 * permissions, Container Instances run code, untrusted federation subjects, a missing role definition.
 */
let target: TestTarget | undefined;
afterEach(async () => {
  await target?.stop();
  target = undefined;
});

const RULES = new Set(["privileged-identity-exposed", "privileged-role-broad-scope", "identity-privileged-in-entra", "identity-privilege-via-group", "federated-credential-untrusted-subject"]);
const keys = (findings: Finding[]) => findings.filter((finding) => RULES.has(finding.ruleId)).map((finding) => [finding.ruleId, finding.subjectId, finding.relatedId ?? null, finding.severity].join(" ")).sort();
const exposed = (identity: string, holders: string[], severity = "critical") => holders.map((holder) => ["privileged-identity-exposed", identity, holder, severity].join(" "));

/** Whoever holds rights at the subscription (or above it) reaches every identity in it. */
const AT_SUBSCRIPTION = [HOLDER.admins, HOLDER.eligible, p(5)];

const EXPECTED = [
  // id-crit (Owner at mg-corp): every way in at rg-app; not the Reader-only RBAC Administrator, the group of excluded
  // members, the empty group; the subscription's admins group is not as privileged as an Owner of the management group.
  ...exposed(CRIT.id, [HOLDER.uaa, HOLDER.rbacOperatorOnly, HOLDER.rbacNotUnderstood, HOLDER.starNoMi, HOLDER.aciRunner, HOLDER.operators, ...AT_SUBSCRIPTION]),
  ["privileged-role-broad-scope", ASSIGNMENT.critOwnerMg, null, "critical"].join(" "),
  ["federated-credential-untrusted-subject", `${CRIT.id}/federatedIdentityCredentials/mallory`, CRIT.id, "critical"].join(" "),
  // id-via-group (Owner at the subscription through sg-sub-admins): the group and id-crit are as privileged.
  ...exposed(VIA_GROUP.id, [HOLDER.eligible, p(5)]),
  ["identity-privilege-via-group", VIA_GROUP.id, HOLDER.admins, "medium"].join(" "),
  // id-entra (Global Administrator): no Azure grant is as privileged as a directory role.
  ...exposed(ENTRA.id, [p(1), ...AT_SUBSCRIPTION]),
  ["identity-privileged-in-entra", ENTRA.id, GLOBAL_ADMIN, "critical"].join(" "),
  ["federated-credential-untrusted-subject", `${ENTRA.id}/federatedIdentityCredentials/foreign-tenant`, ENTRA.id, "critical"].join(" "),
  // id-graph (RoleManagement.ReadWrite.Directory).
  ...exposed(GRAPH.id, [p(1), ...AT_SUBSCRIPTION]),
  ["identity-privileged-in-entra", GRAPH.id, ROLE_MANAGEMENT_RW, "critical"].join(" "),
  // id-pim (PIM-eligible Owner at the subscription): the active admins group and id-crit are as privileged.
  ...exposed(PIM.id, [HOLDER.eligible]),
  ["federated-credential-untrusted-subject", `${PIM.id}/federatedIdentityCredentials/foreign-aks`, PIM.id, "critical"].join(" "),
  // id-au (User Administrator in an administrative unit: high).
  ...exposed(AU.id, [p(1), ...AT_SUBSCRIPTION], "high"),
  ["identity-privileged-in-entra", AU.id, USER_ADMIN, "high"].join(" "),
].sort();

describe("privilege: grades, holders and fixes through the emulator", () => {
  it("reports exactly the planted findings, and the missing role definition as incomplete", async () => {
    target = await startTarget(privilegeEstate());
    const report = await runSweep(target.clients, PRIVILEGE_POLICY);
    expect(keys(report.findings)).toEqual(EXPECTED);
    expect(report.incomplete).toEqual([expect.objectContaining({ check: "role-definitions", affected: 1 })]);
  });

  it("names holders, lists a group's members, marks eligible rights and conditions", async () => {
    target = await startTarget(privilegeEstate());
    const report = await runSweep(target.clients, PRIVILEGE_POLICY);
    const finding = (holder: string) => report.findings.find((item) => item.ruleId === "privileged-identity-exposed" && item.subjectId === CRIT.id && item.relatedId === holder);
    expect(finding(HOLDER.operators)?.evidence).toMatchObject({
      displayName: "sg-identity-operators",
      principalType: "Group",
      // Transitive: Carol through the nested group; not the nested group itself.
      members: [
        { id: HOLDER.alice, displayName: "Alice", type: "User" },
        { id: HOLDER.bob, displayName: "Bob", type: "User" },
        { id: HOLDER.carol, displayName: "Carol", type: "User" },
      ],
      memberCount: 3,
      rights: [{ right: "assign", roleName: "Managed Identity Operator", scope: RG, roleAssignmentId: ASSIGNMENT.operators }],
    });
    expect(finding(HOLDER.operators)?.title).toBe("sg-identity-operators (Group) can act as critical identity id-crit");
    expect(finding(HOLDER.uaa)?.evidence["rights"]).toEqual([{ right: "grant", roleName: "User Access Administrator", scope: RG, roleAssignmentId: ASSIGNMENT.uaa }]);
    expect(finding(HOLDER.rbacOperatorOnly)?.evidence["rights"]).toEqual([
      { right: "grant", roleName: "Role Based Access Control Administrator", scope: RG, roleAssignmentId: ASSIGNMENT.rbacOperatorOnly, condition: "may grant only Managed Identity Operator, Reader" },
    ]);
    expect(finding(HOLDER.rbacNotUnderstood)?.evidence["rights"]).toEqual([
      { right: "grant", roleName: "Role Based Access Control Administrator", scope: RG, roleAssignmentId: ASSIGNMENT.rbacNotUnderstood, condition: "not understood" },
    ]);
    expect(finding(HOLDER.starNoMi)?.evidence["rights"]).toEqual([
      { right: "grant", roleName: "Everything but identities", scope: RG, roleAssignmentId: ASSIGNMENT.starNoMi },
      { right: "run-code", roleName: "Everything but identities", scope: RG, roleAssignmentId: ASSIGNMENT.starNoMi, resourceId: ACI },
    ]);
    expect(finding(HOLDER.aciRunner)?.evidence["rights"]).toEqual([{ right: "run-code", roleName: "Container Runner", scope: ACI, roleAssignmentId: ASSIGNMENT.aciRunner, resourceId: ACI }]);
    expect(finding(HOLDER.eligible)?.evidence["rights"]).toEqual([
      { right: "federate", roleName: "Managed Identity Contributor", scope: S, roleAssignmentId: ELIGIBILITY.eligibleContributor, eligible: true },
    ]);
    expect(finding(HOLDER.eligible)?.evidence["displayName"]).toBe("Eli Eligible");
    expect(finding(HOLDER.uaa)?.evidence["gradeReasons"]).toEqual([
      { kind: "role-assignment", id: ASSIGNMENT.critOwnerMg, roleAssignmentId: ASSIGNMENT.critOwnerMg, roleName: "Owner", grade: "critical", scope: MG },
    ]);
    const untrusted = report.findings.find((item) => item.subjectId === `${CRIT.id}/federatedIdentityCredentials/mallory`);
    expect(untrusted?.evidence).toMatchObject({ platform: "GitHub", owner: "mallory", policyKey: "federation.subjects.githubOwners" });
    const entra = report.findings.find((item) => item.ruleId === "identity-privileged-in-entra" && item.subjectId === AU.id);
    expect(entra?.evidence).toMatchObject({ kind: "directory-role", roleName: "User Administrator", templateId: USER_ADMIN, directoryScopeId: "/administrativeUnits/au-1" });
  });

  it("ranks the fixes by the critical findings each removal alone clears", async () => {
    target = await startTarget(privilegeEstate());
    const report = await runSweep(target.clients, PRIVILEGE_POLICY);
    const fixes = report.fixes ?? [];
    // id-crit's Owner at the management group is its only grade reason (its exposure, its broad-scope finding) and its
    // only right over the identities where it is a holder.
    expect(fixes[0]).toMatchObject({ kind: "role-assignment", target: ASSIGNMENT.critOwnerMg, az: `az role assignment delete --ids ${ASSIGNMENT.critOwnerMg}` });
    expect(fixes[0]?.clears.critical).toBe(report.findings.filter((item) => item.severity === "critical" && ((item.subjectId === CRIT.id && item.ruleId === "privileged-identity-exposed") || item.relatedId === p(1) || item.subjectId === ASSIGNMENT.critOwnerMg)).length);
    expect(fixes.map((fix) => fix.kind)).toEqual(expect.arrayContaining(["role-eligibility", "directory-role-assignment", "app-role-assignment", "federated-credential"]));
    const byTarget = new Map(fixes.map((fix) => [fix.target, fix]));
    expect(byTarget.get("dra-entra-ga")).toMatchObject({ kind: "directory-role-assignment", title: "Remove Global Administrator of id-entra (ServicePrincipal) at /" });
    expect(byTarget.get(ELIGIBILITY.pimOwner)?.title).toBe(`Remove the eligibility for Owner of id-pim (ServicePrincipal) at ${S}`);
    // Every fingerprint a fix names is a finding of this report.
    const fingerprints = new Set(report.findings.map((item) => item.fingerprint));
    for (const fix of fixes) for (const fingerprint of fix.findings) expect(fingerprints.has(fingerprint)).toBe(true);
  });

  it("a sweep narrowed to the subscription keeps the management-group Owner: same grade, same findings", async () => {
    target = await startTarget(privilegeEstate());
    const report = await runSweep(target.clients, PRIVILEGE_POLICY, { subscriptions: [SUB] });
    expect(keys(report.findings)).toEqual(EXPECTED);
    const rows = target.emulator.requests.filter((request) => request.service === "resourceGraph");
    expect(rows.length).toBeGreaterThan(0);
  });

  it("calls stay at the floor: three tenant-wide Graph listings, one $batch per 20 groups, one eligibility list per subscription and management group", async () => {
    target = await startTarget(privilegeEstate());
    await runSweep(target.clients, PRIVILEGE_POLICY);
    const paths = target.emulator.requests.map((request) => `${request.service} ${request.method} ${request.path}`);
    const count = (pattern: RegExp) => paths.filter((path) => pattern.test(path)).length;
    expect(count(/^graph GET .*appRoleAssignedTo$/i)).toBe(1);
    expect(count(/^graph GET .*roleManagement\/directory\/roleAssignments$/i)).toBe(1);
    expect(count(/^graph GET .*roleEligibilityScheduleInstances$/i)).toBe(1);
    // Five groups hold a right or a grade: one batch.
    expect(count(/^graph POST .*\$batch$/i)).toBe(1);
    // Two subscriptions, mg-corp and the tenant root group.
    expect(count(/^arm GET .*roleEligibilityScheduleInstances$/i)).toBe(4);
    expect(count(/^graph POST .*getByIds$/i)).toBe(1);
  });

  it("the inventory has grade, grade reasons through groups and PIM, and holders by name with group members", async () => {
    target = await startTarget(privilegeEstate());
    const inventory = await collectInventory(target.clients, { policy: PRIVILEGE_POLICY });
    const byName = new Map(inventory.identities.map((identity) => [identity.name, identity]));
    expect(byName.get("id-via-group")?.gradeReasons).toEqual([expect.objectContaining({ kind: "role-assignment", roleName: "Owner", viaGroup: HOLDER.admins, grade: "critical" })]);
    expect(byName.get("id-pim")?.gradeReasons).toEqual([expect.objectContaining({ kind: "role-eligibility", roleName: "Owner", eligible: true, roleAssignmentId: ELIGIBILITY.pimOwner })]);
    expect(byName.get("id-entra")?.gradeReasons).toEqual([expect.objectContaining({ kind: "directory-role", templateId: GLOBAL_ADMIN, directoryScopeId: "/" })]);
    expect(byName.get("id-unknown-role")?.grade).toBeNull();
    const crit = byName.get("id-crit");
    expect(crit?.grade).toBe("critical");
    const holders = new Set(crit?.exposure.map((entry) => entry.principalId));
    // Group members are holders too (listed with viaGroup), beside the groups.
    for (const id of [HOLDER.operators, HOLDER.alice, HOLDER.bob, HOLDER.carol, HOLDER.admins, p(2), HOLDER.uaa, HOLDER.eligible]) expect(holders.has(id), id).toBe(true);
    expect(holders.has(HOLDER.breakGlass)).toBe(false);
    expect(holders.has(HOLDER.rbacReaderOnly)).toBe(false);
    expect(crit?.exposure).toContainEqual({
      principalId: HOLDER.carol,
      principalType: "User",
      displayName: "Carol",
      right: "assign",
      roleName: "Managed Identity Operator",
      scope: RG,
      roleAssignmentId: ASSIGNMENT.operators,
      viaGroup: HOLDER.operators,
    });
  });

  it("the access-review report's identities (one read of the estate, the sweep's) have the inventory's grades, reasons and holders", async () => {
    target = await startTarget(privilegeEstate());
    const inventory = await collectInventory(target.clients, { policy: PRIVILEGE_POLICY });
    const report = await collectReport(target.clients, PRIVILEGE_POLICY);
    const summary = (identities: Array<{ name: string; grade?: string | null; gradeReasons?: unknown[]; exposure?: unknown[] }>) =>
      identities.map((identity) => ({ name: identity.name, grade: identity.grade, gradeReasons: identity.gradeReasons, exposure: identity.exposure })).sort((a, b) => a.name.localeCompare(b.name));
    expect(summary(report.identities)).toEqual(summary(inventory.identities));
    expect(report.identities.find((identity) => identity.name === "id-via-group")?.grade).toBe("critical");
  });

  it("the estate's own AKS cluster is trusted, and read only because a credential trusts an AKS issuer", async () => {
    target = await startTarget(privilegeEstate());
    const report = await runSweep(target.clients, PRIVILEGE_POLICY);
    expect(report.findings.some((item) => item.subjectId.endsWith("/own-aks"))).toBe(false);
    expect(AKS_ISSUER).toContain("oic.prod-aks.azure.com");
  });
});

describe("privilege: failures are incomplete, never 'no privilege'", () => {
  it("group members that cannot be read: the group stays a holder with unknown members, and the check is incomplete", async () => {
    const estate = privilegeEstate();
    estate.emulator.faults = [{ service: "graph", pathContains: "transitiveMembers", status: 403, rate: 1 }];
    target = await startTarget(estate);
    const report = await runSweep(target.clients, PRIVILEGE_POLICY);
    const check = report.incomplete.find((entry) => entry.check === "group-members");
    expect(check?.affected).toBe(4);
    // The empty group and the group of excluded members now count: nobody knows who is in them.
    const holders = report.findings.filter((item) => item.ruleId === "privileged-identity-exposed" && item.subjectId === CRIT.id).map((item) => item.relatedId);
    expect(holders).toEqual(expect.arrayContaining([HOLDER.operators, HOLDER.empty, HOLDER.excludedOnly]));
    expect(report.findings.find((item) => item.relatedId === HOLDER.empty)?.evidence["membersUnknown"]).toBe(true);
  });

  it("a throttled batch item is retried after its own Retry-After and the sweep is complete", async () => {
    const estate = privilegeEstate();
    estate.emulator.faults = [{ service: "graph", pathContains: "transitiveMembers", status: 429, rate: 1, count: 2, retryAfterSeconds: 0 }];
    target = await startTarget(estate);
    const report = await runSweep(target.clients, PRIVILEGE_POLICY);
    expect(report.incomplete.map((entry) => entry.check)).toEqual(["role-definitions"]);
    expect(keys(report.findings)).toEqual(EXPECTED);
    expect(target.emulator.requests.filter((request) => /\$batch$/i.test(request.path))).toHaveLength(2);
  });

  it("directory roles, Graph permissions and eligibility that cannot be read are incomplete, and the Entra findings are not concluded", async () => {
    const estate = privilegeEstate();
    estate.emulator.faults = [
      { service: "graph", pathContains: "roleManagement", status: 403, rate: 1 },
      { service: "graph", pathContains: "appRoleAssignedTo", status: 403, rate: 1 },
      { service: "arm", pathContains: "roleEligibilityScheduleInstances", status: 403, rate: 1 },
    ];
    target = await startTarget(estate);
    const report = await runSweep(target.clients, PRIVILEGE_POLICY);
    expect(report.incomplete.map((entry) => entry.check).sort()).toEqual(["entra-roles", "entra-roles", "graph-app-roles", "role-definitions", "role-eligibility"]);
    expect(report.findings.filter((item) => item.ruleId === "identity-privileged-in-entra")).toEqual([]);
    // The grades that do not depend on them stand.
    expect(report.findings.some((item) => item.ruleId === "privileged-identity-exposed" && item.subjectId === CRIT.id)).toBe(true);
  });
});

describe("privilege: the event rule uses the new grades", () => {
  const targets = azuriteTargets();
  it("a User Access Administrator grant over identities graded by a group, PIM, a directory role is reported; a Reader-only RBAC Administrator is not", async () => {
    const planted = privilegeEstate();
    const ra = (n: number, scope: string) => `${scope}/providers/Microsoft.Authorization/roleAssignments/d0000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
    const grant = (id: string, role: string, extra: Record<string, unknown> = {}) => ({ id, name: id.split("/").pop() ?? "", type: "Microsoft.Authorization/roleAssignments", properties: { scope: S, roleDefinitionId: `${S}/providers/Microsoft.Authorization/roleDefinitions/${role}`, principalId: HOLDER.bob, principalType: "User", createdOn: "2026-01-01T00:00:00Z", ...extra } });
    const uaa = grant(ra(1, S), "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9");
    const readerOnly = grant(ra(2, S), "f58310d9-a9f6-439a-9e8d-f62e7b41a168", { condition: "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {acdd72a7-3385-48ef-bd42-f606fba81ae7}))", conditionVersion: "2.0" });
    planted.roleAssignments.push(uaa as never, readerOnly as never);
    const target = await targets.start(planted);
    const deps = eventDependencies(target.clients, PRIVILEGE_POLICY);
    await seedEventStores(planted, deps);
    const claims = { appid: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "http://schemas.microsoft.com/identity/claims/objectidentifier": "dddddddd-0000-0000-0000-0000000000bb", "http://schemas.microsoft.com/identity/claims/scope": "user_impersonation" };
    const event = (id: string, resourceUri: string) => ({ id, eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: "2026-11-20T10:00:00Z", subject: resourceUri, dataVersion: "2", metadataVersion: "1", data: { operationName: "Microsoft.Authorization/roleAssignments/write", resourceUri, status: "Succeeded", subscriptionId: SUB, claims } });
    const report = await replayEvents([event("e1", uaa.id), event("e2", readerOnly.id)], deps);
    const granted = report.findings.filter((finding) => finding.ruleId === "identity-assign-right-granted");
    expect(granted.map((finding) => [finding.subjectId, finding.relatedId?.split("/").pop(), finding.severity]).sort()).toEqual(
      [
        [uaa.id, "id-au", "high"],
        [uaa.id, "id-crit", "critical"],
        [uaa.id, "id-entra", "critical"],
        [uaa.id, "id-graph", "critical"],
        [uaa.id, "id-pim", "critical"],
        [uaa.id, "id-via-group", "critical"],
      ].sort(),
    );
    expect(granted[0]?.evidence["rights"]).toEqual(["grant"]);
    expect(granted[0]?.title).toContain("Bob (User)");
  });
});
