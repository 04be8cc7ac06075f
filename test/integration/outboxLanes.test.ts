import { createHash, randomUUID } from "node:crypto";
import { TableClient } from "@azure/data-tables";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAzurite, type RunningAzurite } from "../../local/azurite.js";
import { fingerprintOf, type Finding } from "../../shared/findings.js";
import { applyRun } from "../../shared/engine/findingLifecycle.js";
import type { RunReport } from "../../shared/findings.js";
import { dispatchDue, outboxDrafts } from "../../shared/notify/dispatcher.js";
import { Notifier } from "../../shared/notify/notifier.js";
import type { Notice } from "../../shared/notify/notification.js";
import { sentinelRow } from "../../shared/notify/sentinelRow.js";
import type { Delivery, Sink, SinkName } from "../../shared/notify/sinks.js";
import { NotificationOutbox } from "../../shared/state/outbox.js";
import { ENGINE_NOTICES } from "../../shared/notices.js";

/**
 * The outbox over real Table storage (Azurite) with a sweep's backlog in it: what an event, the engine or a later sweep
 * writes afterwards is not held back by it, an upgrade loses nothing the previous version wrote, and two dispatchers
 * at once send nothing twice.
 */
let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(() => azurite.stop());

function table(): TableClient {
  return TableClient.fromConnectionString(azurite.connectionString, `outbox${randomUUID().replace(/-/g, "").slice(0, 20)}`, { allowInsecureConnection: true });
}
const sameTable = (client: TableClient) => TableClient.fromConnectionString(azurite.connectionString, client.tableName, { allowInsecureConnection: true });

function finding(name: string, ruleId = "orphaned-role-assignment"): Finding {
  const subjectId = `/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/${name}`;
  return { ruleId, severity: "high", subjectId, fingerprint: fingerprintOf(ruleId, subjectId, undefined), title: name, message: name, evidence: {}, remediation: { summary: "delete", cli: [] } };
}
const notice = (f: Finding, mode: Notice["mode"], runId: string, at: Date, status: Notice["status"] = "new"): Notice => ({ status, finding: f, runId, mode, at: at.toISOString() });

/** A Sentinel sink that takes everything and remembers what, in order. */
function recording(batchLimit: number, fail = false): Sink & { rows: Array<{ Fingerprint: string; RunId: string; Status: string }> } {
  const rows: Array<{ Fingerprint: string; RunId: string; Status: string }> = [];
  return {
    name: "sentinel",
    batchLimit,
    rows,
    async deliver(payloads) {
      if (fail) return payloads.map((): Delivery => ({ status: "failed", error: "503", permanent: false }));
      rows.push(...(payloads as typeof rows));
      return payloads.map((): Delivery => ({ status: "delivered" }));
    },
  };
}

const T0 = new Date("2026-12-01T00:00:00.000Z");
const later = (ms: number) => new Date(T0.getTime() + ms);
const sweepNotices = (runId: string, count: number, at: Date, status: Notice["status"] = "new") => Array.from({ length: count }, (_, n) => notice(finding(`ra-${runId}-${n}`), "sweep", runId, at, status));

async function enqueue(outbox: NotificationOutbox, sinks: Sink[], notices: Notice[], at: Date): Promise<void> {
  for (let start = 0; start < notices.length; start += 500) await outbox.enqueue(outboxDrafts(sinks, notices.slice(start, start + 500), undefined, { runWide: ENGINE_NOTICES }), at);
}

async function drain(outbox: NotificationOutbox, sinks: Sink[], at: Date, rounds = 1000): Promise<number> {
  for (let round = 1; round <= rounds; round += 1) {
    const { result } = await dispatchDue(sinks, outbox, 5, at);
    if ((result.delivered.sentinel ?? 0) === 0) return round - 1;
  }
  throw new Error("the outbox did not drain");
}

describe("the outbox's prompt lane", () => {
  it("an event's notice and the engine's own go out in the next dispatch after a sweep left thousands", async () => {
    const outbox = new NotificationOutbox(table());
    const sink = recording(100);
    await enqueue(outbox, [sink], sweepNotices("sweep-1", 3000, T0), T0);
    const attached = finding("vm-1", "attachment-outside-pipeline");
    await enqueue(outbox, [sink], [notice(attached, "event", "event-e1", later(1000))], later(1000));
    const dead = finding("dead-1", "notification-dead-lettered");
    await enqueue(outbox, [sink], [notice(dead, "sweep", "sweep-1", later(2000))], later(2000));

    const { result } = await dispatchDue([sink], outbox, 5, later(3000));
    expect(result.delivered.sentinel).toBe(100);
    expect(sink.rows.slice(0, 2).map((row) => row.Fingerprint)).toEqual([attached.fingerprint, dead.fingerprint]);
  });

  it("a later sweep's notices wait behind an earlier sweep's, not among them; the pending gauge counts both lanes", async () => {
    const outbox = new NotificationOutbox(table());
    const failing = recording(60, true);
    await enqueue(outbox, [failing], sweepNotices("sweep-1", 400, T0), T0);
    await enqueue(outbox, [failing], sweepNotices("sweep-2", 40, later(3_600_000), "resolved"), later(3_600_000));
    await enqueue(outbox, [failing], [notice(finding("vm-2", "attachment-outside-pipeline"), "event", "event-e2", later(3_600_500))], later(3_600_500));
    const { result } = await dispatchDue([failing], outbox, 5, later(3_601_000));
    // Taken and not delivered: the event's entry and 59 of the sweep's, each now waiting out its backoff.
    expect(result.pending.sentinel).toBe(60);

    const sink = recording(50);
    const rounds = await drain(outbox, [sink], later(7_200_000));
    expect(sink.rows).toHaveLength(441);
    expect(new Set(sink.rows.map((row) => row.Fingerprint)).size).toBe(441);
    // Those retried after their backoff kept their place: every entry of sweep-1 before any of sweep-2.
    const runs = sink.rows.map((row) => row.RunId).filter((runId) => runId.startsWith("sweep-"));
    expect(runs.lastIndexOf("sweep-1")).toBeLessThan(runs.indexOf("sweep-2"));
    expect(rounds).toBe(Math.ceil(441 / 50));
  });

  it("a flood of events leaves a tenth of each batch to the sweep's notices; without them the prompt lane takes it all", async () => {
    const outbox = new NotificationOutbox(table());
    const sink = recording(100);
    const events = (from: number, count: number, at: Date) => Array.from({ length: count }, (_, n) => notice(finding(`vm-${from + n}`, "attachment-outside-pipeline"), "event", `event-${from + n}`, at));
    await enqueue(outbox, [sink], sweepNotices("sweep-1", 50, T0), T0);
    await enqueue(outbox, [sink], events(0, 120, later(1000)), later(1000));
    await dispatchDue([sink], outbox, 5, later(2000));
    expect(sink.rows.map((row) => (row.RunId.startsWith("event-") ? "event" : "sweep"))).toEqual([...Array(90).fill("event"), ...Array(10).fill("sweep")]);
    await dispatchDue([sink], outbox, 5, later(3000));
    expect(sink.rows.slice(100).map((row) => (row.RunId.startsWith("event-") ? "event" : "sweep"))).toEqual([...Array(30).fill("event"), ...Array(40).fill("sweep")]);
    await enqueue(outbox, [sink], events(200, 150, later(4000)), later(4000));
    await dispatchDue([sink], outbox, 5, later(5000));
    expect(sink.rows.slice(170).map((row) => row.RunId.slice(0, 6))).toEqual(Array(100).fill("event-"));
  });

  it("writing the same notices again writes nothing twice, in either lane", async () => {
    const outbox = new NotificationOutbox(table());
    const sink = recording(500);
    const event = [notice(finding("vm-3", "attachment-outside-pipeline"), "event", "event-e3", T0)];
    await enqueue(outbox, [sink], [...sweepNotices("sweep-1", 150, T0), ...event], T0);
    // A redelivered event has a new clock; a sweep's part written again is the same run at the same time.
    await enqueue(outbox, [sink], event.map((n) => ({ ...n, at: later(5000).toISOString() })), later(5000));
    await enqueue(outbox, [sink], sweepNotices("sweep-1", 150, T0), T0);
    await drain(outbox, [sink], later(10_000));
    expect(sink.rows).toHaveLength(151);
  });
});

describe("a sweep's backlog and an event, planned and sent as the run commit does", () => {
  it("the event's card, row and CloudEvent go out with the next dispatch; the sweep's digest too", async () => {
    const sent: Record<string, unknown[]> = { teams: [], sentinel: [], eventgrid: [] };
    const sink = (name: SinkName, batchLimit: number): Sink => ({
      name,
      batchLimit,
      async deliver(payloads) {
        sent[name]?.push(...payloads);
        return payloads.map((): Delivery => ({ status: "delivered" }));
      },
    });
    const notifier = new Notifier([sink("teams", 5), sink("sentinel", 500), sink("eventgrid", 500)], new NotificationOutbox(table()));
    const policy = { notify: { minSeverity: "medium" as const, renotifyAfterHours: 24, maxAttempts: 5 } };
    const opened = Array.from({ length: 1500 }, (_, n) => finding(`swept-${n}`));
    const report = { summary: { bySeverity: { critical: 0, high: 1500, medium: 0, low: 0 } }, incomplete: [] } as unknown as RunReport;
    const swept = applyRun(new Map(), opened, { now: T0, unknownRules: new Set() });
    await notifier.enqueue(notifier.plan(swept, policy, { runId: "sweep-1", now: T0, mode: "sweep", report, engineNotices: ENGINE_NOTICES }), T0);
    const attached = finding("vm-6", "attachment-outside-pipeline");
    const event = applyRun(new Map(), [attached], { now: later(1000), unknownRules: new Set() });
    await notifier.enqueue(notifier.plan(event, policy, { runId: "event-e6", now: later(1000), mode: "event", engineNotices: ENGINE_NOTICES }), later(1000));

    const { result } = await notifier.dispatch(5, later(2000));
    expect(result.delivered).toEqual({ teams: 2, sentinel: 500, eventgrid: 500 });
    expect(JSON.stringify(sent["teams"])).toContain("docs/rules/attachment-outside-pipeline.md");
    expect(JSON.stringify(sent["teams"])).toContain("uami-guard sweep: 1500 new");
    expect((sent["sentinel"] as Array<{ Fingerprint: string }>)[0]?.Fingerprint).toBe(attached.fingerprint);
    expect((sent["eventgrid"] as Array<{ id: string }>)[0]?.id).toBe(`${attached.fingerprint}-new-event-e6`);
  });
});

describe("upgrading over an outbox the previous version wrote", () => {
  /** The previous layout: partition = sink, row = a hash of the notice's identity, one entry per sink. */
  function previousEntry(n: Notice, sink = "sentinel"): Record<string, unknown> & { partitionKey: string; rowKey: string } {
    const identity = `${n.finding.fingerprint}|${n.status}${ENGINE_NOTICES.has(n.finding.ruleId) ? "" : `|${n.runId}`}`;
    return {
      partitionKey: sink,
      rowKey: createHash("sha256").update(`${sink}\n${identity}`).digest("hex").slice(0, 40),
      runId: n.runId,
      title: `${n.status}: ${n.finding.title}`,
      fingerprint: n.finding.fingerprint,
      ruleId: n.finding.ruleId,
      createdAt: n.at,
      dueAt: n.at,
      attempts: 0,
      chunks: 1,
      payload0: JSON.stringify(sentinelRow(n)),
    };
  }

  it("every entry it left is sent once, behind new event notices, before new sweeps'; a redelivered event is not sent twice", async () => {
    const client = table();
    await client.createTable();
    const old = sweepNotices("sweep-0", 250, T0);
    const oldEvent = notice(finding("vm-4", "attachment-outside-pipeline"), "event", "event-e4", T0);
    for (let start = 0; start < old.length; start += 100) await client.submitTransaction(old.slice(start, start + 100).map((n) => ["create", previousEntry(n)]));
    await client.createEntity(previousEntry(oldEvent));
    // One the previous version had tried once already.
    const retried = notice(finding("ra-retried"), "sweep", "sweep-0", T0);
    await client.createEntity({ ...previousEntry(retried), attempts: 1, lastError: "503", dueAt: later(30_000).toISOString() });

    const outbox = new NotificationOutbox(client);
    const sink = recording(100);
    await enqueue(outbox, [sink], sweepNotices("sweep-1", 300, later(60_000)), later(60_000));
    const attached = finding("vm-5", "attachment-outside-pipeline");
    await enqueue(outbox, [sink], [notice(attached, "event", "event-e5", later(61_000))], later(61_000));
    // The event the previous version had written is delivered again to this one (its commit failed after the outbox).
    await enqueue(outbox, [sink], [{ ...oldEvent, at: later(62_000).toISOString() }], later(62_000));

    await dispatchDue([sink], outbox, 5, later(63_000));
    expect(sink.rows[0]?.Fingerprint).toBe(attached.fingerprint);
    await drain(outbox, [sink], later(63_000));
    const fingerprints = sink.rows.map((row) => row.Fingerprint);
    expect(fingerprints).toHaveLength(1 + 250 + 1 + 1 + 300);
    expect(new Set(fingerprints).size).toBe(fingerprints.length);
    const runs = sink.rows.map((row) => row.RunId);
    expect(runs.lastIndexOf("sweep-0")).toBeLessThan(runs.indexOf("sweep-1"));
    const left = [];
    for await (const entity of client.listEntities()) left.push(entity);
    expect(left).toEqual([]);
  });
});

describe("two dispatchers at once", () => {
  it("never send an entry twice, whichever lane it waits in", async () => {
    const client = table();
    const first = new NotificationOutbox(client);
    const second = new NotificationOutbox(sameTable(client));
    const writer = recording(80);
    await enqueue(first, [writer], sweepNotices("sweep-1", 600, T0), T0);
    await enqueue(first, [writer], Array.from({ length: 30 }, (_, n) => notice(finding(`vm-${n}`, "attachment-outside-pipeline"), "event", `event-${n}`, later(1000))), later(1000));
    const a = recording(80);
    const b = recording(80);
    for (let round = 0; round < 20; round += 1) {
      await Promise.all([dispatchDue([a], first, 5, later(2000)), dispatchDue([b], second, 5, later(2000))]);
    }
    const sent = [...a.rows, ...b.rows].map((row) => row.Fingerprint);
    expect(sent).toHaveLength(630);
    expect(new Set(sent).size).toBe(630);
  });
});
