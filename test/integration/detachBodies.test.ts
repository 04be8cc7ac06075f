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
import { detachIdentityBlock } from "../../shared/azure/identityBlock.js";
import { emptyEstate, guid, identityResource, SUB, type TestTarget } from "../helpers/estate.js";
import { azuriteTargets } from "../helpers/azuriteTargets.js";

const targets = azuriteTargets();
const RG = `/subscriptions/${SUB}/resourceGroups/rg-app/providers`;
const ID_A = identityResource("id-a", guid(1, "a"), guid(1, "c")).id;
const ID_B = identityResource("id-b", guid(2, "a"), guid(2, "c")).id;
const VM = `${RG}/Microsoft.Compute/virtualMachines/vm-1`;
const APP = `${RG}/Microsoft.App/containerApps/ca-1`;

function estate(): Estate {
  const attached = { [ID_A]: { principalId: guid(1, "a"), clientId: guid(1, "c") }, [ID_B]: { principalId: guid(2, "a"), clientId: guid(2, "c") } };
  return emptyEstate({
    resources: [
      identityResource("id-a", guid(1, "a"), guid(1, "c")),
      identityResource("id-b", guid(2, "a"), guid(2, "c")),
      { id: VM, name: "vm-1", type: "Microsoft.Compute/virtualMachines", location: "uksouth", tags: {}, identity: { type: "SystemAssigned, UserAssigned", principalId: guid(9, "5a"), userAssignedIdentities: { [ID_A]: attached[ID_A] } } },
      { id: APP, name: "ca-1", type: "Microsoft.App/containerApps", location: "uksouth", tags: {}, identity: { type: "SystemAssigned,UserAssigned", principalId: guid(8, "5a"), userAssignedIdentities: attached } },
    ],
  } as Partial<Estate>);
}

function detach(targetId: string, identityId: string): PlannedAction {
  return {
    actionId: actionIdOf("detach-identity", targetId, identityId),
    kind: "detach-identity",
    targetId,
    identityId,
    finding: { ruleId: "attachment-outside-pipeline", severity: "high", subjectId: targetId, relatedId: identityId, fingerprint: `fp-${identityId.slice(-4)}`, title: "attach", evidence: {} },
  };
}

async function patch(target: TestTarget, id: string, apiVersion: string, identity: unknown) {
  return target.clients.arm.path(id).patch({ queryParameters: { "api-version": apiVersion }, body: { identity }, contentType: "application/json" });
}

function run(target: TestTarget, journal: TableJournal, actions: PlannedAction[]) {
  return runCleanup(
    { mode: "enforce", scope: "sweep-all", records: [], toRun: actions },
    "run-detach",
    { clients: target.clients, policy: defaultPolicy(), forceEnforce: false, caller: "test", journal, leases: new ProcessLeases(), dispatch: { kind: "inline", concurrency: 1 } },
  );
}

describe("detach bodies as each provider accepts them (as Azure CLI's recorded traffic shows)", () => {
  it("builds the three shapes with each provider's type string", () => {
    expect(detachIdentityBlock("Microsoft.Compute/virtualMachines", true, ID_A, 0)).toEqual({ type: "SystemAssigned" });
    expect(detachIdentityBlock("Microsoft.Compute/virtualMachines", false, ID_A, 0)).toEqual({ type: "None" });
    expect(detachIdentityBlock("Microsoft.Compute/virtualMachines", true, ID_A, 1)).toEqual({ type: "SystemAssigned, UserAssigned", userAssignedIdentities: { [ID_A]: null } });
    expect(detachIdentityBlock("Microsoft.Web/sites", false, ID_A, 1)).toEqual({ type: "UserAssigned", userAssignedIdentities: { [ID_A]: null } });
    expect(detachIdentityBlock("Microsoft.App/containerApps", true, ID_A, 1)).toEqual({ type: "SystemAssigned,UserAssigned", userAssignedIdentities: { [ID_A]: null } });
  });

  it("the emulator answers 400 InvalidParameter where Azure does", async () => {
    const target = await targets.start(estate());
    const cases: Array<[string, string, unknown]> = [
      // A map beside SystemAssigned (what the last-identity detach used to send).
      [VM, "2024-07-01", { type: "SystemAssigned", userAssignedIdentities: { [ID_A]: null } }],
      [VM, "2024-07-01", { type: "None", userAssignedIdentities: { [ID_A]: null } }],
      [VM, "2024-07-01", { type: "SystemAssigned+UserAssigned", userAssignedIdentities: { [ID_B]: {} } }],
    ];
    for (const [id, apiVersion, identity] of cases) {
      const response = await patch(target, id, apiVersion, identity);
      expect([response.status, (response.body as { error?: { code?: string } }).error?.code]).toEqual(["400", "InvalidParameter"]);
    }
  });

  it("accepts the combined type with or without the space, and answers in the provider's spelling", async () => {
    // Compute took "SystemAssigned,UserAssigned" from Azure CLI and answered 200 with "SystemAssigned, UserAssigned"
    // (test/fixtures/azure-cli/vm_explicit_msi.json).
    const target = await targets.start(estate());
    const vm = await patch(target, VM, "2024-07-01", { type: "SystemAssigned,UserAssigned", userAssignedIdentities: { [ID_B]: {} } });
    expect(vm.status).toBe("200");
    expect((vm.body as { identity: { type: string; userAssignedIdentities: object } }).identity.type).toBe("SystemAssigned, UserAssigned");
    expect(Object.keys((vm.body as { identity: { userAssignedIdentities: object } }).identity.userAssignedIdentities).sort()).toEqual([ID_A, ID_B].sort());
    const app = await patch(target, APP, "2024-03-01", { type: "SystemAssigned, UserAssigned", userAssignedIdentities: { [ID_A]: null } });
    expect(app.status).toBe("200");
    expect((app.body as { identity: { type: string } }).identity.type).toBe("SystemAssigned,UserAssigned");
  });

  it("detaching the last user-assigned identity from a VM leaves {type: SystemAssigned}; restore puts it back", async () => {
    const target = await targets.start(estate());
    const journal = new TableJournal(target.clients.table(TABLES.journal));
    const records = await run(target, journal, [detach(VM, ID_A)]);
    expect(records.map((record) => [record.status, record.reason])).toEqual([["done", undefined]]);
    expect(target.emulator.store.resources.get(VM.toLowerCase())?.identity).toEqual({ type: "SystemAssigned", principalId: guid(9, "5a") });
    await restore({ clients: target.clients, journal, leases: journal, caller: "test", runId: "run-detach" });
    expect(target.emulator.store.resources.get(VM.toLowerCase())?.identity).toMatchObject({ type: "SystemAssigned, UserAssigned", userAssignedIdentities: { [ID_A]: expect.any(Object) } });
  });

  it("detaches from a container app with its own type string and keeps the other identity", async () => {
    const target = await targets.start(estate());
    const journal = new TableJournal(target.clients.table(TABLES.journal));
    const records = await run(target, journal, [detach(APP, ID_A)]);
    expect(records.map((record) => record.status)).toEqual(["done"]);
    const identity = target.emulator.store.resources.get(APP.toLowerCase())?.identity;
    expect(identity?.type).toBe("SystemAssigned,UserAssigned");
    expect(Object.keys(identity?.userAssignedIdentities ?? {})).toEqual([ID_B]);
    await restore({ clients: target.clients, journal, leases: journal, caller: "test", runId: "run-detach" });
    expect(Object.keys(target.emulator.store.resources.get(APP.toLowerCase())?.identity?.userAssignedIdentities ?? {}).sort()).toEqual([ID_A, ID_B].sort());
  });
});
