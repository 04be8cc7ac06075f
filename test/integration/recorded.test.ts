import { afterEach, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { parseEstate, type Estate } from "../../local/emulator/estate.js";
import { toFederatedCredential } from "../../shared/azure/federatedCredentials.js";
import { listRoleAssignmentsFor, readResourceIdentity } from "../../shared/azure/arm.js";
import { deleteRoleAssignment, readRoleAssignmentRaw, recreateRoleAssignment } from "../../shared/azure/armActions.js";
import { idKey } from "../../shared/model.js";
import { runSweep } from "../../shared/engine/sweep.js";
import { defaultPolicy } from "../../shared/config/policy.js";
import { startTarget, type TestTarget } from "../helpers/estate.js";

/**
 * Azure's recorded answers (test/fixtures/azure-cli, test/fixtures/azure-rest-api-specs; each file names
 * its source and commit) replayed against the emulator: every request gets the status Azure gave, and the
 * answers carry what Azure's did. Then the recorded answers themselves are read by the product's adapters.
 */

interface Interaction {
  request: { method: string; uri: string; body?: unknown };
  response: { status: number; body?: unknown; headers?: Record<string, string> };
}
interface Recording {
  source: { repository: string; path: string; commit: string };
  interactions: Interaction[];
}

function recording(name: string): Recording {
  return JSON.parse(readFileSync(new URL(`../fixtures/azure-cli/${name}`, import.meta.url), "utf8")) as Recording;
}
function example(name: string): { parameters: Record<string, unknown>; responses: Record<string, { body: Record<string, unknown> }> } {
  return JSON.parse(readFileSync(new URL(`../fixtures/azure-rest-api-specs/${name}`, import.meta.url), "utf8"));
}

const SUB = "00000000-0000-0000-0000-000000000000";
const TENANT = "4b71fe15-44c6-47b7-94ac-5a6b2cc290e9";

let target: TestTarget | undefined;
afterEach(async () => {
  await target?.stop();
  target = undefined;
});

/** The request of a recorded interaction, sent to the emulator through the generic ARM client. */
async function send(request: Interaction["request"]): Promise<{ status: number; body: unknown; headers: Record<string, string> }> {
  const url = new URL(request.uri);
  const path = `${url.pathname}${url.search}`;
  const client = target!.clients.arm.pathUnchecked(path);
  const options = request.body === undefined ? {} : { body: request.body, contentType: "application/json" };
  const method = request.method.toLowerCase() as "get" | "put" | "patch" | "delete";
  const response = await client[method](options);
  return { status: Number(response.status), body: response.body, headers: response.headers as Record<string, string> };
}

const keysOf = (value: unknown): string[] => Object.keys((value ?? {}) as object).sort();

describe("role assignments as recorded (role_assignment_create_update.json)", () => {
  const recorded = recording("role_assignment_create_update.json");
  const listed = (recorded.interactions[4]?.response.body as { value: Array<{ id: string; properties: { scope: string } }> }).value;

  /** The tenant the recording ran in: the assignments it listed above the resource group, CliMgmtGroup above the subscription. */
  function estate(): Estate {
    return parseEstate(
      {
        tenantId: TENANT,
        subscriptions: [{ subscriptionId: SUB, managementGroupAncestorsChain: [{ name: "CliMgmtGroup" }, { name: TENANT }] }],
        directory: [{ id: "06651546-4121-4ccd-a25d-13fe0422467e", "@odata.type": "#microsoft.graph.user", displayName: "tester123" }],
        roleAssignments: listed.filter((assignment) => !assignment.id.includes("88888888")),
      },
      "recorded tenant",
    );
  }

  it("every request gets Azure's status; the answers keep condition, conditionVersion, description and the null properties", async () => {
    target = await startTarget(estate());
    for (const [index, interaction] of recorded.interactions.entries()) {
      const answer = await send(interaction.request);
      expect([index, answer.status]).toEqual([index, interaction.response.status]);
      const want = interaction.response.body as { properties?: Record<string, unknown>; value?: Array<{ id: string }> };
      const got = answer.body as typeof want;
      if (want.value) {
        expect(got.value?.map((item) => item.id).sort()).toEqual(want.value.map((item) => item.id).sort());
        continue;
      }
      expect(keysOf(got)).toEqual(keysOf(want));
      expect(keysOf(got.properties)).toEqual(keysOf(want.properties));
      for (const key of ["roleDefinitionId", "principalId", "principalType", "scope", "condition", "conditionVersion", "description", "delegatedManagedIdentityResourceId"]) {
        expect([index, key, got.properties?.[key]]).toEqual([index, key, want.properties?.[key]]);
      }
    }
  });

  it("the event path's principalId list at a subscription meets the grants inherited from the root and the management group", async () => {
    target = await startTarget(estate());
    const rootGrant = listed.find((assignment) => assignment.properties.scope === "/");
    const mgGrant = listed.find((assignment) => assignment.properties.scope.includes("managementGroups"));
    for (const grant of [rootGrant, mgGrant]) {
      const principal = (grant as unknown as { properties: { principalId: string } }).properties.principalId;
      const found = await listRoleAssignmentsFor(target.clients, SUB, principal);
      expect(found.map((assignment) => assignment.id)).toContain(grant?.id);
    }
  });
});

describe("a delegation-conditioned assignment through delete and restore", () => {
  it("keeps condition, conditionVersion, description and the delegated managed identity", async () => {
    // Role Based Access Control Administrator constrained to granting Reader (Learn "Delegate Azure role
    // assignment management using conditions", the condition form that portal writes).
    const id = `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.Authorization/roleAssignments/5b0b3a1c-0000-4000-8000-000000000001`;
    const properties = {
      scope: `/subscriptions/${SUB}/resourceGroups/rg-app`,
      roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/f58310d9-a9f6-439a-9e8d-f62e7b41a168`,
      principalId: "06651546-4121-4ccd-a25d-13fe0422467e",
      principalType: "User",
      condition: "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {acdd72a7-3385-48ef-bd42-f606fba81ae7}))",
      conditionVersion: "2.0",
      description: "May grant Reader only",
      delegatedManagedIdentityResourceId: `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-lighthouse`,
    };
    target = await startTarget(
      parseEstate(
        {
          tenantId: TENANT,
          subscriptions: [{ subscriptionId: SUB }],
          directory: [{ id: properties.principalId, "@odata.type": "#microsoft.graph.user", displayName: "tester123" }],
          roleAssignments: [{ id, name: id.split("/").pop(), properties: { ...properties, createdOn: "2026-01-01T00:00:00Z", updatedOn: "2026-01-01T00:00:00Z" } }],
        },
        "conditioned",
      ),
    );
    const prior = await readRoleAssignmentRaw(target.clients, id);
    expect(await deleteRoleAssignment(target.clients, id)).toBe("deleted");
    expect(await recreateRoleAssignment(target.clients, prior!.body)).toBe("created");
    const after = (await readRoleAssignmentRaw(target.clients, id))?.body["properties"] as Record<string, unknown>;
    expect(after).toMatchObject(properties);
  });
});

describe("a VM's identity writes as recorded (vm_explicit_msi.json)", () => {
  const recorded = recording("vm_explicit_msi.json");
  const vmBefore = recorded.interactions[2]?.response.body as Record<string, unknown> & { etag?: string };
  const { etag: _etag, ...vm } = vmBefore;

  function estate(asyncArm: boolean): Estate {
    return parseEstate({ tenantId: TENANT, subscriptions: [{ subscriptionId: SUB }], resources: [vm], ...(asyncArm ? { emulator: { asyncArm: { operationMs: 150 } } } : {}) }, "recorded VM");
  }

  async function untilSucceeded(operationUrl: string): Promise<Record<string, unknown>> {
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const answer = await send({ method: "GET", uri: operationUrl });
      const status = (answer.body as { status?: string }).status;
      if (status !== "InProgress") return answer.body as Record<string, unknown>;
      await sleep(20);
    }
    throw new Error("the operation never finished");
  }

  it("asynchronous Compute: 200 Updating with Azure-AsyncOperation, the new entry {} until the operation is done", async () => {
    target = await startTarget(estate(true));
    const [createId1, createId2, getVm, assign, firstPoll, afterAssign, remove, removePoll, removeDone, afterRemove] = recorded.interactions as Interaction[] & { length: 10 };
    for (const create of [createId1, createId2]) {
      const answer = await send(create!.request);
      expect(answer.status).toBe(create!.response.status);
      // The Managed Identity provider spells `resourcegroups`, whatever the request said.
      expect((answer.body as { id: string }).id).toBe((create!.response.body as { id: string }).id);
    }
    expect((await send(getVm!.request)).status).toBe(200);
    const assigned = await send(assign!.request);
    expect(assigned.status).toBe(assign!.response.status);
    const body = assigned.body as { identity: { type: string; userAssignedIdentities: Record<string, object> }; properties: { provisioningState: string } };
    const wanted = assign!.response.body as typeof body;
    expect(body.properties.provisioningState).toBe("Updating");
    expect(body.identity.type).toBe(wanted.identity.type);
    expect(Object.keys(body.identity.userAssignedIdentities)).toEqual(Object.keys(wanted.identity.userAssignedIdentities));
    expect(Object.values(body.identity.userAssignedIdentities).map(keysOf)).toEqual(Object.values(wanted.identity.userAssignedIdentities).map(keysOf));
    expect(assigned.headers["azure-asyncnotification"]).toBe("Enabled");
    const operation = assigned.headers["azure-asyncoperation"] ?? "";
    expect(new URL(operation).pathname).toMatch(/^\/subscriptions\/0{8}-0{4}-0{4}-0{4}-0{12}\/providers\/Microsoft\.Compute\/locations\/westus\/operations\/[0-9a-f-]{36}$/);
    const polled = await send({ method: "GET", uri: operation });
    expect([polled.status, keysOf(polled.body)]).toEqual([firstPoll!.response.status, keysOf(firstPoll!.response.body)]);
    expect((polled.body as { status: string }).status).toBe("InProgress");
    expect(keysOf(await untilSucceeded(operation))).toEqual(keysOf(removeDone!.response.body));
    const settled = await send(afterAssign!.request);
    const entries = (settled.body as typeof body).identity.userAssignedIdentities;
    expect(Object.values(entries).map(keysOf)).toEqual([["clientId", "principalId"], ["clientId", "principalId"]]);
    const removed = await send(remove!.request);
    expect([removed.status, (removed.body as { identity?: unknown }).identity, (removed.body as typeof body).properties.provisioningState]).toEqual([200, undefined, "Updating"]);
    expect(keysOf((await send({ method: "GET", uri: removed.headers["azure-asyncoperation"] ?? "" })).body)).toEqual(keysOf(removePoll!.response.body));
    await untilSucceeded(removed.headers["azure-asyncoperation"] ?? "");
    const last = await send(afterRemove!.request);
    expect([last.status, (last.body as { identity?: unknown }).identity, (last.body as typeof body).properties.provisioningState]).toEqual([200, undefined, "Succeeded"]);
  });

  it("synchronous answers (no asyncArm): the same requests get the same statuses, the final state at once", async () => {
    target = await startTarget(estate(false));
    for (const interaction of recorded.interactions.filter((item) => !item.request.uri.includes("/operations/"))) {
      const answer = await send(interaction.request);
      expect([interaction.request.method, answer.status]).toEqual([interaction.request.method, interaction.response.status]);
    }
  });

  it("a sweep of the recorded objects: identities spelled resourcegroups, attached by ids spelled resourceGroups, are attached and not dangling", async () => {
    const settled = recorded.interactions[5]?.response.body as { identity: { userAssignedIdentities: Record<string, { principalId: string }> } };
    const identities = [recorded.interactions[0], recorded.interactions[1]].map((interaction) => interaction?.response.body as { id: string; name: string; properties: { principalId: string } });
    target = await startTarget(
      parseEstate(
        {
          tenantId: TENANT,
          subscriptions: [{ subscriptionId: SUB }],
          resources: [...identities, { ...vm, identity: settled.identity }],
          directory: identities.map((identity) => ({ id: identity.properties.principalId, "@odata.type": "#microsoft.graph.servicePrincipal", servicePrincipalType: "ManagedIdentity", displayName: identity.name })),
        },
        "recorded objects",
      ),
    );
    const report = await runSweep(target.clients, defaultPolicy());
    const about = (ruleId: string) => report.findings.filter((finding) => finding.ruleId === ruleId);
    expect(about("unattached-identity")).toEqual([]);
    expect(about("dangling-identity-reference")).toEqual([]);
    expect(report.summary.identities).toBe(2);
  });

  it("the product reads the recorded VM: identity ids in another casing than the identities' own are the same identities", async () => {
    const settled = recorded.interactions[5]?.response.body as { identity: { userAssignedIdentities: Record<string, unknown> } };
    const created = [recorded.interactions[0], recorded.interactions[1]].map((interaction) => (interaction?.response.body as { id: string }).id);
    target = await startTarget(parseEstate({ tenantId: TENANT, subscriptions: [{ subscriptionId: SUB }], resources: [{ ...vm, identity: settled.identity }] }, "recorded VM"));
    const read = await readResourceIdentity(target.clients, (vm as { id: string }).id, "2024-11-01");
    expect(read?.identityType).toBe("SystemAssigned, UserAssigned");
    expect(read?.userAssignedIdentityIds.map(idKey).sort()).toEqual(created.map(idKey).sort());
    expect(created.every((id) => id.includes("/resourcegroups/"))).toBe(true);
  });
});

describe("federated identity credentials as recorded (federated_identity_credential.json, FlexibleFederatedIdentityCredential*.json)", () => {
  const recorded = recording("federated_identity_credential.json");

  it("every request gets Azure's status and Azure's body; ids with resourcegroups in lower case", async () => {
    target = await startTarget(parseEstate({ tenantId: "54826b22-38d6-4fb2-bad9-b7b93a3e9c5a", subscriptions: [{ subscriptionId: SUB }] }, "empty"));
    for (const [index, interaction] of recorded.interactions.entries()) {
      const answer = await send(interaction.request);
      expect([index, answer.status]).toEqual([index, interaction.response.status]);
      if (index === 0) {
        // The identity itself: its principal and client ids are new ones.
        expect((answer.body as { id: string }).id).toBe((interaction.response.body as { id: string }).id);
        continue;
      }
      expect([index, answer.body === undefined ? "" : answer.body]).toEqual([index, interaction.response.body]);
    }
  });

  it("a flexible credential (claimsMatchingExpression, no subject) is created and read back whole", async () => {
    const create = example("FlexibleFederatedIdentityCredentialCreate.json");
    const get = example("FlexibleFederatedIdentityCredentialGet.json");
    const created = create.responses["201"]?.body as { id: string };
    const identityId = created.id.slice(0, created.id.indexOf("/federatedIdentityCredentials/")).replace("/resourcegroups/", "/resourceGroups/");
    target = await startTarget(
      parseEstate(
        {
          tenantId: TENANT,
          subscriptions: [{ subscriptionId: "c267c0e7-0a73-4789-9e17-d26aeb0904e5" }],
          resources: [{ id: identityId, name: "identityName", type: "Microsoft.ManagedIdentity/userAssignedIdentities", location: "westus", properties: { principalId: "p", clientId: "c", tenantId: TENANT } }],
        },
        "flexible credential",
      ),
    );
    const uri = `https://management.azure.com${identityId}/federatedIdentityCredentials/ficResourceName?api-version=2025-01-31-preview`;
    const body = (create.parameters["parameters"] as Record<string, unknown>);
    const first = await send({ method: "PUT", uri, body });
    expect([first.status, first.body]).toEqual([201, create.responses["201"]?.body]);
    const read = await send({ method: "GET", uri });
    expect([read.status, read.body]).toEqual([200, get.responses["200"]?.body]);
    const again = await send({ method: "PUT", uri, body });
    expect([again.status, again.body]).toEqual([200, create.responses["200"]?.body]);
    // Neither subject nor expression, or both: Azure refuses.
    const properties = body["properties"] as Record<string, unknown>;
    for (const bad of [{ issuer: properties["issuer"], audiences: properties["audiences"] }, { ...properties, subject: "repo:contoso/app:ref:refs/heads/main" }]) {
      expect((await send({ method: "PUT", uri, body: { properties: bad } })).status).toBe(400);
    }
  });

  it("the product's adapter reads recorded and flexible credentials", () => {
    const listedAnswer = recorded.interactions[4]?.response.body as { value: Array<{ id: string }> };
    const identityId = listedAnswer.value[0]!.id.replace(/\/federatedIdentityCredentials\/.*$/, "");
    expect(listedAnswer.value.map((entry) => toFederatedCredential(entry, identityId)?.subject)).toEqual(["system:serviceaccount:ns:svcaccount1", "system:serviceaccount:ns:svcaccount2"]);
    const flexible = example("FlexibleFederatedIdentityCredentialGet.json").responses["200"]?.body as { id: string };
    expect(toFederatedCredential(flexible, identityId)).toMatchObject({
      subject: "",
      issuer: "https://oidc.prod-aks.azure.com/TenantGUID/IssuerGUID",
      claimsMatchingExpression: { value: "claims['sub'] matches system:serviceaccount:ns:*", languageVersion: 1 },
    });
  });
});
