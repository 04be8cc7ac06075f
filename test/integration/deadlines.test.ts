import { describe, expect, it } from "vitest";
import { defaultPolicy } from "../../shared/config/policy.js";
import { runSweep } from "../../shared/engine/sweep.js";
import { executeAction } from "../../shared/cleanup/pipeline.js";
import { actionIdOf } from "../../shared/cleanup/plan.js";
import { readArm } from "../../shared/azure/armActions.js";
import { DEADLINE_EXCEEDED, withRunDeadline } from "../../shared/azure/deadline.js";
import { handleResourceEvent } from "../../shared/engine/eventProcessor.js";
import { TABLES, eventDependencies } from "../../shared/composition.js";
import { TableJournal } from "../../shared/state/journalTable.js";
import { parseEstate, type Estate } from "../../local/emulator/estate.js";
import { azuriteTargets } from "../helpers/azuriteTargets.js";
import { IDS, P, PROTECTED, cleanupEstate, cleanupEvents } from "../helpers/cleanupEstate.js";

/**
 * docs/guarantees.md "Every call has a deadline": a request that does not answer is an outcome unknown, never a
 * hang. The emulator's `hangMs` stalls one call far past the client's deadline.
 */
const targets = azuriteTargets();
const FAST = { callMs: 400, runMs: 60_000 };
const STALL = 120_000;

function withFaults(faults: unknown[]): Estate {
  const base = cleanupEstate();
  return parseEstate({ ...base, emulator: { ...base.emulator, faults } }, "stalling estate");
}

async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}

describe("deadlines on every outgoing call", () => {
  it("a stalled ARM GET fails with an outcome-unknown error within the call deadline", async () => {
    const target = await targets.start(withFaults([{ service: "arm", method: "GET", hangMs: STALL }]), FAST);
    const error = await within(5_000, readArm(target.clients, IDS.vm, "2024-07-01").then(() => undefined, (cause: unknown) => cause));
    expect(error).toMatchObject({ statusCode: undefined, message: expect.stringMatching(/400 ms call deadline/) });
  });

  it("a stalled Resource Graph query fails the sweep (nothing concluded) instead of hanging it", async () => {
    const target = await targets.start(withFaults([{ service: "resourceGraph", hangMs: STALL }]), FAST);
    await expect(within(10_000, runSweep(target.clients, defaultPolicy()))).rejects.toThrow(/deadline/);
  });

  it("a stalled Graph lookup makes the orphan check incomplete, never a finding", async () => {
    const target = await targets.start(withFaults([{ service: "graph", hangMs: STALL }]), FAST);
    const report = await within(10_000, runSweep(target.clients, { ...defaultPolicy(), protected: { ...PROTECTED } }));
    expect(report.findings.filter((finding) => finding.ruleId === "orphaned-role-assignment")).toEqual([]);
    expect(report.incomplete.map((entry) => entry.check)).toContain("directory-lookup");
  });

  it("a stalled DELETE is re-read and journaled as observed, never left hanging", async () => {
    const target = await targets.start(withFaults([{ service: "arm", method: "DELETE", hangMs: STALL }]), FAST);
    const journal = new TableJournal(target.clients.table(TABLES.journal));
    const action = {
      actionId: actionIdOf("delete-role-assignment", IDS.orphan),
      kind: "delete-role-assignment" as const,
      targetId: IDS.orphan,
      principalId: P.gone,
      finding: { ruleId: "orphaned-role-assignment", severity: "high" as const, subjectId: IDS.orphan, fingerprint: "fp-stall", title: "orphan", evidence: { principalId: P.gone } },
    };
    const policy = { ...defaultPolicy(), protected: { ...PROTECTED } };
    const record = await within(10_000, executeAction(action, { clients: target.clients, policy, journal, leases: journal, runId: "run-stall", caller: "test", onUnknownOutcome: "report", roleAssignmentsSeen: 1000 }));
    // The emulator drops a request whose client gave up: the assignment is still there, and the journal says so.
    expect(target.emulator.store.roleAssignments.has(IDS.orphan.toLowerCase())).toBe(true);
    expect(record.status).toBe("failed");
    const [entry] = await journal.entries({ runId: "run-stall" });
    expect(entry).toMatchObject({ status: "failed", detail: expect.stringMatching(/not made/) });
    expect(await journal.pending()).toEqual([]);
  });

  it("an event whose ARM read stalls fails for redelivery within the deadline (a timeout is transient)", async () => {
    const target = await targets.start(withFaults([{ service: "arm", method: "GET", hangMs: STALL }]), FAST);
    const outcome = await within(10_000, handleResourceEvent(cleanupEvents()[0], eventDependencies(target.clients, defaultPolicy(), { notify: false, delivery: { maxAttempts: 10, ttlMinutes: 1440 } })));
    expect(outcome.status).toBe("failed");
  });

  it("the run deadline ends a run whose calls each stay inside the call deadline", async () => {
    const target = await targets.start(withFaults([{ service: "arm", method: "GET", hangMs: STALL }]), { callMs: 60_000, runMs: 300 });
    const started = Date.now();
    const error = await within(5_000, withRunDeadline(target.clients.deadlines.runMs, () => readArm(target.clients, IDS.vm, "2024-07-01")).then(() => undefined, (cause: unknown) => cause));
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(error).toMatchObject({ code: DEADLINE_EXCEEDED, message: expect.stringMatching(/run's 300 ms deadline/) });
  });
});
