import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { saveEstateFile } from "../../local/emulator/estate.js";
import { defaultPolicy } from "../../shared/config/policy.js";
import { executeAction } from "../../shared/cleanup/pipeline.js";
import { budgetNotices } from "../../shared/engine/runCommit.js";
import { actionIdOf } from "../../shared/cleanup/plan.js";
import type { PlannedAction } from "../../shared/cleanup/types.js";
import { TABLES } from "../../shared/composition.js";
import type { RunReport } from "../../shared/findings.js";
import { TableJournal } from "../../shared/state/journalTable.js";
import { azuriteTargets } from "../helpers/azuriteTargets.js";
import { P, PROTECTED, grantId, grantsEstate, systemEvent } from "../helpers/cleanupEstate.js";
import { startServe } from "../helpers/serve.js";

/**
 * docs/guarantees.md "One budget across runs": maxActionsPerHour and maxDeletePercent over 24 hours are counted
 * from the journal, so runs of one event each share them (before, 120 events through serve deleted
 * 23% of the role assignments with maxDeletePercent 5).
 */
const targets = azuriteTargets();
const BIN = fileURLToPath(new URL("../../bin/uami-guard.js", import.meta.url));
function grantEvent(index: number) {
  return systemEvent(`grant-${index}`, grantId(index), "Microsoft.Authorization/roleAssignments/write");
}

describe("one budget across runs", () => {
  it("maxActionsPerHour caps runs of one action each; one critical notice for the window", async () => {
    const target = await targets.start(grantsEstate(8, 20));
    const journal = new TableJournal(target.clients.table(TABLES.journal));
    const policy = { ...defaultPolicy(), protected: { ...PROTECTED }, cleanup: { ...defaultPolicy().cleanup, dryRun: false, maxActionsPerHour: 5, maxDeletePercent: 100 } };
    const records = [];
    for (let index = 0; index < 8; index += 1) {
      const action: PlannedAction = {
        actionId: actionIdOf("delete-role-assignment", grantId(index)),
        kind: "delete-role-assignment",
        targetId: grantId(index),
        principalId: P.extra,
        finding: { ruleId: "role-assignment-outside-pipeline", severity: "high", subjectId: grantId(index), fingerprint: `fp-${index}`, title: "grant", evidence: { principalId: P.extra } },
      };
      // Each action its own run, as one event each is.
      records.push(await executeAction(action, { clients: target.clients, policy, journal, leases: journal, runId: `event-${index}`, caller: "test", onUnknownOutcome: "report", roleAssignmentsSeen: 1000 }));
    }
    expect(records.map((record) => record.status)).toEqual(["done", "done", "done", "done", "done", "deferred", "deferred", "deferred"]);
    // Every deferral says which budget; the window gets one notice (the same subject, whichever run raises it).
    expect(new Set(records.filter((record) => record.budget).map((record) => record.budget?.name))).toEqual(new Set(["hour"]));
    expect(budgetNotices(records, "any", new Date())).toHaveLength(1);
    expect(records[5]?.reason).toMatch(/cleanup.maxActionsPerHour 5 reached/);
    const left = [...target.emulator.store.roleAssignments.keys()].filter((key) => key.includes("/rg-g")).length;
    expect(left).toBe(3);
  });

  it("150 grant events through serve (one run each) delete no more than maxDeletePercent over 24 hours", async () => {
    const dir = mkdtempSync(join(tmpdir(), "uami-guard-budget-"));
    const estatePath = join(dir, "estate.json");
    const estate = grantsEstate(150, 370);
    saveEstateFile(estatePath, estate);
    const total = estate.roleAssignments.length;
    const policyPath = join(dir, "policy.json");
    writeFileSync(
      policyPath,
      JSON.stringify({ protected: PROTECTED, cleanup: { dryRun: false, maxActionsPerRun: 10, maxDeletePercent: 5 }, rules: { "role-assignment-outside-pipeline": { mode: "enforce" } } }),
    );
    const serve = await startServe(["--estate", estatePath, "--policy", policyPath]);
    try {
      for (let index = 0; index < 150; index += 1) {
        const response = await fetch(serve.webhook(), { method: "POST", headers: serve.eventHeaders, body: JSON.stringify([grantEvent(index)]) });
        expect(response.status).toBe(200);
      }
      const finished = () => (serve.stderr.match(/\[cleanup\] cleanup event-grant-\d+: (done|deferred|failed|skipped|unknown):/g) ?? []).length;
      const deadline = Date.now() + 120_000;
      while (finished() < 150 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
      expect(finished()).toBe(150);
      const done = (serve.stderr.match(/cleanup event-grant-\d+: done:/g) ?? []).length;
      // Each run saw at most `total` role assignments: 5% of them over the 24 hours, all runs together.
      expect(done).toBeGreaterThan(0);
      expect(done).toBeLessThanOrEqual(Math.floor((total * 5) / 100));
      expect((serve.stderr.match(/cleanup event-grant-\d+: deferred:/g) ?? []).length).toBe(150 - done);
      expect(serve.stderr.match(/critical cleanup-circuit-breaker/g)).toHaveLength(1);
    } finally {
      await serve.stop();
    }
  }, 240_000);

  it("CLI runs sharing --state share the hour: the second replay's deletion is deferred, with the window's critical notice, and exits 0", () => {
    const dir = mkdtempSync(join(tmpdir(), "uami-guard-budget-cli-"));
    const estatePath = join(dir, "estate.json");
    saveEstateFile(estatePath, grantsEstate(2, 20));
    const policyPath = join(dir, "policy.json");
    writeFileSync(policyPath, JSON.stringify({ protected: PROTECTED, cleanup: { dryRun: false, maxActionsPerHour: 1, maxDeletePercent: 100 }, rules: { "role-assignment-outside-pipeline": { mode: "enforce" } } }));
    const replay = (index: number) => {
      const events = join(dir, `events-${index}.json`);
      writeFileSync(events, JSON.stringify([grantEvent(index)]));
      const run = spawnSync(process.execPath, [BIN, "replay", "--events", events, "--estate", estatePath, "--policy", policyPath, "--enforce", "--state", join(dir, "state"), "--output", "json"], { encoding: "utf8", env: { ...process.env, UAMI_GUARD_POLICY: "" } });
      return { code: run.status, stderr: run.stderr, report: JSON.parse(run.stdout || "{}") as RunReport };
    };
    const first = replay(0);
    expect(first.code, first.stderr).toBe(0);
    expect(first.report.actions.map((action) => action.status)).toEqual(["done"]);
    const second = replay(1);
    expect(second.code, second.stderr).toBe(0);
    expect(second.report.actions.map((action) => [action.status, action.reason])).toEqual([["deferred", expect.stringMatching(/cleanup\.maxActionsPerHour 1 reached/)]]);
    expect(second.report.findings.filter((finding) => finding.ruleId === "cleanup-circuit-breaker").map((finding) => [finding.severity, finding.subjectId.replace(/\d{4}-.*$/, "<hour>")])).toEqual([["critical", "cleanup-budget/hour/<hour>"]]);
  }, 60_000);
});
