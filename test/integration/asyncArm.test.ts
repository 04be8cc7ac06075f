import { describe, expect, it } from "vitest";
import { defaultPolicy } from "../../shared/config/policy.js";
import { runCleanup } from "../../shared/cleanup/pipeline.js";
import { ProcessLeases } from "../../shared/cleanup/journal.js";
import { actionIdOf } from "../../shared/cleanup/plan.js";
import { restore } from "../../shared/cleanup/restore.js";
import type { PlannedAction } from "../../shared/cleanup/types.js";
import { TableJournal } from "../../shared/state/journalTable.js";
import { TABLES } from "../../shared/composition.js";
import type { Estate } from "../../local/emulator/estate.js";
import type { ServedRequest } from "../../local/emulator/server.js";
import { emptyEstate, guid, identityResource, SUB, type TestTarget } from "../helpers/estate.js";
import { azuriteTargets } from "../helpers/azuriteTargets.js";

/**
 * Compute answers a VM PATCH asynchronously (test/fixtures/azure-cli/vm_explicit_msi.json): 200 with
 * provisioningState "Updating" and Azure-AsyncOperation, a new identity's entry `{}` until the operation
 * is done. Cleanup and restore wait for the operation before they read the VM back to verify.
 */

const targets = azuriteTargets();
const RG = `/subscriptions/${SUB}/resourceGroups/rg-app/providers`;
const ID_A = identityResource("id-a", guid(1, "a"), guid(1, "c"));
const ID_B = identityResource("id-b", guid(2, "a"), guid(2, "c"));
const VM = `${RG}/Microsoft.Compute/virtualMachines/vm-1`;

function estate(asyncArm: NonNullable<Estate["emulator"]["asyncArm"]>): Estate {
  return emptyEstate({
    resources: [
      ID_A,
      ID_B,
      {
        id: VM,
        name: "vm-1",
        type: "Microsoft.Compute/virtualMachines",
        location: "uksouth",
        tags: {},
        properties: { provisioningState: "Succeeded" },
        identity: { type: "UserAssigned", userAssignedIdentities: { [ID_A.id]: { principalId: guid(1, "a"), clientId: guid(1, "c") }, [ID_B.id]: { principalId: guid(2, "a"), clientId: guid(2, "c") } } },
      },
    ],
    emulator: { latencyMs: 0, faults: [], seed: 1, asyncArm },
  } as Partial<Estate>);
}

function detach(identityId: string): PlannedAction {
  return {
    actionId: actionIdOf("detach-identity", VM, identityId),
    kind: "detach-identity",
    targetId: VM,
    identityId,
    finding: { ruleId: "attachment-outside-pipeline", severity: "high", subjectId: VM, relatedId: identityId, fingerprint: `fp-${identityId.slice(-4)}`, title: "attach", evidence: {} },
  };
}

function run(target: TestTarget, journal: TableJournal, actions: PlannedAction[]) {
  return runCleanup(
    { mode: "enforce", scope: "sweep-all", records: [], toRun: actions },
    "run-async",
    { clients: target.clients, policy: defaultPolicy(), forceEnforce: false, caller: "test", journal, leases: new ProcessLeases(), dispatch: { kind: "inline", concurrency: 1 } },
  );
}

/** The ARM requests to the VM and its operations, in order, from the first PATCH on. */
function afterPatch(requests: ServedRequest[]): string[] {
  const arm = requests.filter((request) => request.service === "arm" && (/virtualMachines\/vm-1$/i.test(request.path) || /\/operations\//.test(request.path)));
  const first = arm.findIndex((request) => request.method === "PATCH");
  return arm.slice(first).map((request) => `${request.method} ${/\/operations\//.test(request.path) ? "operation" : "vm"}`);
}

describe("asynchronous VM writes (emulator asyncArm)", () => {
  it("cleanup waits for the operation before it verifies the detach; restore waits before it checks the re-attach", async () => {
    const target = await targets.start(estate({ operationMs: 300 }));
    const journal = new TableJournal(target.clients.table(TABLES.journal));
    const records = await run(target, journal, [detach(ID_A.id)]);
    expect(records.map((record) => [record.status, record.reason])).toEqual([["done", undefined]]);
    const order = afterPatch(target.emulator.requests);
    // PATCH, the operation polled until done, then the read-back that verifies.
    expect(order[0]).toBe("PATCH vm");
    expect(order.filter((entry) => entry === "GET operation").length).toBeGreaterThanOrEqual(2);
    expect(order.slice(order.lastIndexOf("GET operation") + 1)).toContain("GET vm");
    expect(order.slice(1, order.indexOf("GET operation"))).toEqual([]);

    target.emulator.requests.length = 0;
    const restored = await restore({ clients: target.clients, journal, leases: journal, caller: "test", runId: "run-async" });
    expect(restored.results.map((result) => result.status)).toEqual(["restored"]);
    const vm = target.emulator.store.resources.get(VM.toLowerCase());
    expect(vm?.properties?.["provisioningState"]).toBe("Succeeded");
    // The re-attached identity's entry is filled in: the operation was done when restore read it back.
    expect(vm?.identity?.userAssignedIdentities?.[ID_A.id]).toEqual({ principalId: guid(1, "a"), clientId: guid(1, "c") });
    expect(afterPatch(target.emulator.requests).filter((entry) => entry === "GET operation").length).toBeGreaterThanOrEqual(1);
  });

  it("an operation that fails is a failed action: the identity is still attached, nothing is taken for done", async () => {
    const target = await targets.start(estate({ operationMs: 100, outcome: "Failed" }));
    const journal = new TableJournal(target.clients.table(TABLES.journal));
    const records = await run(target, journal, [detach(ID_A.id)]);
    expect(records.map((record) => record.status)).toEqual(["failed"]);
    const vm = target.emulator.store.resources.get(VM.toLowerCase());
    expect(Object.keys(vm?.identity?.userAssignedIdentities ?? {}).sort()).toEqual([ID_A.id, ID_B.id].sort());
    expect(vm?.properties?.["provisioningState"]).toBe("Failed");
  });

  it("a second write while the first runs is refused with 409, as Compute serializes writes to a VM", async () => {
    const target = await targets.start(estate({ operationMs: 2_000 }));
    const patch = (identity: unknown) => target.clients.arm.path(VM).patch({ queryParameters: { "api-version": "2024-07-01" }, body: { identity }, contentType: "application/json" });
    const first = await patch({ type: "UserAssigned", userAssignedIdentities: { [ID_A.id]: null } });
    expect([first.status, (first.body as { properties: { provisioningState: string } }).properties.provisioningState]).toEqual(["200", "Updating"]);
    expect((await patch({ type: "UserAssigned", userAssignedIdentities: { [ID_B.id]: null } })).status).toBe("409");
  });
});
