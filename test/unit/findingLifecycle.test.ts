import { describe, expect, it } from "vitest";
import { applyRun, commitEvent, commitSweep, type FindingRecord, type FindingStateStore } from "../../shared/engine/findingLifecycle.js";
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

describe("the lifecycle owner saves each run once", () => {
  it("a sweep: one save, with lastNotifiedAt on what the notifier said it sent, even when notifying throws", async () => {
    const { store, saves } = countingStore();
    const { lifecycle, notifications } = await commitSweep(store, "sweep-all", new Map(), [A, B], { now: T(1), unknownRules: new Set() }, async () => ({ result: "sent", notified: [A.fingerprint] }));
    expect(notifications).toBe("sent");
    expect(lifecycle.opened).toHaveLength(2);
    expect(saves).toHaveLength(1);
    expect(saves[0]?.records.find((record) => record.fingerprint === A.fingerprint)?.lastNotifiedAt).toBe(T(1).toISOString());
    expect(saves[0]?.records.find((record) => record.fingerprint === B.fingerprint)?.lastNotifiedAt).toBeUndefined();

    const failing = countingStore();
    await expect(commitSweep(failing.store, "sweep-all", new Map(), [A], { now: T(1), unknownRules: new Set() }, async () => Promise.reject(new Error("outbox down")))).rejects.toThrow("outbox down");
    expect(failing.saves).toHaveLength(1);
  });

  it("an event: only the findings in hand, never resolved, one save in the events partition", async () => {
    const seenBefore = run(new Map(), [A], 1).result.changed;
    const { store, saves } = countingStore(seenBefore);
    const seen: string[][] = [];
    await commitEvent(store, [A, B], T(2), async (lifecycle) => {
      seen.push(lifecycle.opened.map((finding) => finding.fingerprint));
      expect(lifecycle.resolved).toEqual([]);
      return { result: undefined, notified: [B.fingerprint] };
    });
    expect(seen).toEqual([[B.fingerprint]]);
    expect(saves.map((save) => [save.scope, save.records.length])).toEqual([["events", 2]]);
    expect(await commitEvent(store, [], T(3), async () => ({ result: "x", notified: [] }))).toBeUndefined();
  });
});
