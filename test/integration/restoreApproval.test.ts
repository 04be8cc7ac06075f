import { describe, expect, it } from "vitest";
import { defaultPolicy } from "../../shared/config/policy.js";
import { executeAction } from "../../shared/cleanup/pipeline.js";
import { restore } from "../../shared/cleanup/restore.js";
import { eventDependencies, journalTable } from "../../shared/composition.js";
import { handleResourceEvent } from "../../shared/engine/eventProcessor.js";
import { seedEventStores } from "../../local/seed.js";
import { azuriteTargets } from "../helpers/azuriteTargets.js";
import { IDS, PROTECTED, cleanupEstate, cleanupEvents, deleteOutsideGrantAction, detachExtraAction } from "../helpers/cleanupEstate.js";

/**
 * docs/guarantees.md "Restore is never enforced against": the events of a restore's own writes (the re-attached
 * identity, the recreated assignment), by whichever caller ran it, are approved as `restore <entry id>`
 * for 24 hours — so the rule in enforce mode does not detach and delete again.
 */
const targets = azuriteTargets();

const detachExtra = detachExtraAction("fp-r-detach");
const deleteGrant = deleteOutsideGrantAction("fp-r-grant");

describe("restore is never enforced against", () => {
  it("restore, then its own events replayed with the rules enforced: state unchanged, nothing reported", async () => {
    const estate = cleanupEstate();
    const target = await targets.start(estate);
    const policy = {
      ...defaultPolicy(),
      protected: { ...PROTECTED },
      cleanup: { ...defaultPolicy().cleanup, dryRun: false },
      rules: { ...defaultPolicy().rules, "attachment-outside-pipeline": { mode: "enforce" as const }, "role-assignment-outside-pipeline": { mode: "enforce" as const } },
    };
    const journal = journalTable(target.clients);
    const context = { clients: target.clients, policy, journal, leases: journal, runId: "run-enforce", caller: "test", onUnknownOutcome: "report" as const, roleAssignmentsSeen: 1000 };
    expect((await executeAction(detachExtra, context)).status).toBe("done");
    expect((await executeAction(deleteGrant, context)).status).toBe("done");
    const { results } = await restore({ clients: target.clients, journal, leases: journal, caller: "someone@contoso.example", runId: "run-enforce" });
    expect(results.map((result) => result.status)).toEqual(["restored", "restored"]);
    const before = JSON.stringify(target.emulator.store.snapshot());

    const deps = {
      ...eventDependencies(target.clients, policy),
      cleanup: { clients: target.clients, policy, forceEnforce: false, caller: "test", journal, leases: journal, dispatch: { kind: "inline" as const, concurrency: 1 } },
    };
    await seedEventStores(estate, deps);
    // The restore's writes as Event Grid reports them: a user's token (the operator who ran restore).
    const outcomes = [];
    for (const event of cleanupEvents()) outcomes.push(await handleResourceEvent({ ...(event as object), id: `restore-${(event as { id: string }).id}` }, deps));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["processed", "processed"]);
    expect(outcomes.flatMap((outcome) => outcome.findings)).toEqual([]);
    expect(outcomes.flatMap((outcome) => outcome.actions ?? [])).toEqual([]);
    expect(JSON.stringify(target.emulator.store.snapshot())).toBe(before);
    // The baseline absorbed the re-attached identity: a later event for the VM finds nothing new.
    expect((await deps.baseline.get(IDS.vm))?.map((id) => id.toLowerCase()).sort()).toEqual([IDS.app, IDS.extra].map((id) => id.toLowerCase()).sort());
  });
});
