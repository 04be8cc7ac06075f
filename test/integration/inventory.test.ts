import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpRequest, InvocationContext } from "@azure/functions";
import { collectInventory } from "../../shared/engine/inventory.js";
import { identitiesHandler } from "../../functions/identities.js";
import { defaultPolicy } from "../../shared/config/policy.js";
import { readAppSettings } from "../../shared/config/settings.js";
import { loadFixture, SUB, startTarget, type TestTarget } from "../helpers/estate.js";

const RG = `/subscriptions/${SUB}/resourceGroups/rg-app/providers`;
const APP = `${RG}/Microsoft.ManagedIdentity/userAssignedIdentities/id-app-prod-uks-01`;

let target: TestTarget;
beforeAll(async () => {
  target = await startTarget(loadFixture("small-estate.json"));
});
afterAll(() => target.stop());

describe("inventory over the emulator", () => {
  it("reports every identity with its three ids, attachments, role assignments and federated credentials", async () => {
    const inventory = await collectInventory(target.clients);
    expect(inventory.identities.map((identity) => identity.name)).toEqual(["id-app-prod-uks-01", "id-orphan-holder"]);
    const app = inventory.identities[0];
    expect(app).toMatchObject({
      id: APP,
      clientId: "cccccccc-0000-0000-0000-000000000001",
      principalId: "aaaaaaaa-0000-0000-0000-000000000001",
      resourceGroup: "rg-app",
      location: "uksouth",
      tags: { owner: "team-a", environment: "prod" },
      attachedTo: [`${RG}/Microsoft.Compute/virtualMachines/vm1`],
      roleAssignments: [
        {
          id: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments/00000000-0000-0000-0000-0000000000a1`,
          scope: `/subscriptions/${SUB}`,
          roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635`,
          roleName: "Owner",
        },
      ],
      federatedCredentials: [
        { id: `${APP}/federatedIdentityCredentials/github-prod`, issuer: "https://token.actions.githubusercontent.com", subject: "repo:contoso/app:environment:prod" },
      ],
    });
  });

  it("filters by subscription", async () => {
    const inventory = await collectInventory(target.clients, { subscriptions: ["33333333-3333-3333-3333-333333333333"] });
    expect(inventory.identities).toEqual([]);
  });
});

describe("GET /api/identities", () => {
  it("serves the inventory as JSON", async () => {
    const handler = identitiesHandler(async () => ({ settings: readAppSettings({}), policy: defaultPolicy(), clients: target.clients }));
    const context = new InvocationContext({ functionName: "identities", invocationId: "test" });
    const response = await handler(new HttpRequest({ method: "GET", url: "http://localhost/api/identities" }), context);
    expect(response.status).toBe(200);
    const body = (response as { jsonBody?: unknown }).jsonBody as { identities: Array<{ name: string }> };
    expect(body.identities.map((identity) => identity.name)).toEqual(["id-app-prod-uks-01", "id-orphan-holder"]);
  });

  it("answers 502, not an empty inventory, when Resource Graph fails", async () => {
    const failing = await startTarget({ ...loadFixture("small-estate.json"), emulator: { latencyMs: 0, seed: 1, faults: [{ service: "resourceGraph", status: 500, rate: 1 }] } });
    try {
      const handler = identitiesHandler(async () => ({ settings: readAppSettings({}), policy: defaultPolicy(), clients: failing.clients }));
      const context = new InvocationContext({ functionName: "identities", invocationId: "test", logHandler: () => undefined });
      const response = await handler(new HttpRequest({ method: "GET", url: "http://localhost/api/identities" }), context);
      expect(response.status).toBe(502);
    } finally {
      await failing.stop();
    }
  });
});
