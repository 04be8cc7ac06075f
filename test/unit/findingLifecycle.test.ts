import { describe, expect, it } from "vitest";
import { applyRun, snapshotHashOf, snapshotToWrite, storedRecord, type FindingRecord, type FindingStateStore } from "../../shared/engine/findingLifecycle.js";
import { commitRun } from "../../shared/engine/runCommit.js";
import { defaultPolicy } from "../../shared/config/policy.js";
import { Notifier, type PlannedNotices } from "../../shared/notify/notifier.js";
import type { NotificationOutbox, OutboxDraft } from "../../shared/state/outbox.js";
import { fingerprintOf, type Finding } from "../../shared/findings.js";

function finding(ruleId: string, subjectId: string): Finding {
  return { ruleId, severity: "high", subjectId, fingerprint: fingerprintOf(ruleId, subjectId), title: "t", message: "m", evidence: {}, remediation: { summary: "", cli: [] } };
}

const A = finding("orphaned-role-assignment", "/ra/1");
const B = finding("untagged-identity", "/id/1");
const T = (hour: number) => new Date(Date.UTC(2026, 10, 20, hour));

function run(previous: Map<string, FindingRecord>, findings: Finding[], hour: number, unknownRules: string[] = []) {
  const result = applyRun(previous, findings, { now: T(hour), unknownRules: new Set(unknownRules) });
  const next = new Map(previous);
  for (const record of result.changed) next.set(record.fingerprint, record);
  return { result, next };
}

describe("finding lifecycle", () => {
  it("counts sightings, confirms consecutive ones and resolves what disappears", () => {
    let state = new Map<string, FindingRecord>();
    const first = run(state, [A, B], 0);
    expect(first.result.opened.map((f) => f.ruleId)).toEqual(["orphaned-role-assignment", "untagged-identity"]);
    state = first.next;
    const second = run(state, [A, B], 6);
    expect(second.result.opened).toEqual([]);
    expect(second.next.get(A.fingerprint)).toMatchObject({ timesSeen: 2, consecutive: 2, firstSeen: T(0).toISOString(), lastSeen: T(6).toISOString() });
    state = second.next;
    const third = run(state, [A], 12);
    expect(third.result.resolved.map((r) => r.fingerprint)).toEqual([B.fingerprint]);
    expect(third.next.get(B.fingerprint)).toMatchObject({ status: "resolved", resolvedAt: T(12).toISOString(), consecutive: 0 });
    state = third.next;
    const fourth = run(state, [A, B], 18);
    expect(fourth.result.opened.map((f) => f.fingerprint)).toEqual([B.fingerprint]);
    expect(fourth.next.get(B.fingerprint)).toMatchObject({ status: "open", timesSeen: 3, consecutive: 1, firstSeen: T(18).toISOString() });
  });

  it("an incomplete check neither resolves nor confirms its rule's findings", () => {
    const { next } = run(new Map(), [A], 0);
    const blind = run(next, [], 6, ["orphaned-role-assignment"]);
    expect(blind.result.resolved).toEqual([]);
    expect(blind.next.get(A.fingerprint)).toMatchObject({ status: "open", consecutive: 0, timesSeen: 1 });
    const again = run(blind.next, [A], 12);
    expect(again.next.get(A.fingerprint)).toMatchObject({ consecutive: 1, timesSeen: 2 });
  });
});

/** A store that counts its writes. */
function countingStore(records: FindingRecord[] = []) {
  const saves: Array<{ scope: string; records: FindingRecord[] }> = [];
  const store: FindingStateStore = {
    load: async () => new Map(records.map((record) => [record.fingerprint, record])),
    loadSome: async (_scope, fingerprints) => new Map(records.filter((record) => fingerprints.includes(record.fingerprint)).map((record) => [record.fingerprint, record])),
    save: async (scope, saved) => void saves.push({ scope, records: saved }),
  };
  return { store, saves };
}

/** A notifier that plans a notice for every opened finding and records the order of what the commit asks of it. */
function recordingNotifier(steps: string[], options: { failEnqueue?: boolean } = {}): Notifier {
  return {
    plan: (lifecycle: { opened: Finding[] }) => ({ drafts: [], notices: [], notified: lifecycle.opened.map((opened) => opened.fingerprint) }),
    enqueue: async (planned: PlannedNotices) => {
      if (options.failEnqueue) throw new Error("outbox down");
      if (planned.notified.length > 0) steps.push("outbox");
    },
    dispatch: async () => {
      steps.push("dispatch");
      return { result: { delivered: {}, pending: {}, errors: [] }, deadLetters: [] };
    },
  } as unknown as Notifier;
}

describe("the run commit saves each run once, in order", () => {
  it("a sweep: outbox, one save with lastNotifiedAt on what was planned, notices, and what later runs compare against last", async () => {
    const steps: string[] = [];
    const { store, saves } = countingStore();
    const tracked: FindingStateStore = { ...store, save: async (scope, records) => { steps.push(`save ${scope}`); await store.save(scope, records); } };
    const { lifecycle } = await commitRun(
      { runId: "sweep-1", mode: "sweep", now: T(1), policy: defaultPolicy(), state: { scope: "sweep-all", previous: new Map(), unknownRules: new Set() }, findings: [A, B], after: [async () => void steps.push("baseline")] },
      { findings: tracked, notifier: recordingNotifier(steps) },
    );
    expect(lifecycle.opened).toHaveLength(2);
    expect(steps).toEqual(["outbox", "save sweep-all", "dispatch", "baseline"]);
    expect(saves[0]?.records.find((record) => record.fingerprint === A.fingerprint)?.lastNotifiedAt).toBe(T(1).toISOString());
  });

  it("a failed outbox write saves nothing and writes no baseline: the redelivery finds the same findings new", async () => {
    const steps: string[] = [];
    const { store, saves } = countingStore();
    const run = commitRun(
      { runId: "event-1", mode: "event", now: T(1), policy: defaultPolicy(), state: { scope: "events", inHand: true }, findings: [A], after: [async () => void steps.push("baseline")] },
      { findings: store, notifier: recordingNotifier(steps, { failEnqueue: true }) },
    );
    await expect(run).rejects.toThrow("outbox down");
    expect(saves).toEqual([]);
    expect(steps).toEqual([]);
  });

  it("an event: only the findings in hand, never resolved, one save in the events partition", async () => {
    const seenBefore = run(new Map(), [A], 1).result.changed;
    const { store, saves } = countingStore(seenBefore);
    const { lifecycle } = await commitRun({ runId: "event-2", mode: "event", now: T(2), policy: defaultPolicy(), state: { scope: "events", inHand: true }, findings: [A, B] }, { findings: store });
    expect(lifecycle.opened.map((finding) => finding.fingerprint)).toEqual([B.fingerprint]);
    expect(lifecycle.resolved).toEqual([]);
    expect(saves.map((save) => [save.scope, save.records.length])).toEqual([["events", 2]]);
  });
});

describe("a sweep's finding state never holds every snapshot at once", () => {
  const rich = (n: number): Finding => ({ ...finding("privileged-identity-exposed", `/id/${n}`), evidence: { rights: [{ right: "assign", scope: `/subscriptions/s${n}` }] } });

  it("a record carries the finding it saw; the snapshot is made as the store writes it (storedRecord)", () => {
    const seen = rich(1);
    const [record] = applyRun(new Map(), [seen], { now: T(0), unknownRules: new Set() }).changed;
    expect(record?.finding).toBe(seen);
    expect(record?.snapshot).toBeUndefined();
    const stored = storedRecord(record as FindingRecord);
    expect(stored).not.toHaveProperty("finding");
    expect(JSON.parse(stored.snapshot ?? "")).toEqual(seen);
    expect(snapshotToWrite(record as FindingRecord)).toBe(JSON.stringify(seen));
  });

  it("a record read without its snapshot and not seen again is saved without one (the store keeps its own), and its resolution notice still says the whole finding", async () => {
    const gone = rich(2);
    const kept = rich(3);
    const first = applyRun(new Map(), [gone, kept], { now: T(0), unknownRules: new Set() }).changed.map((record) => ({ ...storedRecord(record), lastNotifiedAt: T(0).toISOString() }));
    // As a sweep reads its partition (`snapshots: false`); loadSome answers with the snapshots.
    const readWithout = new Map(first.map(({ snapshot: _snapshot, ...record }) => [record.fingerprint, record as FindingRecord]));
    const asked: string[][] = [];
    const { store, saves } = countingStore(first);
    const tracked: FindingStateStore = { ...store, loadSome: async (scope, fingerprints) => (asked.push(fingerprints), store.loadSome(scope, fingerprints)) };
    const written: OutboxDraft[] = [];
    const outbox = { enqueue: async (drafts: OutboxDraft[]) => void written.push(...drafts) } as unknown as NotificationOutbox;
    const notifier = new Notifier([{ name: "eventgrid", batchLimit: 10, deliver: async () => [] }], outbox);
    notifier.dispatch = async () => ({ result: { delivered: {}, pending: {}, errors: [] }, deadLetters: [] });
    await commitRun(
      { runId: "sweep-2", mode: "sweep", now: T(6), policy: defaultPolicy(), state: { scope: "sweep-all", previous: readWithout, unknownRules: new Set() }, findings: [kept] },
      { findings: tracked, notifier },
    );
    // Only the resolution's snapshot is read.
    expect(asked).toEqual([[gone.fingerprint]]);
    const resolution = written.find((draft) => draft.fingerprint === gone.fingerprint);
    expect(JSON.stringify(resolution?.payload)).toContain(`/subscriptions/s2`);
    const saved = new Map(saves.flatMap((save) => save.records).map((record) => [record.fingerprint, record]));
    expect(saved.get(gone.fingerprint)).toMatchObject({ status: "resolved" });
    expect(saved.get(gone.fingerprint)?.snapshot).toBeUndefined();
    expect(snapshotToWrite(saved.get(kept.fingerprint) as FindingRecord)).toBe(JSON.stringify(kept));
  });
});

describe("a finding seen again with the snapshot stored for it is saved without it", () => {
  const rich = (n: number, scope = `/subscriptions/s${n}`): Finding => ({ ...finding("privileged-identity-exposed", `/id/${n}`), evidence: { rights: [{ right: "assign", scope }] } });

  it("stores the snapshot's hash with it; the same content again: the record's fields only (no snapshot, no hash), counters moved on", () => {
    const seen = rich(1);
    const first = storedRecord(applyRun(new Map(), [seen], { now: T(0), unknownRules: new Set() }).changed[0] as FindingRecord);
    expect(first.snapshotHash).toBe(snapshotHashOf(JSON.stringify(seen)));
    const previous = new Map([[seen.fingerprint, { ...first, snapshot: undefined }]]);
    const again = applyRun(previous, [rich(1)], { now: T(1), unknownRules: new Set() }).changed[0] as FindingRecord;
    const stored = storedRecord(again);
    expect(stored).not.toHaveProperty("snapshot");
    expect(stored).not.toHaveProperty("snapshotHash");
    expect(stored).toMatchObject({ timesSeen: 2, consecutive: 2, lastSeen: T(1).toISOString() });
  });

  it("changed content, a record without a hash, or one reopened: the snapshot and its new hash are written", () => {
    const seen = rich(1);
    const stored = storedRecord(applyRun(new Map(), [seen], { now: T(0), unknownRules: new Set() }).changed[0] as FindingRecord);
    const read = { ...stored, snapshot: undefined };
    const changed = storedRecord(applyRun(new Map([[seen.fingerprint, read]]), [rich(1, "/")], { now: T(1), unknownRules: new Set() }).changed[0] as FindingRecord);
    expect(JSON.parse(changed.snapshot ?? "")).toEqual(rich(1, "/"));
    expect(changed.snapshotHash).toBe(snapshotHashOf(changed.snapshot ?? ""));
    const { snapshotHash: _none, ...old } = read;
    expect(storedRecord(applyRun(new Map([[seen.fingerprint, old]]), [seen], { now: T(1), unknownRules: new Set() }).changed[0] as FindingRecord).snapshotHash).toBe(stored.snapshotHash);
    const resolved = { ...read, status: "resolved" as const, resolvedAt: T(1).toISOString() };
    const reopened = applyRun(new Map([[seen.fingerprint, resolved]]), [seen], { now: T(2), unknownRules: new Set() }).changed[0] as FindingRecord;
    expect(reopened.snapshotHash).toBeUndefined();
    expect(storedRecord(reopened).snapshot).toBe(JSON.stringify(seen));
  });

  it("a record not seen again keeps its hash in memory but sends none (the stored one stays); one read with its snapshot writes it back without a hash", () => {
    const seen = rich(1);
    const stored = storedRecord(applyRun(new Map(), [seen], { now: T(0), unknownRules: new Set() }).changed[0] as FindingRecord);
    const closed = applyRun(new Map([[seen.fingerprint, { ...stored, snapshot: undefined }]]), [], { now: T(1), unknownRules: new Set() }).changed[0] as FindingRecord;
    expect(storedRecord(closed)).not.toHaveProperty("snapshotHash");
    const withIt = applyRun(new Map([[seen.fingerprint, stored]]), [], { now: T(1), unknownRules: new Set() }).changed[0] as FindingRecord;
    expect(storedRecord(withIt)).toMatchObject({ snapshot: stored.snapshot, status: "resolved" });
    expect(storedRecord(withIt)).not.toHaveProperty("snapshotHash");
  });
});
