import { describe, expect, it } from "vitest";
import { azuriteTargets } from "../helpers/azuriteTargets.js";
import { defaultPolicy } from "../../shared/config/policy.js";
import { eventDependencies, notifierFor, TABLES } from "../../shared/composition.js";
import { runSweepJob } from "../../shared/engine/sweepJob.js";
import { replayEvents } from "../../shared/engine/replay.js";
import { TableFindingStateStore } from "../../shared/state/findingStateTable.js";
import { seedEventStores } from "../../local/seed.js";
import type { Estate, Fault } from "../../local/emulator/estate.js";
import { loadFixture, SUB, type TestTarget } from "../helpers/estate.js";

const targets = azuriteTargets();
let target: TestTarget | undefined;

async function setup(faults: Fault[] = []) {
  const estate: Estate = { ...loadFixture("small-estate.json"), emulator: { latencyMs: 0, seed: 3, faults } };
  target = await targets.start(estate);
  const clients = target.clients;
  const policy = defaultPolicy();
  const { baseline, catalog, dedupe } = eventDependencies(clients, policy);
  const notifier = notifierFor(clients);
  const findings = new TableFindingStateStore(clients.table(TABLES.findings));
  const sweep = (now?: Date) => runSweepJob(clients, policy, { findings, baseline, catalog, dedupe, ...(notifier ? { notifier } : {}) }, now ? { now } : {});
  return { sweep, received: target.emulator.capture.received, emulator: target.emulator };
}

const rows = (received: Record<string, unknown[]>) => received["sentinel"]?.flat() as Array<{ RuleId: string; Status: string; Fingerprint: string }>;
const events = (received: Record<string, unknown[]>) => received["eventgrid"]?.flat() as Array<{ type: string }>;

describe("notifications through the emulator's sinks", () => {
  it("one Sentinel row and one CloudEvent per new finding, one digest; nothing on the second run; one resolution when a finding goes", async () => {
    const { sweep, received, emulator } = await setup();
    const first = await sweep();
    const notifiable = first.report.findings.filter((finding) => finding.severity !== "low");
    expect(rows(received)).toHaveLength(notifiable.length);
    expect(new Set(rows(received).map((row) => row.Fingerprint))).toEqual(new Set(notifiable.map((finding) => finding.fingerprint)));
    expect(events(received)).toHaveLength(notifiable.length);
    expect(received["teams"]).toHaveLength(1);

    await sweep();
    expect(rows(received)).toHaveLength(notifiable.length);
    expect(received["teams"]).toHaveLength(1);

    // The orphaned assignment is deleted: its finding resolves, and exactly one resolution goes out per sink.
    emulator.store.roleAssignments.delete(`/subscriptions/${SUB}/resourcegroups/rg-app/providers/microsoft.authorization/roleassignments/00000000-0000-0000-0000-0000000000a2`);
    emulator.store.touch();
    await sweep();
    const resolved = rows(received).filter((row) => row.Status === "resolved");
    expect(resolved.map((row) => row.RuleId)).toEqual(["orphaned-role-assignment"]);
    expect(events(received).filter((event) => event.type.startsWith("UamiGuard.FindingResolved.")).map((event) => event.type)).toEqual(["UamiGuard.FindingResolved.orphaned-role-assignment"]);
    expect(received["teams"]).toHaveLength(2);
  });

  it("a sink that keeps failing blocks nobody; its notifications wait in the outbox and go out on the next run", async () => {
    const { sweep, received } = await setup([{ service: "teams", status: 500, rate: 1, count: 4 }]);
    const first = await sweep();
    expect(first.notifications?.errors.join(" ")).toMatch(/teams: Teams webhook answered 500/);
    expect(received["teams"]).toHaveLength(0);
    expect(rows(received).length).toBeGreaterThan(0);
    // The failed card waits out its backoff (30 s after the first failure); a sweep after that sends it.
    const second = await sweep(new Date(Date.now() + 60_000));
    expect(second.notifications?.delivered.teams).toBe(1);
    expect(received["teams"]).toHaveLength(1);
  });

  it("Logs Ingestion 429 is retried by the SDK pipeline; nothing is sent twice", async () => {
    const { sweep, received } = await setup([{ service: "logsIngestion", status: 429, rate: 1, count: 1, retryAfterSeconds: 0 }]);
    const first = await sweep();
    expect(first.notifications?.errors).toEqual([]);
    expect(rows(received)).toHaveLength(first.report.findings.filter((finding) => finding.severity !== "low").length);
  });

  it("event findings go out at once, a Teams card each; a second delivery or a second event for the same change sends nothing", async () => {
    const { received } = await setup();
    const clients = target?.clients;
    if (!clients) throw new Error("no target");
    const deps = eventDependencies(clients, defaultPolicy(), { notify: true });
    await seedEventStores(loadFixture("small-estate.json"), deps);
    const vm = `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm1`;
    const write = (id: string) => ({ id, eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: "2026-11-20T10:00:00Z", data: { operationName: "Microsoft.Compute/virtualMachines/write", resourceUri: vm, status: "Succeeded", claims: { appid: "x" } } });
    const report = await replayEvents([write("n-1"), write("n-1")], deps);
    expect(report.findings).toHaveLength(2);
    expect(received["teams"]).toHaveLength(2);
    expect(rows(received)).toHaveLength(2);
    // Cards and rows link each finding to its rule's page.
    expect(JSON.stringify(received["teams"])).toContain('"title":"Rule page","value":"docs/rules/attachment-outside-pipeline.md"');
    expect(rows(received).map((row) => (row as { RulePage?: string }).RulePage)).toEqual(["docs/rules/attachment-outside-pipeline.md", "docs/rules/attachment-outside-pipeline.md"]);
    // Baseline now includes both: a new write event finds nothing new and sends nothing.
    await replayEvents([write("n-2")], deps);
    expect(received["teams"]).toHaveLength(2);
  });
});
