import { afterEach, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { readRoleAssignment, readRoleDefinition } from "../../shared/azure/arm.js";
import { readIdentities } from "../../shared/azure/estateReader.js";
import { listFederatedCredentials, toFederatedCredential } from "../../shared/azure/federatedCredentials.js";
import { toRolePermissions } from "../../shared/azure/rolePermissions.js";
import { queryPages } from "../../shared/azure/resourceGraph.js";
import { QUERIES } from "../../shared/azure/queries.js";
import { parseEstate, type Estate } from "../../local/emulator/estate.js";
import { startTarget, TENANT, type TestTarget } from "../helpers/estate.js";

/** Microsoft's example files (test/fixtures/azure-rest-api-specs/README.md names path and commit of each). */
function example(name: string): { parameters: Record<string, unknown>; responses: { "200": { body: Record<string, unknown> } } } {
  return JSON.parse(readFileSync(new URL(`../fixtures/azure-rest-api-specs/${name}`, import.meta.url), "utf8"));
}
const body = (name: string) => example(name).responses["200"].body;
const keys = (value: unknown): string[] => Object.keys((value ?? {}) as object).sort();

let target: TestTarget | undefined;
afterEach(async () => {
  await target?.stop();
  target = undefined;
});

const roleDefinition = body("GetRoleDefinitionById.json") as { id: string; name: string; properties: { permissions: unknown[] } };
const roleAssignment = body("RoleAssignments_GetById.json") as { id: string; name: string; properties: Record<string, string> };
const identity = body("IdentityGet.json") as { id: string; name: string; properties: Record<string, string> };
const ficList = body("FederatedIdentityCredentialList.json") as { value: Array<{ id: string; name: string; properties: Record<string, unknown> }> };
const [fic] = ficList.value;
const ficIdentityId = fic!.id.slice(0, fic!.id.indexOf("/federatedIdentityCredentials/"));

/** An estate made of the examples' own bodies (the estate format is ARM-shaped). */
function examplesEstate(): Estate {
  return parseEstate(
    {
      tenantId: TENANT,
      resources: [identity, { ...identity, id: ficIdentityId, name: "identityName" }].filter((resource, index, all) => all.findIndex((other) => other.id.toLowerCase() === resource.id.toLowerCase()) === index),
      roleDefinitions: [roleDefinition],
      roleAssignments: [roleAssignment],
      federatedCredentials: ficList.value,
    },
    "azure-rest-api-specs examples",
  );
}

describe("adapters read Microsoft's example shapes", () => {
  it("role definition (ARM casing) → permissions with all four lists", () => {
    expect(toRolePermissions(roleDefinition.properties.permissions)).toEqual([{ actions: ["action"], notActions: [], dataActions: ["dataAction"], notDataActions: [] }]);
  });

  it("federated credential list entry → the plain credential", () => {
    expect(toFederatedCredential(fic, ficIdentityId)).toEqual({
      id: fic!.id,
      name: "ficResourceName",
      identityId: ficIdentityId,
      issuer: "https://oidc.prod-aks.azure.com/TenantGUID/IssuerGUID",
      subject: "system:serviceaccount:ns:svcaccount",
      audiences: ["api://AzureADTokenExchange"],
    });
  });
});

describe("the emulator answers with the examples' property names and casing", () => {
  it("ARM role definition GET", async () => {
    target = await startTarget(examplesEstate());
    const response = await target.clients.arm.path(roleDefinition.id).get({ queryParameters: { "api-version": "2022-04-01" } });
    const served = response.body as typeof roleDefinition & { properties: Record<string, unknown> };
    expect(keys(served)).toEqual(keys(roleDefinition));
    expect(keys(served.properties)).toEqual(keys(roleDefinition.properties));
    expect(keys(served.properties["permissions"] && (served.properties["permissions"] as unknown[])[0])).toEqual(keys(roleDefinition.properties.permissions[0]));
    expect(await readRoleDefinition(target.clients, roleDefinition.id)).toMatchObject({ roleName: "Role name", permissions: [{ actions: ["action"], dataActions: ["dataAction"] }] });
  });

  it("ARM role assignment GET by id", async () => {
    target = await startTarget(examplesEstate());
    const response = await target.clients.arm.path(roleAssignment.id).get({ queryParameters: { "api-version": "2022-04-01" } });
    const served = response.body as typeof roleAssignment;
    expect(keys(served)).toEqual(keys(roleAssignment));
    for (const key of keys(roleAssignment.properties)) expect(served.properties[key]).toBe(roleAssignment.properties[key]);
    expect(await readRoleAssignment(target.clients, roleAssignment.id)).toEqual({
      id: roleAssignment.id,
      scope: roleAssignment.properties["scope"],
      roleDefinitionId: roleAssignment.properties["roleDefinitionId"],
      principalId: roleAssignment.properties["principalId"],
      principalType: "User",
    });
  });

  it("user-assigned identity GET, and the identity read through Resource Graph", async () => {
    target = await startTarget(examplesEstate());
    const response = await target.clients.arm.path(identity.id).get({ queryParameters: { "api-version": "2023-01-31" } });
    const served = response.body as typeof identity;
    expect(keys(served)).toEqual(keys(identity));
    expect(keys(served.properties)).toEqual(keys(identity.properties));
    const [read] = await readIdentities(target.clients);
    expect(read).toMatchObject({ id: identity.id, principalId: identity.properties["principalId"], clientId: identity.properties["clientId"], tags: { key1: "value1", key2: "value2" } });
  });

  it("federated credential list: the REST call of @azure/arm-msi, through the lean ARM GET", async () => {
    target = await startTarget(examplesEstate());
    const response = await target.clients.arm.path(`${ficIdentityId}/federatedIdentityCredentials`).get({ queryParameters: { "api-version": "2023-01-31" } });
    const served = (response.body as typeof ficList).value[0];
    expect(keys(served)).toEqual(keys(fic));
    expect(keys(served?.properties)).toEqual(keys(fic!.properties));
    const [read] = await readIdentities(target.clients);
    const listing = await listFederatedCredentials(target.clients, [{ ...read!, id: ficIdentityId, name: "identityName", subscriptionId: "subid", resourceGroup: "rgName" }]);
    expect(listing.credentials.map((credential) => credential.subject)).toEqual(["system:serviceaccount:ns:svcaccount"]);
  });

  it("Resource Graph first page: the same envelope, resultTruncated a string, $skipToken when more pages follow", async () => {
    target = await startTarget(examplesEstate());
    const response = await target.clients.resourceGraph.resources({ query: QUERIES.roleDefinitions, options: { top: 3, resultFormat: "objectArray" } }, {});
    const expected = body("ResourcesFirstPageQuery.json");
    expect(typeof response.resultTruncated).toBe(typeof expected["resultTruncated"]);
    expect(response.skipToken).toEqual(expect.any(String));
    let raw: Record<string, unknown> | undefined;
    await target.clients.resourceGraph.resources({ query: QUERIES.roleDefinitions, options: { top: 3, resultFormat: "objectArray" } }, { onResponse: (answer) => (raw = answer.parsedBody as unknown as Record<string, unknown>) });
    expect(keys(raw)).toEqual(keys(expected));
    let pages = 0;
    for await (const page of queryPages(target.clients.resourceGraph, target.clients.resourceGraphPacer, { query: QUERIES.roleDefinitions, pageSize: 3 })) pages += page.length > 0 ? 1 : 0;
    expect(pages).toBeGreaterThan(1);
  });
});
