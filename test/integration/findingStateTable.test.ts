import { describe, expect, it } from "vitest";
import { azuriteTargets } from "../helpers/azuriteTargets.js";
import { loadFixture } from "../helpers/estate.js";
import { TABLES } from "../../shared/composition.js";
import { applyRun, type FindingRecord } from "../../shared/engine/findingLifecycle.js";
import { TableFindingStateStore } from "../../shared/state/findingStateTable.js";
import { runSweepJob } from "../../shared/engine/sweepJob.js";
import { defaultPolicy } from "../../shared/config/policy.js";
import { notifierFor } from "../../shared/composition.js";
import { fingerprintOf, type Finding } from "../../shared/findings.js";

const targets = azuriteTargets();

function finding(n: number): Finding {
  const subjectId = `/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-${n}`;
  return {
    ruleId: "privileged-identity-exposed", severity: "critical", subjectId, relatedId: `principal-${n}`, fingerprint: fingerprintOf("privileged-identity-exposed", subjectId, `principal-${n}`),
    title: `title ${n}`, message: `message ${n}`, evidence: { rights: [{ right: "assign", scope: `/subscriptions/s${n}` }] }, remediation: { summary: "", cli: [] },
  };
}

describe("finding state in Table storage, read and written without holding every snapshot", () => {
  it("reads a partition without snapshots; a record saved back without one keeps the stored snapshot; many records are read in one pass", async () => {
    const target = await targets.start(loadFixture("small-estate.json"));
    const store = new TableFindingStateStore(target.clients.table(TABLES.findings));
    const findings = Array.from({ length: 150 }, (_, n) => finding(n));
    const first = applyRun(new Map(), findings, { now: new Date("2026-11-20T10:00:00Z"), unknownRules: new Set() });
    await store.save("sweep-all", first.changed);

    const whole = await store.load("sweep-all");
    expect(JSON.parse(whole.get(findings[7]?.fingerprint ?? "")?.snapshot ?? "")).toEqual(findings[7]);
    const lean = await store.load("sweep-all", { snapshots: false });
    expect(lean.size).toBe(150);
    expect([...lean.values()].every((record) => record.snapshot === undefined)).toBe(true);
    expect(lean.get(findings[7]?.fingerprint ?? "")).toMatchObject({ status: "open", timesSeen: 1, title: "title 7", relatedId: "principal-7" });

    // The next sweep sees all but the first: it is resolved, saved without its snapshot, which stays.
    const second = applyRun(lean, findings.slice(1), { now: new Date("2026-11-20T16:00:00Z"), unknownRules: new Set() });
    await store.save("sweep-all", second.changed);
    const gone = (await store.load("sweep-all")).get(findings[0]?.fingerprint ?? "") as FindingRecord;
    expect(gone).toMatchObject({ status: "resolved", resolvedAt: "2026-11-20T16:00:00.000Z" });
    expect(JSON.parse(gone.snapshot ?? "")).toEqual(findings[0]);

    // More than are read one by one: one pass over the partition, only those asked for.
    const asked = findings.slice(20, 140).map((f) => f.fingerprint);
    const some = await store.loadSome("sweep-all", asked);
    expect([...some.keys()].sort()).toEqual([...asked].sort());
    expect(JSON.parse(some.get(asked[0] ?? "")?.snapshot ?? "")).toEqual(findings[20]);
  });

  it("the sweep job reads its partition without snapshots, and every record keeps one across sweeps", async () => {
    const target = await targets.start(loadFixture("small-estate.json"));
    const store = new TableFindingStateStore(target.clients.table(TABLES.findings));
    const loads: Array<{ scope: string; snapshots: boolean | undefined }> = [];
    const spying = { ...store, load: (scope: string, options?: { snapshots?: boolean }) => (loads.push({ scope, snapshots: options?.snapshots }), store.load(scope, options)), loadSome: store.loadSome.bind(store), save: store.save.bind(store), openForSubjects: store.openForSubjects.bind(store) };
    const notifier = notifierFor(target.clients);
    const sweep = () => runSweepJob(target.clients, defaultPolicy(), { findings: spying, ...(notifier ? { notifier } : {}) });
    const first = await sweep();
    const second = await sweep();
    expect(second.report.findings.length).toBe(first.report.findings.length);
    expect(loads.filter((load) => load.scope === "sweep-all")).toEqual([{ scope: "sweep-all", snapshots: false }, { scope: "sweep-all", snapshots: false }]);
    const stored = await store.load("sweep-all");
    expect(stored.size).toBe(first.report.findings.length);
    for (const finding of second.report.findings) expect(JSON.parse(stored.get(finding.fingerprint)?.snapshot ?? "null")).toEqual(finding);
  });
});
