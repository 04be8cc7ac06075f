import { describe, expect, it } from "vitest";
import { azuriteTargets } from "../helpers/azuriteTargets.js";
import { InvocationContext } from "@azure/functions";
import { seedEventStores } from "../../local/seed.js";
import { policySchema, type Policy } from "../../shared/config/policy.js";
import { readAppSettings } from "../../shared/config/settings.js";
import { eventDependencies } from "../../shared/composition.js";
import { replayEvents } from "../../shared/engine/replay.js";
import { onResourceEventHandler } from "../../functions/onResourceEvent.js";
import type { Estate } from "../../local/emulator/estate.js";
import { loadFixture, SUB, type TestTarget } from "../helpers/estate.js";
import { PIPELINE_APP, PIPELINE_CLAIMS, USER_CLAIMS } from "../helpers/events.js";

const RG = `/subscriptions/${SUB}/resourceGroups/rg-app`;
const VM = `${RG}/providers/Microsoft.Compute/virtualMachines/vm1`;
const ID_APP = `${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-app-prod-uks-01`;
const ID_GONE = `${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-gone`;
const RA_OWNER = `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments/00000000-0000-0000-0000-0000000000a1`;
const RA_USER = `${RG}/providers/Microsoft.Authorization/roleAssignments/00000000-0000-0000-0000-0000000000a3`;

function event(id: string, operationName: string, resourceUri: string, claims: Record<string, string> = USER_CLAIMS, eventType = "Microsoft.Resources.ResourceWriteSuccess") {
  return { id, eventType, eventTime: "2026-11-20T10:00:00Z", subject: resourceUri, dataVersion: "2", metadataVersion: "1", data: { operationName, resourceUri, status: "Succeeded", subscriptionId: SUB, claims } };
}

const POLICY: Policy = policySchema.parse({ approvedPipelines: [{ name: "deploy-rg-app", appId: PIPELINE_APP, scopes: [`/subscriptions/${SUB}/resourceGroups/rg-app`] }] });

const targets = azuriteTargets();
let target: TestTarget | undefined;

async function setup(estateChanges: (estate: Estate) => void = () => undefined, policy: Policy = POLICY) {
  const estate = loadFixture("small-estate.json");
  estate.baseline.attachments = { [VM]: [ID_APP] };
  estateChanges(estate);
  target = await targets.start(estate);
  // The app's delivery policy (infra's defaults): a failed delivery is retried, not yet undecided.
  const deps = eventDependencies(target.clients, policy, { delivery: { maxAttempts: 10, ttlMinutes: 1440 } });
  await seedEventStores(estate, deps);
  return deps;
}

const keys = (findings: Array<{ ruleId: string; subjectId: string; relatedId?: string; severity: string }>) =>
  findings.map((finding) => [finding.ruleId, finding.subjectId, finding.relatedId ?? null, finding.severity]);

describe("event handling against the emulator and Azurite", () => {
  it("a manual attachment: one finding per new identity; the duplicate delivery is dropped", async () => {
    const deps = await setup();
    const write = event("att-1", "Microsoft.Compute/virtualMachines/write", VM);
    const report = await replayEvents([write, write], deps);
    expect(keys(report.findings)).toEqual([["attachment-outside-pipeline", VM, ID_GONE, "high"]]);
    expect(report.events).toMatchObject({ processed: 1, duplicate: 1 });
    expect(await deps.baseline.get(VM)).toEqual([ID_APP, ID_GONE]);
  });

  it("out-of-order deliveries of two writes give the finding once (state is read back, not taken from the event)", async () => {
    const deps = await setup();
    const older = { ...event("ooo-1", "Microsoft.Compute/virtualMachines/write", VM), eventTime: "2026-11-20T09:00:00Z" };
    const newer = { ...event("ooo-2", "Microsoft.Compute/virtualMachines/write", VM), eventTime: "2026-11-20T10:00:00Z" };
    const report = await replayEvents([newer, older], deps);
    expect(keys(report.findings)).toEqual([["attachment-outside-pipeline", VM, ID_GONE, "high"]]);
    expect(report.events.processed).toBe(2);
  });

  it("an approved pipeline inside its scope is quiet; outside its scope it is reported", async () => {
    const deps = await setup((estate) => {
      estate.resources.push({ id: `/subscriptions/${SUB}/resourceGroups/rg-other/providers/Microsoft.Web/sites/app2`, name: "app2", type: "Microsoft.Web/sites", identity: { type: "UserAssigned", userAssignedIdentities: { [ID_APP]: {} } } });
    });
    const inside = event("scope-1", "Microsoft.Compute/virtualMachines/write", VM, PIPELINE_CLAIMS);
    const outside = event("scope-2", "Microsoft.Web/sites/write", `/subscriptions/${SUB}/resourceGroups/rg-other/providers/Microsoft.Web/sites/app2`, PIPELINE_CLAIMS);
    const report = await replayEvents([inside, outside], deps);
    expect(keys(report.findings)).toEqual([["attachment-outside-pipeline", `/subscriptions/${SUB}/resourceGroups/rg-other/providers/Microsoft.Web/sites/app2`, ID_APP, "high"]]);
    expect(report.findings[0]?.evidence["approval"]).toMatch(/acted outside its scopes/);
  });

  it("role assignments: read back from ARM, reported for managed identities only, graded critical for Owner at subscription", async () => {
    const deps = await setup();
    const report = await replayEvents(
      [event("ra-1", "Microsoft.Authorization/roleAssignments/write", RA_OWNER), event("ra-2", "Microsoft.Authorization/roleAssignments/write", RA_USER)],
      deps,
    );
    expect(keys(report.findings)).toEqual([["role-assignment-outside-pipeline", RA_OWNER, "aaaaaaaa-0000-0000-0000-000000000001", "critical"]]);
  });

  it("deleting an identity that is still attached and holds roles", async () => {
    const deps = await setup();
    // The identity is gone from ARM now; what it was (its principal) is known from the last inventory.
    target?.emulator.store.resources.delete(ID_APP.toLowerCase());
    target?.emulator.store.touch();
    const report = await replayEvents([event("del-1", "Microsoft.ManagedIdentity/userAssignedIdentities/delete", ID_APP, USER_CLAIMS, "Microsoft.Resources.ResourceDeleteSuccess")], deps);
    expect(keys(report.findings)).toEqual([
      ["identity-deleted-while-in-use", ID_APP, null, "high"],
      ["identity-change-outside-pipeline", ID_APP, null, "medium"],
    ]);
    expect(report.findings[0]?.evidence).toMatchObject({ resources: [VM], roleAssignments: [RA_OWNER] });
  });

  it("federated credentials and CloudEvents", async () => {
    const deps = await setup();
    const fic = `${ID_APP}/federatedIdentityCredentials/github-prod`;
    const base = event("fic-1", "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write", fic);
    const cloudEvent = { specversion: "1.0", id: "fic-1", type: base.eventType, source: `/subscriptions/${SUB}`, subject: fic, time: base.eventTime, data: base.data };
    const report = await replayEvents([cloudEvent], deps);
    expect(keys(report.findings)).toEqual([["federated-credential-outside-pipeline", fic, ID_APP, "high"]]);
    expect(report.findings[0]?.evidence).toMatchObject({ subject: "repo:contoso/app:environment:prod" });
  });

  it("malformed and irrelevant events are dropped without stopping the batch", async () => {
    const deps = await setup();
    const report = await replayEvents(
      [
        { id: "bad-1", data: 42 },
        "not an event",
        { ...event("bad-2", "Microsoft.Compute/virtualMachines/write", VM), data: { resourceUri: VM } },
        // Storage account writes are watched now (governance-tampering): a virtual network's write is not.
        event("irrelevant", "Microsoft.Network/virtualNetworks/write", `${RG}/providers/Microsoft.Network/virtualNetworks/vnet1`),
        { ...event("failed-op", "Microsoft.Compute/virtualMachines/write", VM), data: { ...event("x", "Microsoft.Compute/virtualMachines/write", VM).data, status: "Failed" } },
        event("good", "Microsoft.Compute/virtualMachines/write", VM),
      ],
      deps,
    );
    expect(report.events).toMatchObject({ received: 6, malformed: 3, ignored: 2, processed: 1 });
    expect(report.findings).toHaveLength(1);
  });

  it("an ARM failure fails the event, gives the dedupe claim back, and the redelivery is handled", async () => {
    const deps = await setup((estate) => {
      estate.emulator.faults = [{ service: "arm", status: 500, rate: 1, count: 5 }];
    });
    const write = event("retry-1", "Microsoft.Compute/virtualMachines/write", VM);
    const first = await replayEvents([write], deps);
    expect(first.events.failed).toBe(1);
    expect(first.findings).toEqual([]);
    const second = await replayEvents([write], deps);
    expect(second.events.processed).toBe(1);
    expect(keys(second.findings)).toEqual([["attachment-outside-pipeline", VM, ID_GONE, "high"]]);
  });

  it("the Event Grid trigger handler: malformed is acknowledged, a failure throws for redelivery", async () => {
    await setup((estate) => {
      estate.emulator.faults = [{ service: "arm", status: 503, rate: 1, retryAfterSeconds: 0 }];
    });
    const clients = target?.clients;
    if (!clients) throw new Error("no target");
    const handler = onResourceEventHandler(async () => ({ settings: readAppSettings({}), policy: POLICY, clients }));
    const context = () => new InvocationContext({ functionName: "onResourceEvent", invocationId: "i", logHandler: () => undefined });
    await expect(handler({ id: "m", data: null }, context())).resolves.toMatchObject({ status: "malformed" });
    await expect(handler(event("h-1", "Microsoft.Compute/virtualMachines/write", VM), context())).rejects.toThrow(/h-1 failed/);
  });
});

describe("event findings name the role as the sweep does (issue #14)", () => {
  it("a grant of a built-in role says 'Owner', not its GUID", async () => {
    const deps = await setup();
    const report = await replayEvents([event("ra-name-1", "Microsoft.Authorization/roleAssignments/write", RA_OWNER)], deps);
    const [finding] = report.findings;
    expect(finding?.evidence["roleName"]).toBe("Owner");
    expect(finding?.title).toContain("granted Owner to");
    expect(finding?.message).not.toMatch(/8e3af657/);
  });
});
