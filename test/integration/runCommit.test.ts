import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { InvocationContext } from "@azure/functions";
import { startAzurite, type RunningAzurite } from "../../local/azurite.js";
import { seedEventStores } from "../../local/seed.js";
import type { Estate } from "../../local/emulator/estate.js";
import { onResourceEventHandler } from "../../functions/onResourceEvent.js";
import { policySchema, type Policy } from "../../shared/config/policy.js";
import { readAppSettings } from "../../shared/config/settings.js";
import { CLEANUP_QUEUE, TABLES, eventDependencies, findingStateStore } from "../../shared/composition.js";
import { replayEvents } from "../../shared/engine/replay.js";
import { NotificationOutbox } from "../../shared/state/outbox.js";
import { startStorageProxy, type StorageProxy } from "../helpers/storageProxy.js";
import { startTarget, type TestTarget } from "../helpers/estate.js";
import { IDS, P, PROTECTED, cleanupEstate, systemEvent } from "../helpers/cleanupEstate.js";

/**
 * docs/guarantees.md "Nothing lost" and "Nothing twice, nothing starved": storage
 * failing for a moment (a proxy in front of Azurite answers 503 past the SDK's retries, or drops the
 * connection), Microsoft Graph failing, two handler instances at once, a card Teams refuses. Every case goes
 * through the exported Event Grid handler, as the Functions host calls it.
 */
let azurite: RunningAzurite;
const running: Array<{ target: TestTarget; proxy: StorageProxy }> = [];

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(() => azurite.stop());
afterEach(async () => {
  for (const { target, proxy } of running.splice(0)) {
    proxy.faults.length = 0;
    for (const table of Object.values(TABLES)) await target.clients.table(table).deleteTable().catch(() => undefined);
    await target.clients.queue(CLEANUP_QUEUE).delete().catch(() => undefined);
    await target.stop();
    await proxy.stop();
  }
});

const ENFORCE_ATTACH: Policy = policySchema.parse({ protected: PROTECTED, cleanup: { dryRun: false }, rules: { "attachment-outside-pipeline": { mode: "enforce" } } });
const attachEvent = (id = "lost-1") => systemEvent(id, IDS.vm, "Microsoft.Compute/virtualMachines/write");

async function start(policy: Policy, estate: Estate = cleanupEstate(), maxAttempts = 10) {
  const proxy = await startStorageProxy(azurite);
  const target = await startTarget(estate, proxy.connectionString);
  running.push({ target, proxy });
  await seedEventStores(estate, eventDependencies(target.clients, policy));
  const settings = readAppSettings({ UAMI_GUARD_EVENT_MAX_DELIVERY_ATTEMPTS: String(maxAttempts) });
  const handler = () => onResourceEventHandler(async () => ({ settings, policy, clients: target.clients }), { notify: true });
  const lines: string[] = [];
  const context = () => new InvocationContext({ functionName: "onResourceEvent", invocationId: `inv-${lines.length}`, logHandler: (_level, ...args) => lines.push(args.join(" ")) });
  const teams = () => target.emulator.capture.received["teams"] ?? [];
  const queued = async () => (await target.clients.queue(CLEANUP_QUEUE).peekMessages({ numberOfMessages: 32 })).peekedMessageItems.length;
  return { proxy, target, handler, context, teams, queued, lines };
}

describe("nothing lost: a step of the commit that fails fails the trigger, and the redelivery reports the same findings", () => {
  it.each([
    ["the outbox answers 503 (past the SDK's retries)", { method: "POST", bodyContains: TABLES.outbox, status: 503, count: 4 }],
    ["the cleanup queue answers 503", { method: "POST", pathContains: `/${CLEANUP_QUEUE}/messages`, status: 503, count: 4 }],
    ["the finding state's connection is reset", { method: "POST", bodyContains: TABLES.findings, reset: true, count: 4 }],
  ])("%s: one card, one row, one detach queued after the redelivery", async (_name, fault) => {
    const { proxy, handler, context, teams, queued, target } = await start(ENFORCE_ATTACH);
    const handle = handler();
    proxy.faults.push({ ...fault });
    await expect(handle(attachEvent(), context())).rejects.toThrow(/lost-1 failed/);
    expect(proxy.injected.length).toBeGreaterThan(0);
    // Event Grid delivers it again (to the same instance or another): the same finding, in full.
    const again = await handler()(attachEvent(), context());
    expect(again.status).toBe("processed");
    expect(again.findings.map((finding) => [finding.ruleId, finding.subjectId.toLowerCase(), finding.relatedId?.toLowerCase()])).toEqual([["attachment-outside-pipeline", IDS.vm.toLowerCase(), IDS.extra.toLowerCase()]]);
    expect(teams()).toHaveLength(1);
    expect(target.emulator.capture.received["sentinel"]?.flat()).toHaveLength(1);
    expect(await queued()).toBeGreaterThanOrEqual(1);
    // A third delivery (Event Grid is at least once) adds nothing: the baseline knows the identity now.
    expect((await handler()(attachEvent(), context())).findings).toEqual([]);
    expect(teams()).toHaveLength(1);
  });
});

describe("a check an event rule needs and cannot make", () => {
  const GRANT = `/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.Authorization/roleAssignments/${"00000000-0000-4000-8000-0000000000a1"}`;
  function grantEstate(): Estate {
    const estate = cleanupEstate();
    estate.roleAssignments.push({
      id: GRANT,
      name: GRANT.split("/").pop() ?? "",
      type: "Microsoft.Authorization/roleAssignments",
      properties: { scope: "/subscriptions/11111111-1111-1111-1111-111111111111", roleDefinitionId: "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635", principalId: P.extra, principalType: "ServicePrincipal", createdOn: "2026-11-20T10:00:00Z", updatedOn: "2026-11-20T10:00:00Z" },
    } as Estate["roleAssignments"][number]);
    estate.emulator = { ...estate.emulator, faults: [{ service: "graph", status: 503, rate: 1, retryAfterSeconds: 0 }] };
    return estate;
  }
  const grant = () => systemEvent("grant-undecided", GRANT, "Microsoft.Authorization/roleAssignments/write");

  it("Graph failing while a new Owner grant's principal is looked up fails every delivery but the last, which raises event-undecided to every sink", async () => {
    const { handler, context, teams, target } = await start(policySchema.parse({}), grantEstate(), 3);
    const handle = handler();
    await expect(handle(grant(), context())).rejects.toThrow(/grant-undecided failed/);
    await expect(handle(grant(), context())).rejects.toThrow(/grant-undecided failed/);
    const last = await handle(grant(), context());
    expect(last.status).toBe("processed");
    expect(last.findings.map((finding) => [finding.ruleId, finding.severity, finding.subjectId])).toEqual([["event-undecided", "high", GRANT]]);
    expect(teams()).toHaveLength(1);
    expect(JSON.stringify(target.emulator.capture.received["sentinel"])).toContain("event-undecided");
    expect(JSON.stringify(target.emulator.capture.received["eventgrid"])).toContain("UamiGuard.Finding.event-undecided");
  });

  it("replay makes one delivery, so it is the last: event-undecided at once, never an acknowledged incomplete", async () => {
    const { target } = await start(policySchema.parse({}), grantEstate());
    const report = await replayEvents([grant()], eventDependencies(target.clients, policySchema.parse({})));
    expect(report.findings.map((finding) => [finding.ruleId, finding.subjectId])).toEqual([["event-undecided", GRANT]]);
  });
});

describe("nothing twice, nothing starved", () => {
  it("two handler instances at once: each dispatches what is due, every card goes out once, every event is processed", async () => {
    const { target, handler, context, teams } = await start(policySchema.parse({}));
    const first = handler();
    const second = handler();
    // Two changes on two instances at the same moment: each instance's dispatch sees both entries due.
    const outcomes = await Promise.all([first(attachEvent("twice-1"), context()), second(systemEvent("twice-2", IDS.outside, "Microsoft.Authorization/roleAssignments/write"), context())]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["processed", "processed"]);
    expect(outcomes.flatMap((outcome) => outcome.findings.map((finding) => finding.ruleId)).sort()).toEqual(["attachment-outside-pipeline", "role-assignment-outside-pipeline"]);
    expect(teams()).toHaveLength(2);
    expect(target.emulator.capture.received["sentinel"]?.flat()).toHaveLength(2);
    const outbox = new NotificationOutbox(target.clients.table(TABLES.outbox));
    expect(await outbox.due("teams", new Date(Date.now() + 3_600_000), 10)).toEqual([]);
  });

  it("the loser of a race for an entry: its delete after sending answers 404 (the other instance deleted it) — no error, the event processed, its finding state saved and its cleanup queued", async () => {
    const { proxy, target, handler, context, teams, queued } = await start(ENFORCE_ATTACH);
    // The Teams entry's delete reaches Azurite a moment after the same delete by another instance: Azurite answers 404.
    proxy.faults.push({ method: "DELETE", pathContains: `${TABLES.outbox}(PartitionKey='teams-prompt'`, twice: true, count: 1 });
    const outcome = await handler()(attachEvent("race-404"), context());
    expect(proxy.injected).toHaveLength(1);
    expect(outcome.status).toBe("processed");
    expect(outcome.findings.map((finding) => finding.ruleId)).toEqual(["attachment-outside-pipeline"]);
    expect(outcome.incomplete).toEqual([]);
    const saved = [...(await findingStateStore(target.clients).load("events")).values()];
    expect(saved.map((record) => [record.ruleId, record.status])).toEqual([["attachment-outside-pipeline", "open"]]);
    expect(await queued()).toBe(1);
    expect(teams()).toHaveLength(1);
    const outbox = new NotificationOutbox(target.clients.table(TABLES.outbox));
    expect(await outbox.due("teams", new Date(Date.now() + 3_600_000), 10)).toEqual([]);
  });

  it("a card Teams refuses with 400 is dead-lettered at once, raises notification-dead-lettered to every sink, and later cards still go out", async () => {
    const estate = cleanupEstate();
    estate.emulator = { ...estate.emulator, faults: [{ service: "teams", status: 400, rate: 1, count: 1 }] };
    const { target, handler, context, teams } = await start(policySchema.parse({}), estate);
    const handle = handler();
    const refused = await handle(attachEvent("teams-400"), context());
    expect(refused.status).toBe("processed");
    expect(refused.findings.map((finding) => finding.ruleId)).toContain("notification-dead-lettered");
    const outbox = new NotificationOutbox(target.clients.table(TABLES.outbox));
    expect((await outbox.deadLettered("teams")).map((entry) => entry.lastError)).toEqual([expect.stringMatching(/400.*refused for good/)]);
    // The notice about the refused card went out as a card of its own, and as a row and a CloudEvent.
    expect(JSON.stringify(teams())).toContain("could not be delivered");
    expect(JSON.stringify(target.emulator.capture.received["sentinel"])).toContain("notification-dead-lettered");
    const notices = [...(await findingStateStore(target.clients).load("notices")).values()];
    expect(notices.map((record) => [record.ruleId, record.severity])).toEqual([["notification-dead-lettered", "critical"]]);
    // A new finding later is not held back by the refused one, and the refused card is never posted again.
    const grant = systemEvent("teams-later", IDS.outside, "Microsoft.Authorization/roleAssignments/write");
    await handle(grant, context());
    const posted = teams().length;
    await handle(systemEvent("teams-later-2", IDS.outside, "Microsoft.Authorization/roleAssignments/write"), context());
    expect(teams()).toHaveLength(posted);
    expect(JSON.stringify(teams())).toContain("Contributor");
  });
});
