import { describe, expect, it } from "vitest";
import { azuriteTargets } from "../helpers/azuriteTargets.js";
import { seedEventStores } from "../../local/seed.js";
import { policySchema, type Policy } from "../../shared/config/policy.js";
import { eventDependencies, journalTable } from "../../shared/composition.js";
import { handleResourceEvent, type EventDependencies } from "../../shared/engine/eventProcessor.js";
import type { Estate } from "../../local/emulator/estate.js";
import { loadFixture, SUB, type TestTarget } from "../helpers/estate.js";
import { PIPELINE_APP, PIPELINE_CLAIMS, USER_CLAIMS } from "../helpers/events.js";

/**
 * docs/guarantees.md "Order does not matter": Event Grid does not guarantee order
 * (https://learn.microsoft.com/azure/event-grid/delivery-and-retry — "Event Grid doesn't guarantee order for event
 * delivery"), so the approved pipeline's later write (E2) may be handled before the user's earlier manual
 * attachment (E1). Both read-backs see the VM as it is now: the pipeline's identity, the user's X and, in the
 * ambiguous case, the pipeline's own Y. In either order X is reported.
 */
const RG = `/subscriptions/${SUB}/resourceGroups/rg-app`;
const VM = `${RG}/providers/Microsoft.Compute/virtualMachines/vm1`;
const ID_APP = `${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-app-prod-uks-01`;
const X = `${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-gone`;
const Y = `${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-orphan-holder`;

function write(id: string, eventTime: string, claims: Record<string, string>) {
  const operationName = "Microsoft.Compute/virtualMachines/write";
  return { id, eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime, subject: VM, dataVersion: "2", metadataVersion: "1", data: { operationName, resourceUri: VM, status: "Succeeded", subscriptionId: SUB, claims } };
}

/** E1: the user's manual attachment (earlier); E2: the approved pipeline's write (later). */
const E1 = write("order-e1", "2026-11-20T09:00:00Z", USER_CLAIMS);
const E2 = write("order-e2", "2026-11-20T10:00:00Z", PIPELINE_CLAIMS);

const targets = azuriteTargets();
let target: TestTarget | undefined;

function policyWith(mode: "audit" | "enforce"): Policy {
  return policySchema.parse({
    approvedPipelines: [{ name: "deploy-rg-app", appId: PIPELINE_APP, scopes: [RG] }],
    cleanup: { dryRun: false },
    rules: { "attachment-outside-pipeline": { mode } },
  });
}

async function setup(options: { withY?: boolean; mode?: "audit" | "enforce" } = {}): Promise<EventDependencies> {
  const estate = loadFixture("small-estate.json");
  estate.baseline.attachments = { [VM]: [ID_APP] };
  if (options.withY) attachY(estate);
  target = await targets.start(estate);
  const policy = policyWith(options.mode ?? "audit");
  const journal = journalTable(target.clients);
  const deps: EventDependencies = {
    ...eventDependencies(target.clients, policy),
    journal,
    cleanup: { clients: target.clients, policy, forceEnforce: false, caller: "test", journal, leases: journal, dispatch: { kind: "inline" as const, concurrency: 1 } },
  };
  await seedEventStores(estate, deps);
  return deps;
}

function attachY(estate: Estate): void {
  const vm = estate.resources.find((resource) => resource.id.toLowerCase() === VM.toLowerCase());
  if (!vm?.identity?.userAssignedIdentities) throw new Error("fixture: vm1 has no identity block");
  vm.identity.userAssignedIdentities[Y] = { principalId: "aaaaaaaa-0000-0000-0000-0000000000e1", clientId: "cccccccc-0000-0000-0000-0000000000e1" };
}

async function handle(events: unknown[], deps: EventDependencies) {
  const outcomes = [];
  for (const raw of events) outcomes.push(await handleResourceEvent(raw, deps));
  return outcomes;
}

const reported = (outcomes: Awaited<ReturnType<typeof handle>>) =>
  outcomes.flatMap((outcome) => outcome.findings).filter((finding) => finding.ruleId === "attachment-outside-pipeline").map((finding) => finding.relatedId);

describe("delivery order does not hide an attachment (docs/guarantees.md \"Order does not matter\")", () => {
  it("normal order (E1 then E2): X reported once, by E1, as a plain finding; E2 adds nothing", async () => {
    const deps = await setup();
    const outcomes = await handle([E1, E2], deps);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["processed", "processed"]);
    expect(reported(outcomes)).toEqual([X]);
    expect(outcomes[0]?.findings[0]?.evidence["absorbedBy"]).toBeUndefined();
    expect(outcomes[1]?.findings).toEqual([]);
  });

  it("reversed order (E2 then E1): E2's read-back is absorbed, and E1 still reports X with the absorbing write as evidence", async () => {
    const deps = await setup();
    const outcomes = await handle([E2, E1], deps);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["processed", "processed"]);
    expect(outcomes[0]?.findings).toEqual([]);
    expect(reported(outcomes)).toEqual([X]);
    expect(outcomes[1]?.findings[0]?.evidence["absorbedBy"]).toEqual({ eventId: "order-e2", eventTime: "2026-11-20T10:00:00Z", readBackAt: expect.any(String), approvedAs: expect.stringMatching(/deploy-rg-app/) });
    // The identity the pipeline held before E1 (in the baseline before either event) is not reported.
    expect(reported(outcomes)).not.toContain(ID_APP);
  });

  it.each([
    ["5 s after the pipeline's write", "2026-11-20T10:00:05Z"],
    ["at the same second as the pipeline's write", "2026-11-20T10:00:00Z"],
  ])("a user's write %s whose event comes later is still reported: the read-back time, not the event time, bounds what was absorbed", async (_when, eventTime) => {
    const deps = await setup();
    const outcomes = await handle([E2, write("order-late", eventTime, USER_CLAIMS)], deps);
    expect(outcomes[0]?.findings).toEqual([]);
    expect(reported(outcomes)).toEqual([X]);
    expect(outcomes[1]?.findings[0]?.evidence["absorbedBy"]).toMatchObject({ eventId: "order-e2", readBackAt: expect.any(String) });
  });

  it.each([
    ["E1 then E2", [E1, E2]],
    ["E2 then E1", [E2, E1]],
  ])("redelivery of either event changes nothing (%s)", async (_order, order) => {
    const deps = await setup();
    const first = await handle(order, deps);
    const baseline = await deps.baseline.getEntry(VM);
    const again = await handle([E1, E2, E2, E1], deps);
    expect(reported(first)).toEqual([X]);
    expect(reported(again)).toEqual([]);
    expect(again.filter((outcome) => outcome.status === "failed")).toEqual([]);
    expect(await deps.baseline.getEntry(VM)).toEqual(baseline);
  });

  it("ambiguous case (pipeline attaches its own Y, user attaches X), E2 first: X is reported; Y too, report only — no detach is planned for either", async () => {
    const deps = await setup({ withY: true, mode: "enforce" });
    const outcomes = await handle([E2, E1], deps);
    expect(reported(outcomes).sort()).toEqual([X, Y].sort());
    for (const finding of outcomes[1]?.findings.filter((f) => f.ruleId === "attachment-outside-pipeline") ?? []) {
      expect(finding.evidence["absorbedBy"]).toMatchObject({ eventId: "order-e2" });
    }
    const actions = outcomes.flatMap((outcome) => outcome.actions ?? []);
    expect(actions.map((action) => action.status)).toEqual(["skipped", "skipped"]);
    expect(actions.every((action) => /report only/.test(action.reason ?? ""))).toBe(true);
    // Nothing was detached: the VM still has every identity.
    const vm = target?.emulator.store.snapshot().resources.find((resource) => resource.id.toLowerCase() === VM.toLowerCase());
    expect(Object.keys(vm?.identity?.userAssignedIdentities ?? {}).map((id) => id.toLowerCase()).sort()).toEqual([ID_APP, X, Y].map((id) => id.toLowerCase()).sort());
  });

  it("normal order with enforce: E1's finding is not ambiguous and is detached as today", async () => {
    const deps = await setup({ mode: "enforce" });
    const outcomes = await handle([E1], deps);
    expect(reported(outcomes)).toEqual([X]);
    expect((outcomes[0]?.actions ?? []).map((action) => action.status)).toEqual(["done"]);
  });

  it("the sweep's refresh keeps what an approved write absorbed for identities still attached; rows without provenance are known", async () => {
    const deps = await setup();
    await handle([E2], deps);
    await deps.baseline.setMany([[VM, [ID_APP, X]]]);
    const outcomes = await handle([E1], deps);
    expect(reported(outcomes)).toEqual([X]);

    // A row stored before provenance existed (identity ids only) counts as known: nothing reported.
    const legacy = await setup();
    await legacy.baseline.setMany([[VM, [ID_APP, X]]]);
    expect(reported(await handle([E1], legacy))).toEqual([]);
  });
});
