import { describe, expect, it } from "vitest";
import { defaultPolicy } from "../../shared/config/policy.js";
import { executeAction } from "../../shared/cleanup/pipeline.js";
import { restore } from "../../shared/cleanup/restore.js";
import type { PlannedAction } from "../../shared/cleanup/types.js";
import { TABLES } from "../../shared/composition.js";
import { TableJournal } from "../../shared/state/journalTable.js";
import { parseEstate } from "../../local/emulator/estate.js";
import type { TestTarget } from "../helpers/estate.js";
import { azuriteTargets } from "../helpers/azuriteTargets.js";
import { IDS, PROTECTED, cleanupEstate, deleteOutsideGrantAction, detachExtraAction } from "../helpers/cleanupEstate.js";

/**
 * docs/guarantees.md "Truth of the journal": when a change's answer is lost (reset, 5xx) and the SDK's retry
 * answers 204/404/409/412, the executor re-reads the target and journals what it observes. The
 * emulator's `afterApply` makes the change and then loses or falsifies the answer.
 */
const targets = azuriteTargets();

const deleteGrant = deleteOutsideGrantAction("fp-truth-delete");
const detachExtra = detachExtraAction("fp-truth-detach");

async function run(faults: unknown[], action: PlannedAction, runId: string) {
  const base = cleanupEstate();
  const target = await targets.start(parseEstate({ ...base, emulator: { ...base.emulator, faults } }, "faulty estate"));
  const journal = new TableJournal(target.clients.table(TABLES.journal));
  const policy = { ...defaultPolicy(), protected: { ...PROTECTED } };
  const record = await executeAction(action, { clients: target.clients, policy, journal, leases: journal, runId, caller: "test", onUnknownOutcome: "report", roleAssignmentsSeen: 1000 });
  const [entry] = await journal.entries({ runId });
  return { target, journal, record, entry };
}

const assignmentExists = (target: TestTarget): boolean => target.emulator.store.roleAssignments.has(IDS.outside.toLowerCase());
const attached = (target: TestTarget): boolean =>
  Object.keys(target.emulator.store.resources.get(IDS.vm.toLowerCase())?.identity?.userAssignedIdentities ?? {}).some((id) => id.toLowerCase() === IDS.extra.toLowerCase());

describe("the journal tells the truth after a lost answer (DELETE)", () => {
  it.each([
    ["500 after the delete, the retry answers 204", [{ service: "arm", method: "DELETE", status: 500, afterApply: true, count: 1 }]],
    ["a reset after the delete, the retry answers 204", [{ service: "arm", method: "DELETE", reset: true, afterApply: true, count: 1 }]],
    ["503 after the delete on every attempt", [{ service: "arm", method: "DELETE", status: 503, afterApply: true, retryAfterSeconds: 0 }]],
    ["404 after the delete", [{ service: "arm", method: "DELETE", status: 404, afterApply: true, count: 1 }]],
    ["409 after the delete", [{ service: "arm", method: "DELETE", status: 409, afterApply: true, count: 1 }]],
    ["412 after the delete", [{ service: "arm", method: "DELETE", status: 412, afterApply: true, count: 1 }]],
  ])("%s: journaled done, and restore brings the assignment back", async (_name, faults) => {
    const { target, journal, record, entry } = await run(faults, deleteGrant, "run-delete");
    expect(assignmentExists(target)).toBe(false);
    expect(record.status).toBe("done");
    expect(entry?.status).toBe("done");
    expect(entry?.detail).not.toMatch(/nothing changed/);
    const { results } = await restore({ clients: target.clients, journal, leases: journal, caller: "test", runId: "run-delete" });
    expect(results).toMatchObject([{ status: "restored" }]);
    expect(assignmentExists(target)).toBe(true);
  });

  it.each([
    ["409 instead of the delete", [{ service: "arm", method: "DELETE", status: 409 }]],
    ["404 instead of the delete (the assignment is still there)", [{ service: "arm", method: "DELETE", status: 404, count: 1 }]],
  ])("%s: journaled failed, the assignment is untouched", async (_name, faults) => {
    const { target, journal, record, entry } = await run(faults, deleteGrant, "run-refused");
    expect(assignmentExists(target)).toBe(true);
    expect(record.status).toBe("failed");
    expect(entry).toMatchObject({ status: "failed", detail: expect.stringMatching(/not made/) });
    expect(await journal.pending()).toEqual([]);
  });
});

describe("the journal tells the truth after a lost answer (detach PATCH)", () => {
  it.each([
    ["500 after the PATCH, the retry answers 412 (stale ETag)", [{ service: "arm", method: "PATCH", status: 500, afterApply: true, count: 1 }]],
    ["a reset after the PATCH, the retry answers 412", [{ service: "arm", method: "PATCH", reset: true, afterApply: true, count: 1 }]],
    ["409 after the PATCH", [{ service: "arm", method: "PATCH", status: 409, afterApply: true, count: 1 }]],
    ["412 after the PATCH", [{ service: "arm", method: "PATCH", status: 412, afterApply: true, count: 1 }]],
  ])("%s: journaled done, and restore re-attaches", async (_name, faults) => {
    const { target, journal, record, entry } = await run(faults, detachExtra, "run-detach");
    expect(attached(target)).toBe(false);
    expect(record.status).toBe("done");
    expect(entry?.status).toBe("done");
    const { results } = await restore({ clients: target.clients, journal, leases: journal, caller: "test", runId: "run-detach" });
    expect(results).toMatchObject([{ status: "restored" }]);
    expect(attached(target)).toBe(true);
  });

  it("412 instead of the PATCH: journaled failed, still attached", async () => {
    const { target, record, entry } = await run([{ service: "arm", method: "PATCH", status: 412 }], detachExtra, "run-412");
    expect(attached(target)).toBe(true);
    expect(record.status).toBe("failed");
    expect(entry).toMatchObject({ status: "failed", detail: expect.stringMatching(/not made/) });
  });
});
