import { describe, expect, it } from "vitest";
import { azuriteTargets } from "../helpers/azuriteTargets.js";
import { defaultPolicy } from "../../shared/config/policy.js";
import { eventDependencies, notifierFor, TABLES } from "../../shared/composition.js";
import { runSweepJob } from "../../shared/engine/sweepJob.js";
import { replayEvents } from "../../shared/engine/replay.js";
import { TableFindingStateStore } from "../../shared/state/findingStateTable.js";
import { loadFixture, SUB } from "../helpers/estate.js";

const targets = azuriteTargets();
const RG = `/subscriptions/${SUB}/resourceGroups/rg-app`;
const ORPHAN = `${RG}/providers/Microsoft.Authorization/roleAssignments/00000000-0000-0000-0000-0000000000a2`;
const FIC = `${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-app-prod-uks-01/federatedIdentityCredentials/github-prod`;
const USER_CLAIMS = {
  appid: "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
  "http://schemas.microsoft.com/identity/claims/objectidentifier": "dddddddd-0000-0000-0000-0000000000bb",
  "http://schemas.microsoft.com/identity/claims/scope": "user_impersonation",
};

function event(id: string, operationName: string, resourceUri: string, eventType = "Microsoft.Resources.ResourceDeleteSuccess") {
  return { id, eventType, eventTime: "2026-11-20T10:00:00Z", subject: resourceUri, dataVersion: "2", metadataVersion: "1", data: { operationName, resourceUri, status: "Succeeded", subscriptionId: SUB, claims: USER_CLAIMS } };
}

const rows = (received: Record<string, unknown[]>) => (received["sentinel"]?.flat() ?? []) as Array<{ RuleId: string; Status: string; SubjectId: string }>;

describe("role-assignment and federated-credential deletes resolve the open findings about them (issue #14)", () => {
  it("a deleted orphaned assignment resolves its sweep finding at once; no new finding; the next sweep sends nothing more", async () => {
    const target = await targets.start(loadFixture("small-estate.json"));
    const clients = target.clients;
    const policy = defaultPolicy();
    const deps = eventDependencies(clients, policy, { notify: true });
    const notifier = notifierFor(clients);
    const findings = new TableFindingStateStore(clients.table(TABLES.findings));
    const sweep = () => runSweepJob(clients, policy, { findings, baseline: deps.baseline, catalog: deps.catalog, dedupe: deps.dedupe, ...(notifier ? { notifier } : {}) });
    const first = await sweep();
    expect(first.report.findings.some((finding) => finding.subjectId === ORPHAN)).toBe(true);

    // Still there: the delete event is not trusted, nothing resolves.
    const early = await replayEvents([event("del-early", "Microsoft.Authorization/roleAssignments/delete", ORPHAN)], deps);
    expect(early.findings).toEqual([]);
    expect(rows(target.emulator.capture.received).filter((row) => row.Status === "resolved")).toEqual([]);

    target.emulator.store.roleAssignments.delete(ORPHAN.toLowerCase());
    target.emulator.store.touch();
    const report = await replayEvents([event("del-1", "Microsoft.Authorization/roleAssignments/delete", ORPHAN.toLowerCase())], deps);
    expect(report.findings).toEqual([]);
    const resolved = rows(target.emulator.capture.received).filter((row) => row.Status === "resolved");
    expect(resolved.map((row) => [row.RuleId, row.SubjectId])).toEqual([["orphaned-role-assignment", ORPHAN]]);
    expect((await findings.openForSubjects([ORPHAN]))).toEqual([]);

    await sweep();
    expect(rows(target.emulator.capture.received).filter((row) => row.Status === "resolved")).toHaveLength(1);
  });

  it("a deleted federated credential resolves the event finding its creation raised", async () => {
    const target = await targets.start(loadFixture("small-estate.json"));
    const deps = eventDependencies(target.clients, defaultPolicy(), { notify: true });
    const created = await replayEvents([event("fic-w", "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write", FIC, "Microsoft.Resources.ResourceWriteSuccess")], deps);
    expect(created.findings.map((finding) => finding.ruleId)).toEqual(["federated-credential-outside-pipeline"]);
    target.emulator.store.federatedCredentials.delete(FIC.toLowerCase());
    target.emulator.store.touch();
    const deleted = await replayEvents([event("fic-d", "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/delete", FIC)], deps);
    expect(deleted.findings).toEqual([]);
    const resolved = rows(target.emulator.capture.received).filter((row) => row.Status === "resolved");
    expect(resolved.map((row) => [row.RuleId, row.SubjectId])).toEqual([["federated-credential-outside-pipeline", FIC]]);
  });
});
