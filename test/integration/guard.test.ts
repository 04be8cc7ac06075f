import { describe, expect, it } from "vitest";
import { azuriteTargets } from "../helpers/azuriteTargets.js";
import { loadFixture, startTarget } from "../helpers/estate.js";
import { policySchema } from "../../shared/config/policy.js";
import { runSweep } from "../../shared/engine/sweep.js";
import { runSweepJob } from "../../shared/engine/sweepJob.js";
import { eventDependencies, sweepJobStores } from "../../shared/composition.js";
import { handleResourceEvent } from "../../shared/engine/eventProcessor.js";
import { readEventDelivery } from "../../shared/azure/eventDelivery.js";
import { seedEventStores } from "../../local/seed.js";

const S1 = "11111111-1111-1111-1111-111111111111";
const S3 = "33333333-3333-3333-3333-333333333333";
const S4 = "44444444-4444-4444-4444-444444444444";
const GUARD_RG = `/subscriptions/${S1}/resourceGroups/rg-guard`;
const APP = `${GUARD_RG}/providers/Microsoft.Web/sites/func-uamiguard-x`;
const EVENT_SUBSCRIPTION = `${GUARD_RG}/providers/Microsoft.EventGrid/systemTopics/evgst-uamiguard-prod/eventSubscriptions/uami-guard`;
const SELF_ROLE = `/subscriptions/${S1}/providers/Microsoft.Authorization/roleAssignments/5e1f0000-0000-0000-0000-000000000001`;
const OTHER_ROLE = `/subscriptions/${S3}/providers/Microsoft.Authorization/roleAssignments/5e1f0000-0000-0000-0000-000000000031`;
const SELF_OBJECT = "eeeeeeee-0000-0000-0000-0000000000ee";
const POLICY = policySchema.parse({ self: { objectId: SELF_OBJECT, appId: "eeeeeeee-0000-0000-0000-0000000000cc", functionAppId: APP, resources: [GUARD_RG] } });
const USER_CLAIMS = {
  appid: "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
  "http://schemas.microsoft.com/identity/claims/objectidentifier": "dddddddd-0000-0000-0000-0000000000bb",
  "http://schemas.microsoft.com/identity/claims/scope": "user_impersonation",
};
const SELF_CLAIMS = { appid: "eeeeeeee-0000-0000-0000-0000000000cc", "http://schemas.microsoft.com/identity/claims/objectidentifier": SELF_OBJECT, idtyp: "app" };

function deleteEvent(id: string, operationName: string, resourceUri: string, claims: Record<string, string> = USER_CLAIMS) {
  return { id, eventType: "Microsoft.Resources.ResourceDeleteSuccess", eventTime: "2026-11-20T10:00:00Z", subject: resourceUri, dataVersion: "2", metadataVersion: "1", data: { operationName, resourceUri, status: "Succeeded", subscriptionId: S1, claims } };
}

const coverage = (findings: Array<{ ruleId: string; subjectId: string }>) => findings.filter((finding) => finding.ruleId === "event-coverage-missing").map((finding) => finding.subjectId);

describe("event coverage through ARM (emulator)", () => {
  it("lists system topics and event subscriptions as ARM answers them: WebHooks without their endpointUrl, the app's function from getFullUrl", async () => {
    const target = await startTarget(loadFixture("guard-estate.json"));
    try {
      const delivery = await readEventDelivery(target.clients, S4, { functionAppId: APP });
      expect(delivery.systemTopics).toHaveLength(1);
      expect(delivery.systemTopics[0]).toMatchObject({ topicType: "Microsoft.Resources.Subscriptions", provisioningState: "Succeeded" });
      expect(delivery.systemTopics[0]?.eventSubscriptions).toEqual([
        {
          id: expect.stringContaining("/eventSubscriptions/uami-guard"),
          provisioningState: "Succeeded",
          // ARM lists every event type of the topic when none were asked for (azure-cli recording, routes/eventGridArm.ts).
          includedEventTypes: expect.arrayContaining(["Microsoft.Resources.ResourceWriteSuccess", "Microsoft.Resources.ResourceDeleteSuccess", "Microsoft.Resources.ResourceActionSuccess"]),
          advancedFilters: [],
          destination: {
            eventSubscriptionId: expect.stringContaining("/eventSubscriptions/uami-guard"),
            endpointType: "WebHook",
            endpointBaseUrl: "https://func-uamiguard-x.azurewebsites.net/runtime/webhooks/eventgrid",
            functionName: "onResourceEvent",
          },
        },
      ]);
      expect(JSON.stringify(delivery)).not.toContain("secret-key");
      const raw = await target.clients.arm.path(`${delivery.systemTopics[0]!.id}/eventSubscriptions`).get({ queryParameters: { "api-version": "2022-06-15" } });
      expect(JSON.stringify(raw.body)).not.toContain("secret-key");
    } finally {
      await target.stop();
    }
  });

  it("reports the subscription whose system topic delivers nowhere near the app", async () => {
    const target = await startTarget(loadFixture("guard-estate.json"));
    try {
      const report = await runSweep(target.clients, POLICY, { subscriptions: [S1, S3, S4] });
      expect(coverage(report.findings)).toEqual([`/subscriptions/${S3}`]);
      expect(report.incomplete).toEqual([]);
      const off = await runSweep(target.clients, policySchema.parse({}), { subscriptions: [S1, S3, S4] });
      expect(coverage(off.findings)).toEqual([]);
    } finally {
      await target.stop();
    }
  });

  it("a sweep over every subscription checks each one ARM lists, those without any resource too", async () => {
    const target = await startTarget(loadFixture("guard-estate.json"));
    try {
      const report = await runSweep(target.clients, POLICY);
      expect(coverage(report.findings)).toEqual([`/subscriptions/${S3}`, "/subscriptions/55555555-5555-5555-5555-555555555555"]);
    } finally {
      await target.stop();
    }
  });

  it("a subscription whose event subscriptions cannot be listed is incomplete, never a finding", async () => {
    const estate = loadFixture("guard-estate.json");
    estate.emulator.faults = [{ service: "arm", status: 403, rate: 1, pathContains: `/subscriptions/${S3}/resourcegroups/rg-guard/providers/microsoft.eventgrid/systemtopics/evgst-uamiguard-prod/eventsubscriptions` }];
    const target = await startTarget(estate);
    try {
      const report = await runSweep(target.clients, POLICY, { subscriptions: [S1, S3] });
      expect(coverage(report.findings)).toEqual([]);
      expect(report.incomplete.map((entry) => entry.check)).toEqual(["event-coverage"]);
    } finally {
      await target.stop();
    }
  });
});

describe("governance tampering (emulator and Azurite)", () => {
  const targets = azuriteTargets();

  it("reports deleting the event subscription and the app's own role assignment (known from the last sweep)", async () => {
    const target = await targets.start(loadFixture("guard-estate.json"));
    await runSweepJob(target.clients, POLICY, sweepJobStores(target.clients, POLICY, { notify: false }), { subscriptions: [S1, S3, S4] });
    const deps = eventDependencies(target.clients, POLICY);
    const outcomes = [];
    for (const event of [
      deleteEvent("t1", "Microsoft.EventGrid/systemTopics/eventSubscriptions/delete", EVENT_SUBSCRIPTION),
      deleteEvent("t2", "Microsoft.Authorization/roleAssignments/delete", SELF_ROLE),
      deleteEvent("t3", "Microsoft.Authorization/roleAssignments/delete", OTHER_ROLE),
      deleteEvent("t4", "Microsoft.EventGrid/systemTopics/eventSubscriptions/delete", EVENT_SUBSCRIPTION, SELF_CLAIMS),
    ]) {
      outcomes.push(await handleResourceEvent(event, deps));
    }
    expect(outcomes.map((outcome) => [outcome.eventId, outcome.status, outcome.findings.map((finding) => [finding.ruleId, finding.subjectId, finding.severity])])).toEqual([
      ["t1", "processed", [["governance-tampering", EVENT_SUBSCRIPTION, "critical"]]],
      ["t2", "processed", [["governance-tampering", SELF_ROLE, "critical"]]],
      ["t3", "processed", []],
      ["t4", "processed", []],
    ]);
  });

  it("with --estate the app's role assignments are known from the estate, as a sweep would leave them", async () => {
    const estate = loadFixture("guard-estate.json");
    const target = await targets.start(estate);
    const deps = eventDependencies(target.clients, POLICY);
    await seedEventStores(estate, deps);
    const outcome = await handleResourceEvent(deleteEvent("t5", "Microsoft.Authorization/roleAssignments/delete", SELF_ROLE), deps);
    expect(outcome.findings.map((finding) => finding.ruleId)).toEqual(["governance-tampering"]);
  });
});
