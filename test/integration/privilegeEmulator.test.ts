import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { graphNextLink, graphPages, listDirectoryRoleAssignments, listGraphAppRoleAssignments } from "../../shared/azure/entra.js";
import { listRoleEligibilities } from "../../shared/azure/eligibility.js";
import { GroupExpander } from "../../shared/azure/groupMembers.js";
import { queryPages } from "../../shared/azure/resourceGraph.js";
import { QUERIES } from "../../shared/azure/queries.js";
import { toRoleAssignment } from "../../shared/azure/estateReader.js";
import type { Estate } from "../../local/emulator/estate.js";
import type { GroupMember } from "../../shared/model.js";
import { emptyEstate, startTarget, SUB, TENANT, type TestTarget } from "../helpers/estate.js";
import { ASSIGNMENT, ELIGIBILITY, GRAPH_SP, HOLDER, MG, OPERATOR_ONLY, privilegeEstate, S, SUB2 } from "../helpers/privilegeEstate.js";

/** The emulator's Graph and ARM additions, through the adapters and real pipelines that call them. */
let target: TestTarget | undefined;
afterEach(async () => {
  await target?.stop();
  target = undefined;
});

const raw = async (path: string, init: { method?: string; body?: unknown } = {}) => {
  const response = await target!.clients.graph.pathUnchecked(path).post({ body: init.body, contentType: "application/json" });
  return { status: Number(response.status), body: response.body as Record<string, unknown> };
};

describe("emulator: Microsoft Graph privilege reads", () => {
  it("appRoleAssignedTo of Graph's service principal by appId, paged with @odata.nextLink", async () => {
    const estate = privilegeEstate();
    for (let n = 0; n < 5; n += 1) estate.appRoleAssignments.push({ id: `extra-${n}`, principalId: `c0000000-0000-4000-8000-00000000000${n}`, principalType: "ServicePrincipal", resourceId: GRAPH_SP, appRoleId: "df021288-bdef-4463-88db-98f22de89214" });
    target = await startTarget(estate);
    const pages: number[] = [];
    for await (const page of graphPages(target.clients, "/v1.0/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')/appRoleAssignedTo", { $top: "2" }, "test")) pages.push(page.length);
    expect(pages).toEqual([2, 2, 2]);
    const grants = await listGraphAppRoleAssignments(target.clients);
    expect(grants).toHaveLength(6);
    expect(grants[0]).toMatchObject({ id: "ara-graph-rm", principalType: "ServicePrincipal", principalDisplayName: "id-graph", resourceId: GRAPH_SP });
  });

  it("no Graph service principal in the tenant: 404, which the adapter reads as no permission granted", async () => {
    target = await startTarget(emptyEstate());
    expect(await listGraphAppRoleAssignments(target.clients)).toEqual([]);
    const response = await target.clients.graph.pathUnchecked("/v1.0/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')/appRoleAssignedTo").get();
    expect(Number(response.status)).toBe(404);
  });

  it("directory role assignments with the principal expanded", async () => {
    target = await startTarget(privilegeEstate());
    const grants = await listDirectoryRoleAssignments(target.clients);
    expect(grants.find((grant) => grant.id === "dra-entra-ga")).toEqual({ id: "dra-entra-ga", principalId: "a0000000-0000-4000-8000-000000000003", principalType: "ServicePrincipal", principalDisplayName: "id-entra", roleDefinitionId: "62e90394-69f5-4237-9190-012177145e10", directoryScopeId: "/", eligible: false });
    const filtered = await target.clients.graph.pathUnchecked("/v1.0/roleManagement/directory/roleAssignments").get({ queryParameters: { $filter: "principalId eq 'nobody'" } });
    expect((filtered.body as { value: unknown[] }).value).toEqual([]);
  });

  it("transitiveMembers expands nested groups (each member once) and honours $select; transitiveMemberOf answers the other way", async () => {
    target = await startTarget(privilegeEstate());
    const members = await target.clients.graph.pathUnchecked(`/v1.0/groups/${HOLDER.operators}/transitiveMembers`).get({ queryParameters: { $select: "id,displayName" } });
    expect((members.body as { value: unknown[] }).value).toEqual([
      { "@odata.type": "#microsoft.graph.user", id: HOLDER.alice, displayName: "Alice" },
      { "@odata.type": "#microsoft.graph.user", id: HOLDER.bob, displayName: "Bob" },
      { "@odata.type": "#microsoft.graph.group", id: HOLDER.nested, displayName: "sg-nested" },
      { "@odata.type": "#microsoft.graph.user", id: HOLDER.carol, displayName: "Carol" },
    ]);
    const memberOf = await target.clients.graph.pathUnchecked("/v1.0/servicePrincipals/a0000000-0000-4000-8000-000000000002/transitiveMemberOf").get();
    expect((memberOf.body as { value: Array<{ id: string }> }).value.map((group) => group.id)).toEqual([HOLDER.admins]);
    const unknown = await target.clients.graph.pathUnchecked("/v1.0/groups/d0000000-0000-4000-8000-000000000404/transitiveMembers").get();
    expect(Number(unknown.status)).toBe(404);
  });

  it("$batch: at most 20 requests; each answered, and throttled, on its own", async () => {
    const estate = privilegeEstate();
    estate.emulator.faults = [{ service: "graph", pathContains: HOLDER.bob, status: 429, rate: 1, retryAfterSeconds: 3 }];
    target = await startTarget(estate);
    const get = (id: string, url: string) => ({ id, method: "GET", url });
    const tooMany = await raw("/v1.0/$batch", { body: { requests: Array.from({ length: 21 }, (_, n) => get(String(n), `/groups/${HOLDER.operators}/transitiveMembers`)) } });
    expect(tooMany.status).toBe(400);
    const answered = await raw("/v1.0/$batch", {
      body: {
        requests: [
          get("1", `/groups/${HOLDER.operators}/transitiveMembers?$top=1`),
          get("2", `/groups/${HOLDER.bob}/transitiveMembers`),
          get("3", "/groups/d0000000-0000-4000-8000-000000000404/transitiveMembers"),
          { id: "4", method: "DELETE", url: `/groups/${HOLDER.operators}` },
        ],
      },
    });
    expect(answered.status).toBe(200);
    const responses = answered.body["responses"] as Array<{ id: string; status: number; headers: Record<string, string>; body: Record<string, unknown> }>;
    expect(responses.map((item) => [item.id, item.status])).toEqual([["1", 200], ["2", 429], ["3", 404], ["4", 405]]);
    expect(responses[0]?.body["@odata.nextLink"]).toMatch(new RegExp(`^${target.emulator.url}/graph/v1.0/groups/`));
    expect(responses[1]?.headers["retry-after"]).toBe("3");
  });

  it("the group expander: 25 groups in two batches, pages followed inside later batches, every member once", async () => {
    const estate = privilegeEstate();
    const many = Array.from({ length: 1200 }, (_, n) => `e0000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`);
    estate.directory.push(...many.map((id) => ({ id, "@odata.type": "#microsoft.graph.user", displayName: id })));
    const groups = Array.from({ length: 25 }, (_, n) => `f0000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`);
    estate.groups.push(...groups.map((id, n) => ({ id, displayName: `g${n}`, members: n === 0 ? many : [many[n] ?? ""] })));
    target = await startTarget(estate);
    const found = new Map<string, GroupMember[] | undefined>();
    const expander = new GroupExpander(target.clients, (groupId, members) => found.set(groupId, members));
    for (const group of groups) await expander.submit(group);
    await expander.flush();
    expect(found.get(groups[0] ?? "")).toHaveLength(1200);
    expect(found.get(groups[3] ?? "")).toEqual([{ id: many[3], type: "User", displayName: many[3] }]);
    // 20 + 5 groups, then group 0's second page (999 + 201 members).
    expect(expander.batches).toBe(3);
    expect(expander.failures()).toEqual([]);
  });

  it("the group expander: items throttled in one batch are retried together in one batch, however the clock ticks while it reads the answer", async () => {
    const estate = privilegeEstate();
    const groups = Array.from({ length: 5 }, (_, n) => `f1000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`);
    estate.groups.push(...groups.map((id, n) => ({ id, displayName: `t${n}`, members: [] })));
    estate.emulator.faults = [{ service: "graph", pathContains: "transitiveMembers", status: 429, rate: 1, count: 5, retryAfterSeconds: 0 }];
    target = await startTarget(estate);
    // A loaded machine: a millisecond passes between any two reads of the clock, so the five items' retries would be due
    // a millisecond apart and the wake-up after the first would send only those due by then (it failed `npm test` so).
    let tick = Date.now();
    const clock = vi.spyOn(Date, "now").mockImplementation(() => (tick += 1));
    try {
      const expander = new GroupExpander(target.clients, () => undefined);
      for (const group of groups) await expander.submit(group);
      await expander.flush();
      expect(expander.failures()).toEqual([]);
      expect(expander.batches).toBe(2);
    } finally {
      clock.mockRestore();
    }
  });

  it("a nextLink outside the Graph endpoint the clients call is not followed (it would get the token)", async () => {
    target = await startTarget(emptyEstate());
    expect(() => graphNextLink(target!.clients, "https://evil.example/v1.0/groups?$skiptoken=x", "test")).toThrow(/not followed/);
    expect(graphNextLink(target.clients, `${target.clients.endpoints.graph}/v1.0/groups?$skiptoken=x`, "test")).toContain("$skiptoken");
  });
});

describe("emulator: ARM roleEligibilityScheduleInstances", () => {
  it("atScope() at a subscription: the subscription and the management groups and root above it, not below", async () => {
    const estate = privilegeEstate();
    const at = (scope: string, n: number) => ({ id: `${scope === "/" ? "" : scope}/providers/Microsoft.Authorization/roleEligibilityScheduleInstances/e${n}`, properties: { scope, roleDefinitionId: "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7", principalId: HOLDER.alice, principalType: "User" } });
    estate.roleEligibilityScheduleInstances.push(at(MG, 1), at("/", 2), at(`${S}/resourceGroups/rg-app`, 3), at(`/subscriptions/${SUB2}`, 4));
    target = await startTarget(estate);
    const ids = async (scope: string) => (await listRoleEligibilities(target!.clients, scope, new Date("2026-11-20T00:00:00Z"))).map((item) => item.id.split("/").pop()).sort();
    expect(await ids(S)).toEqual(["b0000000-0000-4000-8000-000000000015", "b0000000-0000-4000-8000-000000000016", "e1", "e2"]);
    expect(await ids(MG)).toEqual(["e1", "e2"]);
    expect(await ids(`/subscriptions/${SUB2}`)).toEqual(["e1", "e2", "e4"]);
  });

  it("answers the shape of azure-rest-api-specs' example, which the SDK reads; ended eligibility is dropped; other api-versions refused", async () => {
    const example = JSON.parse(readFileSync(new URL("../fixtures/azure-rest-api-specs/GetRoleEligibilityScheduleInstancesByScope.json", import.meta.url), "utf8")) as { responses: { 200: { body: { value: Array<Record<string, unknown>> } } } };
    const sample = example.responses[200].body.value[0] ?? {};
    const estate = privilegeEstate();
    estate.roleEligibilityScheduleInstances.push({ id: `${S}/providers/Microsoft.Authorization/roleEligibilityScheduleInstances/ended`, properties: { scope: S, roleDefinitionId: `${S}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7`, principalId: HOLDER.bob, principalType: "User", endDateTime: "2026-01-01T00:00:00Z" } });
    target = await startTarget(estate);
    const response = await target.clients.arm.path(`${S}/providers/Microsoft.Authorization/roleEligibilityScheduleInstances`).get({ queryParameters: { "api-version": "2020-10-01", $filter: "atScope()" } });
    const first = (response.body as { value: Array<Record<string, unknown>> }).value.find((item) => item["id"] === ELIGIBILITY.eligibleContributor) ?? {};
    expect(Object.keys(first).sort()).toEqual(Object.keys(sample).sort());
    expect(Object.keys(first["properties"] as object).sort()).toEqual(Object.keys(sample["properties"] as object).sort());
    const listed = await listRoleEligibilities(target.clients, S, new Date("2026-11-20T00:00:00Z"));
    expect(listed.find((item) => item.id === ELIGIBILITY.eligibleContributor)).toEqual({ id: ELIGIBILITY.eligibleContributor, scope: S, roleDefinitionId: `${S}/providers/Microsoft.Authorization/roleDefinitions/e40ec5ca-96e0-45a2-b4ff-59039f2c2b59`, principalId: HOLDER.eligible, principalType: "User", principalDisplayName: "Eli Eligible" });
    expect(listed.some((item) => item.id.endsWith("/ended"))).toBe(false);
    const old = await target.clients.arm.path(`${S}/providers/Microsoft.Authorization/roleEligibilityScheduleInstances`).get({ queryParameters: { "api-version": "2015-07-01" } });
    expect(Number(old.status)).toBe(400);
  });
});

describe("emulator: Resource Graph authorizationScopeFilter and conditions", () => {
  const assignmentIds = async (options: { subscriptions?: string[]; authorizationScopeFilter?: "AtScopeAboveAndBelow" }) => {
    const ids: string[] = [];
    for await (const page of queryPages(target!.clients.resourceGraph, target!.clients.resourceGraphPacer, { query: QUERIES.roleAssignments, ...options })) for (const row of page) ids.push(String(row["id"]));
    return ids;
  };

  it("narrowed to a subscription, nothing inherited from above comes back without AtScopeAboveAndBelow", async () => {
    target = await startTarget(privilegeEstate());
    expect(await assignmentIds({ subscriptions: [SUB] })).not.toContain(ASSIGNMENT.critOwnerMg);
    expect(await assignmentIds({ subscriptions: [SUB], authorizationScopeFilter: "AtScopeAboveAndBelow" })).toContain(ASSIGNMENT.critOwnerMg);
    expect(await assignmentIds({})).toContain(ASSIGNMENT.critOwnerMg);
  });

  it("a management group outside the subscription's chain is not above it", async () => {
    const estate: Estate = privilegeEstate();
    estate.roleAssignments.push({ id: "/providers/Microsoft.Management/managementGroups/mg-other/providers/Microsoft.Authorization/roleAssignments/x1", name: "x1", properties: { scope: "/providers/Microsoft.Management/managementGroups/mg-other", roleDefinitionId: "/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635", principalId: HOLDER.bob, principalType: "User" } });
    target = await startTarget(estate);
    expect(await assignmentIds({ subscriptions: [SUB], authorizationScopeFilter: "AtScopeAboveAndBelow" })).not.toContain(estate.roleAssignments.at(-1)?.id);
    expect(TENANT).toBeTruthy();
  });

  it("the role-assignment query reads condition and conditionVersion", async () => {
    target = await startTarget(privilegeEstate());
    const rows: Array<Record<string, unknown>> = [];
    for await (const page of queryPages(target.clients.resourceGraph, target.clients.resourceGraphPacer, { query: QUERIES.roleAssignments })) rows.push(...page);
    const conditioned = rows.map((row) => toRoleAssignment(row)).find((assignment) => assignment?.id === ASSIGNMENT.rbacOperatorOnly);
    expect(conditioned).toMatchObject({ condition: OPERATOR_ONLY, conditionVersion: "2.0" });
  });
});
