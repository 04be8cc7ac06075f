import { describe, expect, it } from "vitest";
import { defaultPolicy, type Policy } from "../../shared/config/policy.js";
import { TargetBusy, executeAction, reconcilePending, runCleanup } from "../../shared/cleanup/pipeline.js";
import { ProcessLeases } from "../../shared/cleanup/journal.js";
import { actionIdOf } from "../../shared/cleanup/plan.js";
import type { Journal } from "../../shared/cleanup/journal.js";
import { restore } from "../../shared/cleanup/restore.js";
import type { JournalEntry, PlannedAction } from "../../shared/cleanup/types.js";
import { TableJournal } from "../../shared/state/journalTable.js";
import { TABLES } from "../../shared/composition.js";
import { parseEstate, type Estate } from "../../local/emulator/estate.js";
import type { TestTarget } from "../helpers/estate.js";
import { azuriteTargets } from "../helpers/azuriteTargets.js";
import { IDS, P, PROTECTED, cleanupEstate, detachExtraAction } from "../helpers/cleanupEstate.js";

const targets = azuriteTargets();

function policyWith(overrides: Partial<Policy> = {}): Policy {
  return { ...defaultPolicy(), protected: { ...PROTECTED }, ...overrides };
}

function deleteOrphan(targetId: string = IDS.orphan, principalId: string = P.gone): PlannedAction {
  return {
    actionId: actionIdOf("delete-role-assignment", targetId),
    kind: "delete-role-assignment",
    targetId,
    principalId,
    finding: { ruleId: "orphaned-role-assignment", severity: "high", subjectId: targetId, fingerprint: `fp-${targetId.slice(-4)}`, title: "orphan", evidence: { principalId } },
  };
}

const detachExtra = (): PlannedAction => detachExtraAction("fp-detach");

function withFaults(estate: Estate, faults: unknown[]): Estate {
  return parseEstate({ ...estate, emulator: { ...estate.emulator, faults } }, "faulty estate");
}

function context(target: TestTarget, journal: TableJournal, runId: string, policy = policyWith()) {
  // The base of the 24-hour delete budget (a deletion without one waits for a sweep to give one).
  return { clients: target.clients, policy, journal, leases: journal, runId, caller: "test", onUnknownOutcome: "report" as const, roleAssignmentsSeen: 1000 };
}

function journalOf(target: TestTarget): TableJournal {
  return new TableJournal(target.clients.table(TABLES.journal));
}

function deletes(target: TestTarget, status?: number) {
  return target.emulator.requests.filter((request) => request.method === "DELETE" && (status === undefined || request.status === status));
}

describe("cleanup executor against the emulator with the journal on Azurite", () => {
  it("journals the full prior state before deleting, verifies, and marks the entry done", async () => {
    const target = await targets.start(cleanupEstate());
    const journal = journalOf(target);
    const record = await executeAction(deleteOrphan(), context(target, journal, "run-1"));
    expect(record).toMatchObject({ status: "done", action: "delete-role-assignment" });
    const [entry] = await journal.entries({ runId: "run-1" });
    expect(entry).toMatchObject({ status: "done", kind: "delete-role-assignment", caller: "test", detail: "applied and verified" });
    expect(entry?.prior).toMatchObject({ id: IDS.orphan, properties: { principalId: P.gone, scope: expect.stringContaining("rg-app") } });
    expect(target.emulator.store.roleAssignments.has(IDS.orphan.toLowerCase())).toBe(false);
    expect(await journal.pending()).toEqual([]);
  });

  it("never deletes when the principal exists again or Graph cannot say", async () => {
    const target = await targets.start(withFaults(cleanupEstate(), [{ service: "graph", status: 503, rate: 1 }]));
    const journal = journalOf(target);
    const unknown = await executeAction(deleteOrphan(), context(target, journal, "run-graph-down"));
    expect(unknown.status).toBe("skipped");
    expect(unknown.reason).toMatch(/could not be looked up now .*unknown, not deleted/);
    expect(deletes(target)).toHaveLength(0);
    expect(await journal.entries({ runId: "run-graph-down" })).toEqual([]);

    const alive = await targets.start(cleanupEstate());
    alive.emulator.store.directory.set(P.gone, { id: P.gone, "@odata.type": "#microsoft.graph.servicePrincipal", displayName: "back" });
    const record = await executeAction(deleteOrphan(), context(alive, journalOf(alive), "run-alive"));
    expect(record.reason).toMatch(/exists in the directory now/);
    expect(deletes(alive)).toHaveLength(0);
  });

  it.each([
    // docs/guarantees.md "Truth of the journal" (issue 13): a 404 is checked by re-reading; the assignment is still there, so nothing was changed and the entry is failed (it was "skipped: already gone").
    [404, "failed", /re-read: the change was not made/],
    [409, "failed", /conflict \(409 ScopeLocked\)/],
    [412, "failed", /changed since it was read \(412\)/],
  ])("ARM %i on delete: %s, journaled, nothing else touched", async (status, expected, reason) => {
    const target = await targets.start(withFaults(cleanupEstate(), [{ service: "arm", status, method: "DELETE", count: 1 }]));
    const journal = journalOf(target);
    const record = await executeAction(deleteOrphan(), context(target, journal, `run-${status}`));
    expect(record.status).toBe(expected);
    expect(record.reason).toMatch(reason);
    const [entry] = await journal.entries({ runId: `run-${status}` });
    expect(entry?.status).toBe(expected === "failed" ? "failed" : "skipped");
    expect(target.emulator.store.roleAssignments.has(IDS.orphan.toLowerCase())).toBe(true);
    expect(await journal.pending()).toEqual([]);
    // The fault was a one-off: the next run deletes it.
    expect((await executeAction(deleteOrphan(), context(target, journal, `run-${status}-again`))).status).toBe("done");
  });

  it("a detach whose resource changed after it was read gets 412 from If-Match and changes nothing", async () => {
    const target = await targets.start(cleanupEstate());
    const journal = journalOf(target);
    const store = target.emulator.store;
    // Someone else updates the VM between our read and our PATCH: the first GET is served, then the VM changes.
    const original = store.etagOf.bind(store);
    let reads = 0;
    store.etagOf = (key: string) => {
      const etag = original(key);
      if (key === IDS.vm.toLowerCase() && ++reads === 1) store.changed(key);
      return etag;
    };
    const record = await executeAction(detachExtra(), context(target, journal, "run-412"));
    expect(record.status).toBe("failed");
    expect(record.reason).toMatch(/412/);
    const vm = store.resources.get(IDS.vm.toLowerCase());
    expect(Object.keys(vm?.identity?.userAssignedIdentities ?? {})).toHaveLength(2);
  });

  it("a crash after journaling and before the change leaves a pending entry that the next run reconciles", async () => {
    const target = await targets.start(cleanupEstate());
    const journal = journalOf(target);
    // The process "dies" right after the journal write: begin succeeds, then the run stops.
    const crashing: Journal = Object.assign(Object.create(journal) as TableJournal, {
      begin: async (entry: JournalEntry) => {
        await journal.begin(entry);
        throw new Error("process killed");
      },
    });
    await expect(executeAction(deleteOrphan(), { ...context(target, journal, "run-crash"), journal: crashing })).rejects.toThrow("process killed");
    const [pending] = await journal.pending();
    expect(pending).toMatchObject({ runId: "run-crash", status: "pending" });
    expect(target.emulator.store.roleAssignments.has(IDS.orphan.toLowerCase())).toBe(true);

    const reconciled = await reconcilePending(journal, target.clients, new Date(), 0);
    expect(reconciled).toMatchObject([{ status: "failed", detail: "reconciled: the change was not made" }]);
    expect(await journal.pending()).toEqual([]);
    // Nothing was done, so there is nothing to restore; the next run acts normally.
    expect((await executeAction(deleteOrphan(), context(target, journal, "run-after-crash"))).status).toBe("done");
  });

  it("a crash after the change and before it is marked done is reconciled as done, and restore can undo it", async () => {
    const target = await targets.start(cleanupEstate());
    const journal = journalOf(target);
    const crashing: Journal = Object.assign(Object.create(journal) as TableJournal, {
      finish: async () => {
        throw new Error("process killed");
      },
    });
    await expect(executeAction(detachExtra(), { ...context(target, journal, "run-crash-2"), journal: crashing })).rejects.toThrow("process killed");
    expect(await journal.pending()).toHaveLength(1);
    const [reconciled] = await reconcilePending(journal, target.clients, new Date(), 0);
    expect(reconciled).toMatchObject({ status: "done", detail: "reconciled: the change is in place" });
    const { results } = await restore({ clients: target.clients, journal, leases: journal, caller: "test", runId: "run-crash-2" });
    expect(results).toMatchObject([{ status: "restored" }]);
    const vm = target.emulator.store.resources.get(IDS.vm.toLowerCase());
    expect(Object.keys(vm?.identity?.userAssignedIdentities ?? {}).map((id) => id.toLowerCase()).sort()).toEqual([IDS.app, IDS.extra].map((id) => id.toLowerCase()).sort());
    expect(vm?.identity?.type).toBe("SystemAssigned, UserAssigned");
  });

  it("two concurrent runs never delete the same assignment twice", async () => {
    const estate = cleanupEstate({ orphans: 20 });
    const target = await targets.start(estate);
    const journal = journalOf(target);
    const orphans = estate.roleAssignments.filter((assignment) => assignment.properties.principalId.includes("dead") && !assignment.id.endsWith("000000000004"));
    const actions = orphans.map((assignment) => deleteOrphan(assignment.id, assignment.properties.principalId));
    const policy = policyWith({ protected: { scopes: [], principals: [] } });
    const run = (runId: string) => Promise.all(actions.map((action) => executeAction(action, context(target, journalOf(target), runId, policy))));
    const [first, second] = await Promise.all([run("run-a"), run("run-b")]);
    const done = [...first, ...second].filter((record) => record.status === "done");
    expect(done).toHaveLength(actions.length);
    expect(deletes(target, 200)).toHaveLength(actions.length);
    // The losing run's records say why it did nothing (held by the other run, or already gone).
    for (const record of [...first, ...second].filter((candidate) => candidate.status !== "done")) {
      expect(record.reason).toMatch(/another run|already gone/);
    }
    const entries = [...(await journal.entries({ runId: "run-a" })), ...(await journal.entries({ runId: "run-b" }))];
    expect(entries.filter((entry) => entry.status === "done")).toHaveLength(actions.length);
  });

  it("two detaches from one resource in one run go one after the other and keep the system-assigned identity", async () => {
    const target = await targets.start(cleanupEstate());
    const journal = journalOf(target);
    const detachApp: PlannedAction = { ...detachExtra(), actionId: actionIdOf("detach-identity", IDS.vm, IDS.app), identityId: IDS.app };
    const records = await runCleanup(
      { mode: "enforce", scope: "sweep-all", records: [], toRun: [detachExtra(), detachApp] },
      "run-two",
      { clients: target.clients, policy: policyWith(), forceEnforce: false, caller: "test", journal, leases: new ProcessLeases(), dispatch: { kind: "inline", concurrency: 8 } },
    );
    expect(records.map((record) => record.status)).toEqual(["done", "done"]);
    const vm = target.emulator.store.resources.get(IDS.vm.toLowerCase());
    expect(vm?.identity).toMatchObject({ type: "SystemAssigned", principalId: P.vmSystem });
    expect(vm?.identity?.userAssignedIdentities).toBeUndefined();
    // Restore puts both back.
    await restore({ clients: target.clients, journal, leases: journal, caller: "test", runId: "run-two" });
    expect(target.emulator.store.resources.get(IDS.vm.toLowerCase())?.identity?.type).toBe("SystemAssigned, UserAssigned");
    expect(Object.keys(target.emulator.store.resources.get(IDS.vm.toLowerCase())?.identity?.userAssignedIdentities ?? {})).toHaveLength(2);
  });

  it("a work item whose target another run holds is retried later (thrown), not dropped", async () => {
    const target = await targets.start(cleanupEstate());
    const journal = journalOf(target);
    await journal.acquire("delete-role-assignment|" + IDS.orphan.toLowerCase(), { runId: "other-run", entryId: "x" }, new Date());
    await expect(executeAction(deleteOrphan(), { ...context(target, journal, "run-queued"), onUnknownOutcome: "throw" })).rejects.toBeInstanceOf(TargetBusy);
    expect((await executeAction(deleteOrphan(), context(target, journal, "run-cli"))).reason).toMatch(/another run \(other-run\)/);
    expect(deletes(target)).toHaveLength(0);
  });

  it("an untagged identity gets only the status tag; restore removes only that tag", async () => {
    const target = await targets.start(cleanupEstate());
    const journal = journalOf(target);
    const action: PlannedAction = {
      actionId: actionIdOf("tag-identity", IDS.untagged),
      kind: "tag-identity",
      targetId: IDS.untagged,
      tagValue: "untagged since 2026-11-01",
      finding: { ruleId: "untagged-identity", severity: "medium", subjectId: IDS.untagged, fingerprint: "fp-tag", title: "untagged", evidence: {} },
    };
    expect((await executeAction(action, context(target, journal, "run-tag"))).status).toBe("done");
    const identity = target.emulator.store.resources.get(IDS.untagged.toLowerCase());
    expect(identity?.tags).toEqual({ "uami-guard-status": "untagged since 2026-11-01" });
    // Someone adds an owner tag meanwhile; restore must keep it.
    if (identity) identity.tags = { ...identity.tags, owner: "team-x" };
    const { results } = await restore({ clients: target.clients, journal, leases: journal, caller: "test", runId: "run-tag" });
    expect(results).toMatchObject([{ status: "restored" }]);
    expect(target.emulator.store.resources.get(IDS.untagged.toLowerCase())?.tags).toEqual({ owner: "team-x" });
  });
});
