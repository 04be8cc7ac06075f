import { describe, expect, it } from "vitest";
import type { TableClient } from "@azure/data-tables";
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
    const client = target.clients.table(TABLES.findings);
    const store = new TableFindingStateStore(client);
    const loads: Array<{ scope: string; snapshots: boolean | undefined }> = [];
    const spying = { ...store, load: (scope: string, options?: { snapshots?: boolean }) => (loads.push({ scope, snapshots: options?.snapshots }), store.load(scope, options)), loadSome: store.loadSome.bind(store), save: store.save.bind(store), openForSubjects: store.openForSubjects.bind(store) };
    const notifier = notifierFor(target.clients);
    const sweep = () => runSweepJob(target.clients, defaultPolicy(), { findings: spying, ...(notifier ? { notifier } : {}) });
    const spy = spyTransactions(client);
    const first = await sweep();
    const written = spy.operations.length;
    const second = await sweep();
    // The same estate swept again: every finding seen again is merged without its snapshot.
    expect(spy.operations.slice(written).filter(withSnapshot)).toEqual([]);
    expect(spy.operations.slice(written).length).toBe(second.report.findings.length);
    expect(second.report.findings.length).toBe(first.report.findings.length);
    expect(loads.filter((load) => load.scope === "sweep-all")).toEqual([{ scope: "sweep-all", snapshots: false }, { scope: "sweep-all", snapshots: false }]);
    const stored = await store.load("sweep-all");
    expect(stored.size).toBe(first.report.findings.length);
    for (const finding of second.report.findings) expect(JSON.parse(stored.get(finding.fingerprint)?.snapshot ?? "null")).toEqual(finding);
  });
});

/** One operation of a transaction as sent: its method and the properties of its entity. */
interface SentOperation {
  method: string;
  properties: string[];
}

/** The transactions a TableClient sends, read at its HTTP pipeline: each operation's method and entity properties, and the bytes. */
function spyTransactions(client: TableClient): { operations: SentOperation[]; bytes: number; reset: () => void } {
  const spy = { operations: [] as SentOperation[], bytes: 0, reset: () => ((spy.operations = []), (spy.bytes = 0)) };
  client.pipeline.addPolicy({
    name: "spyTransactions",
    sendRequest: async (request, next) => {
      if (request.url.includes("$batch") && typeof request.body === "string") {
        spy.bytes += Buffer.byteLength(request.body);
        // A changeset's parts: "METHOD url HTTP/1.1", headers, a blank line, the entity's JSON (the SDK merges with PATCH).
        for (const part of request.body.split(/--changeset_[^\r\n]*/).slice(1)) {
          const method = /^(PUT|MERGE|PATCH|POST|DELETE) /m.exec(part)?.[1];
          const json = part.slice(part.indexOf("{"), part.lastIndexOf("}") + 1);
          if (method) spy.operations.push({ method, properties: json ? Object.keys(JSON.parse(json) as object) : [] });
        }
      }
      return next(request);
    },
  });
  return spy;
}

const withSnapshot = (operation: SentOperation) => operation.properties.some((property) => property.startsWith("snapshot"));

describe("a sweep that sees the same findings again writes their counters, not their snapshots", () => {
  it("unchanged: merged without snapshot properties, the stored snapshot reads back whole; changed, reopened or stored without a hash: replaced with it", async () => {
    const target = await targets.start(loadFixture("small-estate.json"));
    const client = target.clients.table(TABLES.findings);
    const store = new TableFindingStateStore(client);
    const spy = spyTransactions(client);
    // With evidence of the size a sweep's findings carry (~3 KB, who can act as a privileged identity).
    const findings = Array.from({ length: 150 }, (_, n) => ({ ...finding(n), evidence: { rights: Array.from({ length: 20 }, (_, k) => ({ right: "assign", scope: `/subscriptions/s${n}/resourceGroups/rg-${k}`, via: `principal-${k}` })) } }));
    const sweep = async (seen: Finding[], hour: number) => {
      const previous = await store.load("sweep-all", { snapshots: false });
      spy.reset();
      await store.save("sweep-all", applyRun(previous, seen, { now: new Date(Date.UTC(2026, 10, 20, hour)), unknownRules: new Set() }).changed);
      return spy.operations;
    };

    const first = await sweep(findings, 0);
    expect(first.length).toBe(150);
    expect(first.every((operation) => operation.method === "PUT" && operation.properties.includes("snapshot") && operation.properties.includes("snapshotHash"))).toBe(true);
    const firstBytes = spy.bytes;

    const again = await sweep(findings, 1);
    expect(again.length).toBe(150);
    expect(again.filter(withSnapshot)).toEqual([]);
    expect(again.every((operation) => operation.method === "PATCH")).toBe(true);
    expect(spy.bytes).toBeLessThan(firstBytes / 4);
    const whole = await store.load("sweep-all");
    for (const f of findings) expect(JSON.parse(whole.get(f.fingerprint)?.snapshot ?? "null")).toEqual(f);
    expect(whole.get(findings[3]?.fingerprint ?? "")).toMatchObject({ timesSeen: 2, consecutive: 2, lastSeen: "2026-11-20T01:00:00.000Z", firstSeen: "2026-11-20T00:00:00.000Z" });
    const pointRead = await store.loadSome("sweep-all", [findings[5]?.fingerprint ?? ""]);
    expect(JSON.parse(pointRead.get(findings[5]?.fingerprint ?? "")?.snapshot ?? "null")).toEqual(findings[5]);

    // One finding's content changed: its snapshot (and hash) is written whole; the rest merge.
    const changed = { ...(findings[9] as Finding), message: "message 9, now with more rights", evidence: { rights: [{ right: "assign", scope: "/" }] } };
    const third = await sweep(findings.map((f, n) => (n === 9 ? changed : f)), 2);
    expect(third.filter(withSnapshot).length).toBe(1);
    expect(third.filter((operation) => operation.method === "PUT").length).toBe(1);
    expect(JSON.parse((await store.loadSome("sweep-all", [changed.fingerprint])).get(changed.fingerprint)?.snapshot ?? "null")).toEqual(changed);
    // And the next sweep that sees it so again leaves that snapshot alone.
    expect((await sweep(findings.map((f, n) => (n === 9 ? changed : f)), 3)).filter(withSnapshot)).toEqual([]);
    expect(JSON.parse((await store.load("sweep-all")).get(changed.fingerprint)?.snapshot ?? "null")).toEqual(changed);

    // Resolved, then seen again with the same content: replaced whole (a merge would keep resolvedAt).
    await sweep(findings.slice(1).map((f, n) => (n + 1 === 9 ? changed : f)), 4);
    const reopened = await sweep(findings.map((f, n) => (n === 9 ? changed : f)), 5);
    expect(reopened.filter(withSnapshot).length).toBe(1);
    const back = (await store.load("sweep-all")).get(findings[0]?.fingerprint ?? "");
    expect(back?.resolvedAt).toBeUndefined();
    expect(back).toMatchObject({ status: "open", firstSeen: "2026-11-20T05:00:00.000Z", consecutive: 1 });
    expect(JSON.parse(back?.snapshot ?? "null")).toEqual(findings[0]);
  });

  it("a record written before the hash was kept is rewritten once, then merged", async () => {
    const target = await targets.start(loadFixture("small-estate.json"));
    const client = target.clients.table(TABLES.findings);
    const store = new TableFindingStateStore(client);
    const old = finding(1);
    // As the previous version stored it: the record's fields and its snapshot, no hash.
    await client.createTable();
    const { fingerprint, finding: _inHand, ...fields } = applyRun(new Map(), [old], { now: new Date("2026-11-20T00:00:00Z"), unknownRules: new Set() }).changed[0] as FindingRecord;
    await client.upsertEntity({ partitionKey: "sweep-all", rowKey: fingerprint, ...fields, snapshot: JSON.stringify(old) }, "Replace");
    const spy = spyTransactions(client);
    const sweep = async (hour: number) => {
      const previous = await store.load("sweep-all", { snapshots: false });
      spy.reset();
      await store.save("sweep-all", applyRun(previous, [old], { now: new Date(Date.UTC(2026, 10, 20, hour)), unknownRules: new Set() }).changed);
      return spy.operations;
    };
    expect((await sweep(1)).map((operation) => [operation.method, withSnapshot(operation)])).toEqual([["PUT", true]]);
    expect((await sweep(2)).map((operation) => [operation.method, withSnapshot(operation)])).toEqual([["PATCH", false]]);
    const stored = (await store.load("sweep-all")).get(fingerprint);
    expect(stored).toMatchObject({ timesSeen: 3, consecutive: 3 });
    expect(JSON.parse(stored?.snapshot ?? "null")).toEqual(old);
  });
});
