import { afterEach, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { runSweep } from "../../shared/engine/sweep.js";
import { collectInventory } from "../../shared/engine/inventory.js";
import { defaultPolicy } from "../../shared/config/policy.js";
import { readRoleDefinition } from "../../shared/azure/arm.js";
import { readRoleDefinitions } from "../../shared/azure/estateReader.js";
import { queryPages } from "../../shared/azure/resourceGraph.js";
import { listFederatedCredentials } from "../../shared/azure/federatedCredentials.js";
import { QUERIES } from "../../shared/azure/queries.js";
import type { Estate } from "../../local/emulator/estate.js";
import type { Identity } from "../../shared/model.js";
import { emptyEstate, guid, identityResource, startTarget, SUB, type TestTarget } from "../helpers/estate.js";

let target: TestTarget | undefined;
afterEach(async () => {
  await target?.stop();
  target = undefined;
});

const CUSTOM = "c0c0c0c0-0000-4000-8000-000000000001";
const customRoleId = `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${CUSTOM}`;
const builtInRoles = JSON.parse(readFileSync(new URL("../../local/emulator/data/builtin-roles.json", import.meta.url), "utf8")) as Array<{ name: string; properties: { roleName: string; permissions: Array<Record<string, string[]>> } }>;

function identities(count: number): Estate["resources"] {
  return Array.from({ length: count }, (_, n) => identityResource(`id-${n}`, guid(n, "aaaa"), guid(n, "cccc"), { owner: "o", environment: "prod" })) as Estate["resources"];
}

function ficOf(identityName: string, name: string) {
  return {
    id: `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${identityName}/federatedIdentityCredentials/${name}`,
    name,
    properties: { issuer: "https://token.actions.githubusercontent.com", subject: `repo:contoso/${identityName}:environment:prod`, audiences: ["api://AzureADTokenExchange"] },
  };
}

/** An estate whose custom role uses the casing Resource Graph shows (`Actions`), held at subscription scope by identity 0. */
function customRoleEstate(casing: "arm" | "resourceGraph"): Estate {
  const permission = casing === "arm" ? { actions: ["*"], notActions: [] } : { Actions: ["*"], NotActions: [], DataActions: [], NotDataActions: [] };
  return emptyEstate({
    resources: identities(1),
    roleDefinitions: [{ id: customRoleId, name: CUSTOM, type: "Microsoft.Authorization/roleDefinitions", properties: { roleName: "Deployer", type: "CustomRole", permissions: [permission], assignableScopes: [`/subscriptions/${SUB}`] } }],
    roleAssignments: [
      {
        id: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments/${guid(1, "ra")}`,
        name: guid(1, "ra"),
        properties: { scope: `/subscriptions/${SUB}`, roleDefinitionId: customRoleId, principalId: guid(0, "aaaa"), principalType: "ServicePrincipal", createdOn: "2025-01-01T00:00:00Z" },
      },
    ],
    directory: [{ id: guid(0, "aaaa"), "@odata.type": "#microsoft.graph.servicePrincipal", servicePrincipalType: "ManagedIdentity", displayName: "id-0" }],
    // The estate is parsed like a file: either casing is accepted there.
  } as unknown as Partial<Estate>);
}

describe("role definitions: Azure's casing per API, built-in roles with their real permissions", () => {
  it.each(["arm", "resourceGraph"] as const)("grades a custom * role critical whichever casing the estate used (%s)", async (casing) => {
    target = await startTarget(customRoleEstate(casing));
    const report = await runSweep(target.clients, defaultPolicy());
    const privileged = report.findings.filter((finding) => finding.ruleId === "privileged-role-broad-scope");
    expect(privileged.map((finding) => [finding.severity, finding.evidence["roleName"]])).toEqual([["critical", "Deployer"]]);
  });

  it("Resource Graph answers Actions/NotActions/DataActions/NotDataActions, ARM actions/notActions/dataActions/notDataActions", async () => {
    target = await startTarget(customRoleEstate("arm"));
    const rows: Array<Record<string, unknown>> = [];
    for await (const page of queryPages(target.clients.resourceGraph, target.clients.resourceGraphPacer, { query: QUERIES.roleDefinitions })) rows.push(...page);
    const custom = rows.find((row) => row["name"] === CUSTOM) as { permissions: Array<Record<string, unknown>> };
    expect(Object.keys(custom.permissions[0] ?? {}).sort()).toEqual(["Actions", "DataActions", "NotActions", "NotDataActions"]);
    const response = await target.clients.arm.path(customRoleId).get({ queryParameters: { "api-version": "2022-04-01" } });
    const permissions = (response.body as { properties: { permissions: Array<Record<string, unknown>> } }).properties.permissions;
    expect(Object.keys(permissions[0] ?? {}).sort()).toEqual(["actions", "dataActions", "notActions", "notDataActions"]);
  });

  it("serves every built-in role of builtin-roles.json from Resource Graph and ARM with its permissions", async () => {
    target = await startTarget(emptyEstate());
    const fromGraph = new Map((await readRoleDefinitions(target.clients)).map((definition) => [definition.name, definition]));
    for (const role of builtInRoles) {
      const expected = role.properties.permissions.map((permission) => ({
        actions: permission["actions"] ?? [],
        notActions: permission["notActions"] ?? [],
        dataActions: permission["dataActions"] ?? [],
        notDataActions: permission["notDataActions"] ?? [],
      }));
      expect(fromGraph.get(role.name)).toMatchObject({ roleName: role.properties.roleName, roleType: "BuiltInRole", permissions: expected });
      const fromArm = await readRoleDefinition(target.clients, `/providers/Microsoft.Authorization/roleDefinitions/${role.name}`);
      expect(fromArm).toMatchObject({ roleName: role.properties.roleName, permissions: expected });
    }
    expect(builtInRoles).toHaveLength(24);
  });
});

describe("federated credentials through ARM", () => {
  it("lists each identity's credentials with one ARM call per identity; Resource Graph is never asked for them", async () => {
    target = await startTarget(emptyEstate({ resources: identities(3), federatedCredentials: [ficOf("id-1", "github-prod")] } as Partial<Estate>));
    const report = await runSweep(target.clients, defaultPolicy());
    // id-1 is used by a GitHub workflow only: not unattached.
    expect(report.findings.filter((finding) => finding.ruleId === "unattached-identity").map((finding) => finding.subjectId.split("/").pop())).toEqual(["id-0", "id-2"]);
    const lists = target.emulator.requests.filter((request) => request.service === "arm" && /\/federatedIdentityCredentials$/i.test(request.path));
    expect(lists).toHaveLength(3);
    const inventory = await collectInventory(target.clients);
    expect(inventory.identities.find((identity) => identity.name === "id-1")?.federatedCredentials).toEqual([
      { id: ficOf("id-1", "github-prod").id, issuer: "https://token.actions.githubusercontent.com", subject: "repo:contoso/id-1:environment:prod" },
    ]);
  });

  it("the emulator's credential list follows a PUT and a DELETE (its per-identity index is rebuilt on change)", async () => {
    target = await startTarget(emptyEstate({ resources: identities(2), federatedCredentials: [ficOf("id-1", "github-prod")] } as Partial<Estate>));
    const base = ficOf("id-1", "x").id.replace(/\/x$/, "");
    const names = async (): Promise<string[]> => {
      const response = await target!.clients.arm.path(base).get({ queryParameters: { "api-version": "2023-01-31" } });
      return ((response.body as { value: Array<{ name: string }> }).value ?? []).map((credential) => credential.name);
    };
    expect(await names()).toEqual(["github-prod"]);
    const added = ficOf("id-1", "github-dev");
    await target.clients.arm.path(added.id).put({ queryParameters: { "api-version": "2023-01-31" }, body: { properties: added.properties } });
    expect(await names()).toEqual(["github-prod", "github-dev"]);
    await target.clients.arm.path(ficOf("id-1", "github-prod").id).delete({ queryParameters: { "api-version": "2023-01-31" } });
    expect(await names()).toEqual(["github-dev"]);
  });

  it("the emulator answers no Resource Graph query for federated credentials (Azure has no table for them)", async () => {
    target = await startTarget(emptyEstate());
    const query = "resources | where type =~ 'microsoft.managedidentity/userassignedidentities/federatedidentitycredentials' | project id";
    const pages = queryPages(target.clients.resourceGraph, target.clients.resourceGraphPacer, { query });
    await expect(pages.next()).rejects.toThrow(/400|InvalidQuery|not in Resource Graph/);
  });

  it("the listing's lean pipeline is still the SDK's: a 429 is retried after its Retry-After; an identity deleted since (404) has none", async () => {
    // ARM throttling answers 429 with Retry-After (Learn "Understand how Azure Resource Manager throttles requests").
    target = await startTarget(
      emptyEstate({
        resources: identities(2),
        federatedCredentials: [ficOf("id-1", "github-prod")],
        emulator: { latencyMs: 0, seed: 1, faults: [{ service: "arm", status: 429, rate: 1, count: 1, retryAfterSeconds: 1, pathContains: "/id-1/federatedIdentityCredentials" }] },
      } as Partial<Estate>),
    );
    const started = Date.now();
    const listed: Identity[] = ["id-0", "id-1", "id-deleted"].map((name, n) => ({
      id: ficOf(name, "x").id.replace(/\/federatedIdentityCredentials\/x$/, ""),
      name,
      subscriptionId: SUB,
      resourceGroup: "rg-app",
      location: "uksouth",
      tags: {},
      principalId: guid(n, "aaaa"),
      clientId: guid(n, "cccc"),
      tenantId: guid(0, "tttt"),
    }));
    const listing = await listFederatedCredentials(target.clients, listed);
    expect(listing.failed).toEqual([]);
    expect(listing.credentials.map((credential) => credential.name)).toEqual(["github-prod"]);
    const calls = target.emulator.requests.filter((request) => request.service === "arm" && /\/id-1\/federatedIdentityCredentials$/i.test(request.path));
    expect(calls.map((request) => request.status).slice(-2)).toEqual([429, 200]);
    expect(target.emulator.requests.filter((request) => /\/id-deleted\/federatedIdentityCredentials$/i.test(request.path)).map((request) => request.status)).toEqual([404]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
  });

  it("an identity whose credentials ARM would not list is unknown: incomplete, never unattached", async () => {
    target = await startTarget(
      emptyEstate({ resources: identities(2), emulator: { latencyMs: 0, seed: 1, faults: [{ service: "arm", status: 500, rate: 1, pathContains: "/id-1/federatedIdentityCredentials" }] } } as Partial<Estate>),
    );
    const report = await runSweep(target.clients, defaultPolicy());
    expect(report.findings.filter((finding) => finding.ruleId === "unattached-identity").map((finding) => finding.subjectId.split("/").pop())).toEqual(["id-0"]);
    expect(report.incomplete).toEqual([expect.objectContaining({ check: "federated-credentials", affected: 1 })]);
    await expect(collectInventory(target.clients)).rejects.toThrow(/federated credentials of 1 identities/);
  });

  it("stays inside ARM's read bucket: one call per identity, no 429 (scaled bucket: 20, refill 25/s)", async () => {
    target = await startTarget(emptyEstate({ resources: identities(70), emulator: { latencyMs: 0, seed: 1, faults: [], armQuota: { reads: [20, 25] } } } as Partial<Estate>));
    const started = Date.now();
    const report = await runSweep(target.clients, defaultPolicy());
    const elapsed = Date.now() - started;
    const arm = target.emulator.requests.filter((request) => request.service === "arm");
    expect(arm.filter((request) => request.status === 429)).toEqual([]);
    expect(arm.filter((request) => /\/federatedIdentityCredentials$/i.test(request.path))).toHaveLength(70);
    expect(report.incomplete).toEqual([]);
    // (70 - 20) / 25 per second: the bucket cannot answer sooner.
    expect(elapsed).toBeGreaterThanOrEqual(1_900);
  });

  it("the emulator sends the remaining-reads header on every ARM answer when the estate asks for the bucket", async () => {
    target = await startTarget(emptyEstate({ resources: identities(1), emulator: { latencyMs: 0, seed: 1, faults: [], armQuota: true } } as Partial<Estate>));
    const id = `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-0`;
    const first = await target.clients.arm.path(id).get({ queryParameters: { "api-version": "2023-01-31" } });
    expect(first.headers["x-ms-ratelimit-remaining-subscription-reads"]).toBe("249");
    const tenantLevel = await target.clients.arm.path("/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7").get({ queryParameters: { "api-version": "2022-04-01" } });
    expect(tenantLevel.headers["x-ms-ratelimit-remaining-tenant-reads"]).toBe("249");
  });
});
