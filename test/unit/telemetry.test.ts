import { describe, expect, it } from "vitest";
import { installTelemetry, NO_TELEMETRY, recordEvent, recordSweep, type GuardMetrics } from "../../shared/telemetry.js";
import type { Finding, RunReport } from "../../shared/findings.js";
import type { ActionRecord } from "../../shared/cleanup/record.js";
import { policy } from "../helpers/sweep.js";

/** Records every call as [metric, ...attributes]. */
function recording(): { calls: unknown[][]; metrics: GuardMetrics } {
  const calls: unknown[][] = [];
  const metrics: GuardMetrics = {
    event: (status) => calls.push(["uamiguard.events", status]),
    finding: (ruleId, severity, mode) => calls.push(["uamiguard.findings", ruleId, severity, mode]),
    sweepDuration: (milliseconds) => calls.push(["uamiguard.sweep.duration", milliseconds]),
    incomplete: (check) => calls.push(["uamiguard.incomplete", check]),
    action: (action, status) => calls.push(["uamiguard.actions", action, status]),
    outboxPending: (sink, entries) => calls.push(["uamiguard.outbox.pending", sink, entries]),
    breakerTrip: () => calls.push(["uamiguard.breaker.trips"]),
  };
  return { calls, metrics };
}

function withMetrics(run: () => void): unknown[][] {
  const { calls, metrics } = recording();
  const previous = installTelemetry({ ...NO_TELEMETRY, metrics });
  try {
    run();
  } finally {
    installTelemetry(previous);
  }
  return calls;
}

const finding = (ruleId: string, severity: Finding["severity"]): Finding => ({ ruleId, severity, subjectId: "/subscriptions/s", fingerprint: ruleId, title: "", message: "", evidence: {}, remediation: { summary: "", cli: [] } });
const action = (status: ActionRecord["status"]): ActionRecord => ({ actionId: "a", action: "delete-role-assignment", ruleId: "orphaned-role-assignment", fingerprint: "f", subjectId: "s", target: "t", change: "c", status });

function report(overrides: Partial<RunReport> = {}): RunReport {
  return {
    runId: "sweep-1",
    mode: "sweep",
    startedAt: "2026-11-20T10:00:00.000Z",
    finishedAt: "2026-11-20T10:00:02.500Z",
    summary: { identities: 0, roleAssignments: 0, findings: 0, bySeverity: { critical: 0, high: 0, medium: 0, low: 0 }, suppressed: 0 },
    findings: [],
    incomplete: [],
    actions: [],
    ...overrides,
  };
}

describe("telemetry port", () => {
  it.each([
    ["an empty sweep: only its duration", report(), undefined, [["uamiguard.sweep.duration", 2500]]],
    [
      "findings with the rule's mode, incomplete checks, actions, a tripped breaker and the outbox",
      report({ findings: [finding("orphaned-role-assignment", "high"), finding("cleanup-circuit-breaker", "critical")], incomplete: [{ check: "directory-lookup", reason: "x", affected: 3 }], actions: [action("blocked")] }),
      { teams: 2, sentinel: 0 },
      [
        ["uamiguard.sweep.duration", 2500],
        ["uamiguard.findings", "orphaned-role-assignment", "high", "enforce"],
        ["uamiguard.findings", "cleanup-circuit-breaker", "critical", "audit"],
        ["uamiguard.breaker.trips"],
        ["uamiguard.incomplete", "directory-lookup"],
        ["uamiguard.actions", "delete-role-assignment", "blocked"],
        ["uamiguard.outbox.pending", "teams", 2],
        ["uamiguard.outbox.pending", "sentinel", 0],
      ],
    ],
  ] as const)("sweep: %s", (_name, run, pending, expected) => {
    const enforcing = policy({ rules: { "orphaned-role-assignment": { mode: "enforce" } } });
    expect(withMetrics(() => recordSweep(run, enforcing, pending))).toEqual(expected);
  });

  it.each([
    ["ignored", { status: "ignored", findings: [], incomplete: [] }, [["uamiguard.events", "ignored"]]],
    ["malformed", { status: "malformed", findings: [], incomplete: [] }, [["uamiguard.events", "malformed"]]],
    [
      "failed: the per-event check is counted under one name",
      { status: "failed", findings: [], incomplete: [{ check: "event 1234", reason: "x", affected: 1 }] },
      [["uamiguard.events", "failed"], ["uamiguard.incomplete", "event"]],
    ],
    [
      "processed with a finding and an action",
      { status: "processed", findings: [finding("governance-tampering", "critical")], incomplete: [], actions: [action("queued")] },
      [["uamiguard.events", "processed"], ["uamiguard.findings", "governance-tampering", "critical", "audit"], ["uamiguard.actions", "delete-role-assignment", "queued"]],
    ],
  ] as Array<[string, Parameters<typeof recordEvent>[0], unknown[][]]>)("event: %s", (_name, outcome, expected) => {
    expect(withMetrics(() => recordEvent(outcome, policy()))).toEqual(expected);
  });

  it("is a no-op until an adapter is installed", async () => {
    expect(await NO_TELEMETRY.span("x", {}, async () => 42)).toBe(42);
    expect(() => recordSweep(report({ findings: [finding("orphaned-role-assignment", "high")] }), policy())).not.toThrow();
  });
});
