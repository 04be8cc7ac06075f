import { describe, expect, it } from "vitest";
import { defaultPolicy } from "../../shared/config/policy.js";
import { runSweep } from "../../shared/engine/sweep.js";
import { executeAction } from "../../shared/cleanup/pipeline.js";
import { actionIdOf } from "../../shared/cleanup/plan.js";
import { TableJournal } from "../../shared/state/journalTable.js";
import { TABLES } from "../../shared/composition.js";
import { parseEstate } from "../../local/emulator/estate.js";
import { azuriteTargets } from "../helpers/azuriteTargets.js";
import { PROTECTED, cleanupEstate } from "../helpers/cleanupEstate.js";
import { SUB, guid } from "../helpers/estate.js";

/**
 * docs/guarantees.md "Unknown is never deleted": Graph getByIds returns only the `types` asked for, so a live Device
 * principal looked up as user/group/servicePrincipal looks deleted. Every type that can be looked up
 * is asked for; a type that cannot be is never an orphan.
 */
const targets = azuriteTargets();
const DEVICE = guid(7, "de");
const OTHER = guid(8, "de");
const rg = `/subscriptions/${SUB}/resourceGroups/rg-app`;
const DEVICE_ASSIGNMENT = `${rg}/providers/Microsoft.Authorization/roleAssignments/${guid(7, "0d")}`;
const OTHER_ASSIGNMENT = `${rg}/providers/Microsoft.Authorization/roleAssignments/${guid(8, "0d")}`;
const READER = `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7`;

function estateWithDevice() {
  const base = cleanupEstate();
  const assignment = (id: string, principalId: string, principalType: string) => ({
    id,
    name: id.split("/").pop() ?? "",
    type: "Microsoft.Authorization/roleAssignments",
    properties: { scope: rg, roleDefinitionId: READER, principalId, principalType, createdOn: "2026-01-01T00:00:00Z", updatedOn: "2026-01-01T00:00:00Z" },
  });
  return parseEstate(
    {
      ...base,
      directory: [...base.directory, { id: DEVICE, "@odata.type": "#microsoft.graph.device", displayName: "kiosk-01" }],
      // A principal type the lookup cannot ask for (and that Graph does not hold here): unknown, not missing.
      roleAssignments: [...base.roleAssignments, assignment(DEVICE_ASSIGNMENT, DEVICE, "Device"), assignment(OTHER_ASSIGNMENT, OTHER, "DirectoryRoleTemplate")],
    },
    "device estate",
  );
}

describe("principal types in the directory lookup", () => {
  it("a live Device principal is found, and a type that cannot be looked up is never an orphan", async () => {
    const target = await targets.start(estateWithDevice());
    const report = await runSweep(target.clients, { ...defaultPolicy(), protected: { ...PROTECTED } });
    const orphans = report.findings.filter((finding) => finding.ruleId === "orphaned-role-assignment").map((finding) => finding.subjectId.toLowerCase());
    expect(orphans).not.toContain(DEVICE_ASSIGNMENT.toLowerCase());
    expect(orphans).not.toContain(OTHER_ASSIGNMENT.toLowerCase());
    const lookups = target.emulator.requests.filter((request) => request.service === "graph");
    expect(lookups.length).toBeGreaterThan(0);
  });

  it("the executor never deletes a live Device principal's assignment, nor one of a type it cannot look up", async () => {
    const target = await targets.start(estateWithDevice());
    const journal = new TableJournal(target.clients.table(TABLES.journal));
    const context = { clients: target.clients, policy: { ...defaultPolicy(), protected: { ...PROTECTED } }, journal, leases: journal, runId: "run-device", caller: "test", onUnknownOutcome: "report" as const };
    for (const [targetId, principalId] of [[DEVICE_ASSIGNMENT, DEVICE], [OTHER_ASSIGNMENT, OTHER]] as const) {
      const record = await executeAction(
        {
          actionId: actionIdOf("delete-role-assignment", targetId),
          kind: "delete-role-assignment",
          targetId,
          principalId,
          finding: { ruleId: "orphaned-role-assignment", severity: "high", subjectId: targetId, fingerprint: `fp-${principalId}`, title: "orphan", evidence: { principalId } },
        },
        context,
      );
      expect(record.status).toBe("skipped");
      expect(target.emulator.store.roleAssignments.has(targetId.toLowerCase())).toBe(true);
    }
  });
});
