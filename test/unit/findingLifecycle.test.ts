import { describe, expect, it } from "vitest";
import { applyRun, type FindingRecord } from "../../shared/engine/findingLifecycle.js";
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
