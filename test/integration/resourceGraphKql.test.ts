import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSweep } from "../../shared/engine/sweep.js";
import { defaultPolicy } from "../../shared/config/policy.js";
import { readLastSignIns } from "../../shared/azure/signIns.js";
import type { Estate } from "../../local/emulator/estate.js";
import { emptyEstate, guid, identityResource, startTarget, SUB, TENANT, type TestTarget } from "../helpers/estate.js";
import { CONTRIBUTOR, MG as MG_CORP, MI_OPERATOR, OWNER, READER, SUB2 } from "../helpers/privilegeEstate.js";

/**
 * Resource Graph queries executed by the emulator: ad-hoc queries the product never sends get the rows
 * Resource Graph would give; what Resource Graph refuses is refused in its error shape; the request's
 * scope (subscriptions, managementGroups, authorizationScopeFilter) decides which rows exist at all.
 */

const BIN = fileURLToPath(new URL("../../bin/uami-guard.js", import.meta.url));
const MG_SANDBOX = "/providers/Microsoft.Management/managementGroups/mg-sandbox";

const role = (scope: string, guidOf: string) => `${scope === "/" ? "" : scope}/providers/Microsoft.Authorization/roleDefinitions/${guidOf}`;
function assignment(name: string, scope: string, roleGuid: string, principalId: string, createdOn: string, principalType = "ServicePrincipal") {
  return {
    id: `${scope === "/" ? "" : scope}/providers/Microsoft.Authorization/roleAssignments/${guid(name.length, name.replace(/[^0-9a-f]/g, "").padEnd(4, "0").slice(0, 8))}`,
    name,
    properties: { scope, roleDefinitionId: role(`/subscriptions/${SUB}`, roleGuid), principalId, principalType, createdOn },
  };
}

function identity(name: string, subscription: string, resourceGroup: string, n: number, tags: Record<string, string>) {
  const base = identityResource(name, guid(n, "a"), guid(n, "c"), tags, resourceGroup);
  return { ...base, id: base.id.replace(SUB, subscription) };
}

const ID_A = identity("id-a", SUB, "rg-app", 1, { owner: "team-a", env: "prod" });
const ID_B = identity("id-b", SUB, "rg-data", 2, {});
const ID_C = identity("id-c", SUB2, "rg-lab", 3, { env: "dev" });
const ID_D = identity("id-d", SUB, "rg-app", 4, {});

const ASSIGNMENTS = [
  assignment("ra-root", "/", OWNER, "0000a000-0000-4000-8000-0000000000f1", "2024-01-01T00:00:00Z", "User"),
  assignment("ra-mg", MG_CORP, CONTRIBUTOR, guid(1, "a"), "2024-05-01T00:00:00Z"),
  assignment("ra-mg-sandbox", MG_SANDBOX, READER, guid(3, "a"), "2024-05-02T00:00:00Z"),
  assignment("ra-sub1", `/subscriptions/${SUB}`, READER, guid(2, "a"), "2026-01-01T00:00:00Z"),
  assignment("ra-rg1", `/subscriptions/${SUB}/resourceGroups/rg-app`, MI_OPERATOR, "0000a000-0000-4000-8000-0000000000f2", "2025-01-01T00:00:00Z", "User"),
  assignment("ra-sub2", `/subscriptions/${SUB2}`, OWNER, guid(3, "a"), "2025-03-01T00:00:00Z"),
];

function estate(): Estate {
  const vm = (name: string, subscription: string, resourceGroup: string, tags: Record<string, string>, identityBlock: unknown) => ({
    id: `/subscriptions/${subscription}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/virtualMachines/${name}`,
    name,
    type: "Microsoft.Compute/virtualMachines",
    location: "uksouth",
    tags,
    identity: identityBlock,
  });
  return emptyEstate({
    subscriptions: [
      { subscriptionId: SUB, displayName: "corp-prod", managementGroupAncestorsChain: [{ name: "mg-corp", displayName: "Corp" }, { name: TENANT, displayName: "Tenant Root Group" }] },
      { subscriptionId: SUB2, displayName: "sandbox", managementGroupAncestorsChain: [{ name: "mg-sandbox" }, { name: TENANT }] },
    ],
    resources: [
      ID_A,
      ID_B,
      ID_C,
      ID_D,
      vm("vm-1", SUB, "rg-app", { env: "Prod" }, { type: "SystemAssigned, UserAssigned", principalId: guid(9, "5a"), userAssignedIdentities: { [ID_A.id]: { principalId: guid(1, "a"), clientId: guid(1, "c") }, [ID_B.id]: { principalId: guid(2, "a"), clientId: guid(2, "c") } } }),
      // Another spelling of the identity's id, as resources written by other tools carry it.
      vm("vm-2", SUB2, "rg-lab", { env: "dev" }, { type: "UserAssigned", userAssignedIdentities: { [ID_C.id.replace("/resourceGroups/", "/resourcegroups/")]: { principalId: guid(3, "a"), clientId: guid(3, "c") } } }),
      { id: `/subscriptions/${SUB}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/st-1`, name: "st-1", type: "Microsoft.Storage/storageAccounts", location: "ukwest", tags: { env: "prod" } },
    ],
    roleAssignments: ASSIGNMENTS,
    roleDefinitions: [
      { id: role(`/subscriptions/${SUB}`, "c1c1c1c1-0000-4000-8000-000000000001"), name: "c1c1c1c1-0000-4000-8000-000000000001", properties: { roleName: "Deployer S1", type: "CustomRole", permissions: [{ actions: ["*"] }], assignableScopes: [`/subscriptions/${SUB}`] } },
      { id: role(MG_CORP, "c2c2c2c2-0000-4000-8000-000000000002"), name: "c2c2c2c2-0000-4000-8000-000000000002", properties: { roleName: "MG Deployer", type: "CustomRole", permissions: [{ actions: ["*"] }], assignableScopes: [MG_CORP] } },
    ],
    directory: [
      { id: guid(1, "a"), "@odata.type": "#microsoft.graph.servicePrincipal", servicePrincipalType: "ManagedIdentity", displayName: "id-a" },
      { id: guid(2, "a"), "@odata.type": "#microsoft.graph.servicePrincipal", servicePrincipalType: "ManagedIdentity", displayName: "id-b" },
    ],
    signIns: [
      { servicePrincipalId: guid(1, "a"), lastSignIn: new Date(Date.now() - 10 * 86_400_000).toISOString() },
      { servicePrincipalId: guid(2, "a"), lastSignIn: new Date(Date.now() - 400 * 86_400_000).toISOString() },
    ],
  } as unknown as Partial<Estate>);
}

let target: TestTarget;
beforeAll(async () => {
  target = await startTarget(estate());
});
afterAll(async () => {
  await target.stop();
});

interface Answer {
  status: number;
  body: { data?: Array<Record<string, unknown>>; $skipToken?: string; resultTruncated?: string; totalRecords?: number; error?: { code: string; details?: Array<Record<string, unknown>> } };
}

async function query(text: string, request: { subscriptions?: string[]; managementGroups?: string[]; options?: Record<string, unknown> } = {}): Promise<Answer> {
  const response = await target.clients.arm
    .pathUnchecked("/providers/Microsoft.ResourceGraph/resources")
    .post({ queryParameters: { "api-version": "2022-10-01" }, body: { query: text, ...request, options: { resultFormat: "objectArray", ...request.options } }, contentType: "application/json" });
  return { status: Number(response.status), body: response.body as Answer["body"] };
}

async function rows(text: string, request: Parameters<typeof query>[1] = {}): Promise<Array<Record<string, unknown>>> {
  const answer = await query(text, request);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body.data ?? [];
}

const names = async (text: string, request: Parameters<typeof query>[1] = {}): Promise<unknown[]> => (await rows(text, request)).map((row) => row["name"]);

describe("ad-hoc queries get the rows Resource Graph would give", () => {
  it("where with =~ on lower-cased types and dynamic tags, project, order by", async () => {
    expect(await rows("Resources | where type =~ 'Microsoft.Compute/virtualMachines' and tags['env'] =~ 'prod' | project name, resourceGroup | order by name asc")).toEqual([{ name: "vm-1", resourceGroup: "rg-app" }]);
    // Resource Graph answers type (and the resources table's resourceGroup) in lower case.
    expect(await rows("resources | where name == 'vm-1' | project type")).toEqual([{ type: "microsoft.compute/virtualmachines" }]);
    expect(await rows("resources | where type == 'Microsoft.Compute/virtualMachines' | count")).toEqual([{ Count: 0 }]);
  });

  it("mv-expand of a property bag's keys, extend over a column, summarize make_set and count by", async () => {
    const lower = (id: string) => id.toLowerCase();
    expect(
      await rows(`resources
        | where isnotnull(identity.userAssignedIdentities)
        | mv-expand uai = bag_keys(identity.userAssignedIdentities)
        | extend uai = tolower(tostring(uai))
        | summarize holders = make_set(name), n = count() by uai
        | order by uai asc`),
    ).toEqual([
      { uai: lower(ID_A.id), holders: ["vm-1"], n: 1 },
      { uai: lower(ID_B.id), holders: ["vm-1"], n: 1 },
      { uai: lower(ID_C.id), holders: ["vm-2"], n: 1 },
    ]);
  });

  it("join kind=leftouter keeps identities attached nowhere; countif over the right side", async () => {
    expect(
      await rows(`resources
        | where type =~ 'microsoft.managedidentity/userassignedidentities'
        | project identityId = tolower(id), identityName = name
        | join kind=leftouter (
            resources
            | where isnotnull(identity.userAssignedIdentities)
            | mv-expand uai = bag_keys(identity.userAssignedIdentities)
            | project identityId = tolower(tostring(uai)), holder = name
          ) on identityId
        | summarize holders = countif(isnotempty(holder)) by identityName
        | order by identityName asc`),
    ).toEqual([
      { identityName: "id-a", holders: 1 },
      { identityName: "id-b", holders: 1 },
      { identityName: "id-c", holders: 1 },
      { identityName: "id-d", holders: 0 },
    ]);
  });

  it("authorizationresources with split, negative index, in~ and datetime comparisons", async () => {
    expect(
      await rows(`authorizationresources
        | where type =~ 'microsoft.authorization/roleassignments'
        | extend roleGuid = tostring(split(tostring(properties.roleDefinitionId), '/')[-1])
        | where roleGuid in~ ('8E3AF657-A8FF-443C-A75C-2FE8C4BCB635', '${CONTRIBUTOR}')
        | project name, scope = tostring(properties.scope)
        | order by name asc`),
    ).toEqual([
      { name: "ra-mg", scope: MG_CORP },
      { name: "ra-root", scope: "/" },
      { name: "ra-sub2", scope: `/subscriptions/${SUB2}` },
    ]);
    expect(await names("authorizationresources | where type =~ 'microsoft.authorization/roleassignments' and todatetime(properties.createdOn) >= datetime(2025-06-01) | project name")).toEqual(["ra-sub1"]);
    expect(await rows("authorizationresources | where type =~ 'microsoft.authorization/roleassignments' and todatetime(properties.createdOn) > ago(3650d) | count")).toEqual([{ Count: 6 }]);
  });

  it("string operators: startswith, !endswith, contains (and _cs), has on a term", async () => {
    expect(await rows("resources | where name startswith 'ID-' and name !endswith 'd' | count")).toEqual([{ Count: 3 }]);
    expect(await names("resources | where name contains 'VM' | project name | order by name asc")).toEqual(["vm-1", "vm-2"]);
    expect(await rows("resources | where name contains_cs 'VM' | count")).toEqual([{ Count: 0 }]);
    expect(await names("resources | where tags has 'team' | project name")).toEqual(["id-a"]);
    expect(await names("resources | where tags !has 'team' and name has_any ('st', 'vm-2') | project name | order by name asc")).toEqual(["st-1", "vm-2"]);
  });

  it("case, coalesce, strcat; top; distinct; project-away; scalar functions", async () => {
    expect(
      await rows(`resources
        | extend kindOf = case(type =~ 'microsoft.compute/virtualmachines', 'vm', type has 'userassignedidentities', 'identity', 'other'),
                 label = strcat(name, '@', coalesce(tostring(tags.env), 'none'))
        | summarize n = count(), labels = make_list(label) by kindOf
        | order by kindOf asc`),
    ).toEqual([
      { kindOf: "identity", n: 4, labels: ["id-a@prod", "id-b@none", "id-c@dev", "id-d@none"] },
      { kindOf: "other", n: 1, labels: ["st-1@prod"] },
      { kindOf: "vm", n: 2, labels: ["vm-1@Prod", "vm-2@dev"] },
    ]);
    expect(await names("resources | top 2 by name desc | project name")).toEqual(["vm-2", "vm-1"]);
    expect((await rows("resources | distinct location")).map((row) => row["location"]).sort()).toEqual(["uksouth", "ukwest"]);
    expect(Object.keys((await rows("resources | where name == 'st-1' | project-away properties, tags, identity, sku, plan, zones, extendedLocation, managedBy, ['kind'], tenantId"))[0] ?? {})).toEqual(["id", "name", "type", "location", "resourceGroup", "subscriptionId"]);
    const vm = (await rows("resources | where name == 'vm-1' | project short = substring(name, 0, 2), len = strlen(name), at = indexof(id, '/providers/'), big = iff(strlen(name) > 3, 'yes', 'no'), n = toint('42'), rg = extract('/resourceGroups/([^/]+)/', 1, id)"))[0];
    expect(vm).toEqual({ short: "vm", len: 4, at: `/subscriptions/${SUB}/resourceGroups/rg-app`.length, big: "yes", n: 42, rg: "rg-app" });
  });

  it("union of ResourceContainers and Resources; resourcecontainers lists subscriptions, resource groups and management groups", async () => {
    expect(await names("resourcecontainers | where type =~ 'microsoft.resources/subscriptions' | project id, name | union (resources | where name == 'st-1' | project id, name) | order by name asc")).toEqual(["corp-prod", "sandbox", "st-1"]);
    const chain = (await rows(`resourcecontainers | where type =~ 'microsoft.resources/subscriptions' and subscriptionId == '${SUB}' | project chain = properties.managementGroupAncestorsChain`))[0]?.["chain"] as Array<{ name: string }>;
    expect(chain.map((entry) => entry.name)).toEqual(["mg-corp", TENANT]);
    expect((await names("resourcecontainers | where type =~ 'microsoft.resources/subscriptions/resourcegroups' | project name")).sort()).toEqual(["rg-app", "rg-data", "rg-lab"]);
    expect((await names("resourcecontainers | where type =~ 'microsoft.management/managementgroups' | project name")).sort()).toEqual(["mg-corp", "mg-sandbox", TENANT].sort());
  });

  it("a query may start with an operator: Resources is the default table", async () => {
    expect(await names("where name == 'st-1' | project name")).toEqual(["st-1"]);
  });

  it("a comment is only a comment: the old tag before another query gets that query's rows; a tag alone is refused", async () => {
    expect(await names("// uami-guard:identities\nresources | where type =~ 'microsoft.compute/virtualmachines' | project name | order by name asc")).toEqual(["vm-1", "vm-2"]);
    expect((await query("// uami-guard:identities")).status).toBe(400);
  });
});

describe("what Resource Graph refuses: 400 BadRequest, details InvalidQuery and the reason", () => {
  it("a misspelt column names itself, line and position", async () => {
    const answer = await query("resources\n| project idd");
    expect(answer.status).toBe(400);
    expect(answer.body.error?.code).toBe("BadRequest");
    expect(answer.body.error?.details?.[0]).toMatchObject({ code: "InvalidQuery" });
    expect(answer.body.error?.details?.[1]).toMatchObject({ token: "idd", line: 2, characterPositionInLine: 10 });
  });

  it.each([
    ["a syntax error", "resources | where name =="],
    ["an unknown table", "resourcez | take 1"],
    ["an unknown function", "resources | where foo(name)"],
    ["parse (not in Resource Graph)", "resources | parse id with * '/providers/' provider"],
    ["evaluate", "resources | evaluate bag_unpack(tags)"],
    ["a join flavor Resource Graph lacks", "resources | join kind=rightouter (resources | project id) on id"],
    ["a custom join strategy", "resources | join hint.strategy=broadcast (resources | project id) on id"],
    ["four joins", "resources | join (resources) on id | join (resources) on id | join (resources) on id | join (resources) on id"],
    ["mv-expand past its 400-row limit", "resources | mv-expand k = bag_keys(tags) limit 1000"],
    ["a function the emulator does not evaluate", "resources | extend h = hash_sha256(name)"],
    ["a let statement", "let x = 1; resources | take 1"],
  ])("%s", async (_what, text) => {
    const answer = await query(text);
    expect([answer.status, answer.body.error?.details?.[0]?.["code"]], JSON.stringify(answer.body)).toEqual([400, "InvalidQuery"]);
  });

  it("the product's client turns it into a failure, never an empty result", async () => {
    await expect(target.clients.resourceGraph.resources({ query: "resources | project idd" })).rejects.toMatchObject({ statusCode: 400 });
  });
});

describe("scope: subscriptions, managementGroups, authorizationScopeFilter", () => {
  const assignmentNames = (request: Parameters<typeof query>[1]) =>
    names("authorizationresources | where type =~ 'microsoft.authorization/roleassignments' | project name | order by name asc", request).then((list) => [...list].sort());

  it("subscriptions and management groups narrow every table", async () => {
    const s1 = ["id-a", "id-b", "id-d", "st-1", "vm-1"];
    expect(await names("resources | project name | order by name asc", { subscriptions: [SUB] })).toEqual(s1);
    expect(await names("resources | project name | order by name asc", { managementGroups: ["mg-corp"] })).toEqual(s1);
    expect((await names("resources | project name", { managementGroups: [TENANT] })).length).toBe(7);
    expect((await query("resources | take 1", { subscriptions: [SUB], managementGroups: ["mg-corp"] })).status).toBe(400);
  });

  it("AtScopeAndBelow (the default) lets nothing from above reach a subscription; the other filters add or take", async () => {
    expect(await assignmentNames({ subscriptions: [SUB] })).toEqual(["ra-rg1", "ra-sub1"]);
    expect(await assignmentNames({ subscriptions: [SUB], options: { authorizationScopeFilter: "AtScopeAboveAndBelow" } })).toEqual(["ra-mg", "ra-rg1", "ra-root", "ra-sub1"]);
    expect(await assignmentNames({ subscriptions: [SUB], options: { authorizationScopeFilter: "AtScopeAndAbove" } })).toEqual(["ra-mg", "ra-root", "ra-sub1"]);
    expect(await assignmentNames({ subscriptions: [SUB], options: { authorizationScopeFilter: "AtScopeExact" } })).toEqual(["ra-sub1"]);
    expect(await assignmentNames({ managementGroups: ["mg-corp"] })).toEqual(["ra-mg", "ra-rg1", "ra-sub1"]);
    expect(await assignmentNames({})).toEqual(ASSIGNMENTS.map((entry) => entry.name).sort());
    expect((await query("resources | take 1", { options: { authorizationScopeFilter: "Everything" } })).status).toBe(400);
  });

  it("role definitions: built-in ones live at the root, custom ones where they were made", async () => {
    const definitions = (request: Parameters<typeof query>[1]) => names("authorizationresources | where type =~ 'microsoft.authorization/roledefinitions' | project name = tostring(properties.roleName)", request);
    expect(await definitions({ subscriptions: [SUB] })).toEqual(["Deployer S1"]);
    const inherited = await definitions({ subscriptions: [SUB], options: { authorizationScopeFilter: "AtScopeAboveAndBelow" } });
    expect(inherited).toEqual(expect.arrayContaining(["Deployer S1", "MG Deployer", "Owner", "Reader"]));
    expect(await definitions({ subscriptions: [SUB2], options: { authorizationScopeFilter: "AtScopeAboveAndBelow" } })).not.toContain("MG Deployer");
  });

  it("a sweep narrowed to a subscription still grades the grant inherited from its management group", async () => {
    const report = await runSweep(target.clients, defaultPolicy(), { subscriptions: [SUB] });
    const broad = report.findings.filter((finding) => finding.ruleId === "privileged-role-broad-scope").map((finding) => [finding.subjectId, finding.severity]);
    expect(broad).toContainEqual([ASSIGNMENTS[1]?.id, "high"]);
  });

  it("so does the CLI's sweep --subscription, and the other subscription's grants stay out", () => {
    const file = join(mkdtempSync(join(tmpdir(), "uami-guard-kql-")), "estate.json");
    writeFileSync(file, JSON.stringify(estate()));
    const run = spawnSync(process.execPath, [BIN, "sweep", "--estate", file, "--subscription", "corp-prod", "--output", "json"], { encoding: "utf8", timeout: 60_000, env: { ...process.env, UAMI_GUARD_POLICY: "" } });
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { findings: Array<{ ruleId: string; subjectId: string; severity: string }> };
    const subjects = report.findings.map((finding) => finding.subjectId);
    expect(report.findings.filter((finding) => finding.ruleId === "privileged-role-broad-scope").map((finding) => [finding.subjectId, finding.severity])).toContainEqual([ASSIGNMENTS[1]?.id, "high"]);
    expect(subjects).not.toContain(ASSIGNMENTS[5]?.id);
  });
});

describe("paging and result formats", () => {
  let big: TestTarget;
  beforeAll(async () => {
    big = await startTarget(emptyEstate({ resources: Array.from({ length: 1500 }, (_, n) => identityResource(`id-${n}`, guid(n, "aaaa"), guid(n, "cccc"))) } as Partial<Estate>));
  });
  afterAll(async () => {
    await big.stop();
  });
  const post = async (body: Record<string, unknown>): Promise<Answer> => {
    const response = await big.clients.arm.pathUnchecked("/providers/Microsoft.ResourceGraph/resources").post({ queryParameters: { "api-version": "2022-10-01" }, body, contentType: "application/json" });
    return { status: Number(response.status), body: response.body as Answer["body"] };
  };

  it("without an id column: the first page and resultTruncated 'true', no $skipToken", async () => {
    const answer = await post({ query: "resources | project name", options: { $top: 1000 } });
    expect([answer.body.data?.length, answer.body.resultTruncated, answer.body.$skipToken, answer.body.totalRecords]).toEqual([1000, "true", undefined, 1500]);
  });

  it("with id: $skipToken to the next page, resultTruncated 'false'; a token of another query is refused", async () => {
    const first = await post({ query: "resources | project id, name | order by id asc", options: { $top: 1000 } });
    expect([first.body.data?.length, first.body.resultTruncated, typeof first.body.$skipToken]).toEqual([1000, "false", "string"]);
    const second = await post({ query: "resources | project id, name | order by id asc", options: { $top: 1000, $skipToken: first.body.$skipToken } });
    expect([second.body.data?.length, second.body.$skipToken]).toEqual([500, undefined]);
    expect((await post({ query: "resources | project id | order by id desc", options: { $skipToken: first.body.$skipToken } })).status).toBe(400);
    expect((await post({ query: "resources | project id", options: { $top: 1001 } })).status).toBe(400);
  });

  it("resultFormat table: columns with types, rows as arrays", async () => {
    const answer = await post({ query: "resources | summarize n = count()", options: { resultFormat: "table" } });
    expect(answer.body.data).toEqual({ columns: [{ name: "n", type: "long" }], rows: [[1500]] });
  });
});

describe("Log Analytics runs the sign-in query too", () => {
  it("last sign-in per principal within the lookback, from AADManagedIdentitySignInLogs", async () => {
    const seen = await readLastSignIns(target.clients, "workspace-1", 90);
    expect([...seen.keys()]).toEqual([guid(1, "a")]);
  });
});
