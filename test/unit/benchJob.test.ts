import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NdjsonFindingStateStore, NdjsonOutbox } from "../../bench/fileStores.js";
import { NdjsonTable, filterOf } from "../../bench/fileTable.js";
import { describeDeath, jobDeath, lastStderrLine } from "../../bench/job.js";
import { ChildFailed, runChild } from "../../bench/processes.js";
import { snapshotHashOf, type FindingRecord } from "../../shared/engine/findingLifecycle.js";
import type { Finding } from "../../shared/findings.js";
import { AttachmentBaselineStore, DeliveryRecordStore, GradedIdentityStore, IdentityCatalogStore } from "../../shared/state/eventStores.js";

// The bench's sweep job (bench/job.ts, bench/sweepJobChild.ts): a child that dies is a result the report can show, and
// the file-backed doubles of Table storage keep what the app's stores keep.
const dir = mkdtempSync(join(tmpdir(), "uami-bench-job-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fresh = (name: string): string => join(dir, name);

// What node 20 prints on stderr when V8 runs out of heap (abbreviated native stack).
const OOM_STDERR = `
<--- Last few GCs --->

[18650:0x1fe51ef0]      435 ms: Mark-Compact 15.5 (24.3) -> 15.5 (32.3) MB, 53.99 / 0.00 ms  (average mu = 0.415, current mu = 0.252) allocation failure; scavenge might not succeed


<--- JS stacktrace --->

FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory
----- Native stack trace -----

 1: 0xb78db3 node::OOMErrorHandler(char const*, v8::OOMDetails const&) [node]
 2: 0xee8300 v8::Utils::ReportOOMFailure(v8::internal::Isolate*, char const*, v8::OOMDetails const&) [node]
16: 0x195e476  [node]`;

describe("a dead sweep job child", () => {
  it("shows V8's fatal error, not the native stack under it", () => {
    expect(lastStderrLine(OOM_STDERR)).toBe("FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory");
    expect(lastStderrLine("sweep job child: Error: boom\n    at main (file:///x.js:1:1)\n")).toBe("at main (file:///x.js:1:1)");
    expect(lastStderrLine("")).toBe("");
  });

  it("is a result with its reason, exit and time; the bench's own errors are thrown on", () => {
    const failed = new ChildFailed("sweepJobChild", "ran out of heap (--max-old-space-size=1024)", OOM_STDERR, { code: null, signal: "SIGABRT" });
    const death = jobDeath(failed, 95_240);
    expect(death).toEqual({ reason: "ran out of heap (--max-old-space-size=1024)", afterMs: 95_240, code: null, signal: "SIGABRT", lastStderrLine: "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory" });
    expect(describeDeath(death)).toBe("died: heap exhausted (--max-old-space-size=1024) after 95.2 s, SIGABRT");
    expect(describeDeath(jobDeath(new ChildFailed("sweepJobChild", "exited with 1", "x", { code: 1, signal: null }), 1000))).toBe("died: exited with 1 after 1.0 s, exit code 1");
    expect(() => jobDeath(new Error("emulator stats answered 500"), 1)).toThrow("emulator stats answered 500");
  });

  it("comes back from a real child out of heap", async () => {
    const script = fresh("oom.mjs");
    writeFileSync(script, "const keep = []; for (;;) keep.push(new Array(100_000).fill({ at: keep.length }));");
    const error = await runChild("sweepJobChild", [], { script, nodeFlags: ["--max-old-space-size=16"], timeoutMs: 60_000 }).catch((caught: unknown) => caught);
    const death = jobDeath(error, 2_000);
    expect(death.reason).toBe("ran out of heap (--max-old-space-size=16)");
    expect(death.signal ?? String(death.code)).toMatch(/SIGABRT|134/);
    expect(death.lastStderrLine).toMatch(/^FATAL ERROR: .*heap/);
  });
});

const finding = (fingerprint: string, title = "t"): Finding => ({
  ruleId: "orphaned-role-assignment",
  severity: "high",
  subjectId: `/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/${fingerprint}`,
  fingerprint,
  title,
  message: title,
  evidence: { n: fingerprint },
  remediation: { summary: "", cli: [] },
});
const record = (fingerprint: string, extra: Partial<FindingRecord> = {}): FindingRecord => ({
  fingerprint,
  ruleId: "orphaned-role-assignment",
  subjectId: finding(fingerprint).subjectId,
  severity: "high",
  title: "t",
  status: "open",
  firstSeen: "2026-12-01T00:00:00.000Z",
  lastSeen: "2026-12-01T00:00:00.000Z",
  timesSeen: 1,
  consecutive: 1,
  ...extra,
});

describe("the bench's file-backed finding state", () => {
  it("writes each record as stored and reads it in another instance, with or without snapshots", async () => {
    const state = fresh("state-a");
    const store = new NdjsonFindingStateStore(state);
    await store.save("sweep-all", [record("a", { finding: finding("a") }), record("b", { finding: finding("b") })]);
    expect([store.written, store.transactions]).toEqual([2, 1]);
    const again = new NdjsonFindingStateStore(state);
    const full = await again.load("sweep-all");
    expect(full.get("a")).toEqual({ ...record("a"), snapshot: JSON.stringify(finding("a")), snapshotHash: snapshotHashOf(JSON.stringify(finding("a"))) });
    expect(full.get("a")?.finding).toBeUndefined();
    const lean = await again.load("sweep-all", { snapshots: false });
    expect([...lean.values()].map((kept) => kept.snapshot)).toEqual([undefined, undefined]);
    expect(again.recordsRead).toBe(4);
    expect(await again.load("events")).toEqual(new Map());
  });

  it("keeps the stored snapshot of a record saved without one (Merge), and replaces it with a finding in hand", async () => {
    const state = fresh("state-b");
    const store = new NdjsonFindingStateStore(state);
    await store.save("sweep-all", [record("a", { finding: finding("a", "first") }), record("b", { finding: finding("b") })]);
    const read = await store.load("sweep-all", { snapshots: false });
    const a = read.get("a");
    if (!a) throw new Error("a was not read");
    await store.save("sweep-all", [{ ...a, status: "resolved", consecutive: 0, resolvedAt: "2026-12-02T00:00:00.000Z" }, record("b", { timesSeen: 2, finding: finding("b", "second") })]);
    const after = await new NdjsonFindingStateStore(state).load("sweep-all");
    expect(after.get("a")).toMatchObject({ status: "resolved", resolvedAt: "2026-12-02T00:00:00.000Z", snapshot: JSON.stringify(finding("a", "first")) });
    expect(after.get("b")).toMatchObject({ timesSeen: 2, snapshot: JSON.stringify(finding("b", "second")) });
    const some = await store.loadSome("sweep-all", ["b", "missing"]);
    expect([...some.keys()]).toEqual(["b"]);
    expect(some.get("b")?.snapshot).toBe(JSON.stringify(finding("b", "second")));
    // Snapshots are in a file of their own: a read without them never opens it.
    expect(readFileSync(join(state, "findings-sweep-all.records.ndjson"), "utf8")).not.toContain('"snapshot"');
  });

  it("counts the records written with their snapshot and the bytes: a finding seen again unchanged is merged without it", async () => {
    const state = fresh("state-c");
    const store = new NdjsonFindingStateStore(state);
    await store.save("sweep-all", [record("a", { finding: finding("a") })]);
    const [first, bytes] = [store.snapshotsWritten, store.bytesWritten];
    const a = (await store.load("sweep-all", { snapshots: false })).get("a");
    await store.save("sweep-all", [record("a", { timesSeen: 2, finding: finding("a"), ...(a?.snapshotHash ? { snapshotHash: a.snapshotHash } : {}) })]);
    expect([first, store.snapshotsWritten, store.written]).toEqual([1, 1, 2]);
    expect(store.bytesWritten - bytes).toBeLessThan(bytes);
    const after = await new NdjsonFindingStateStore(state).load("sweep-all");
    expect(after.get("a")).toMatchObject({ timesSeen: 2, snapshot: JSON.stringify(finding("a")), snapshotHash: a?.snapshotHash });
  });
});

describe("the bench's file-backed outbox", () => {
  const draft = (key: string) => ({ sink: "sentinel" as const, key, payload: { row: key }, runId: "run-1", title: `new: ${key}`, fingerprint: key, ruleId: "orphaned-role-assignment", lane: "bulk" as const });
  const now = new Date("2026-12-01T00:00:00.000Z");
  /** A sweep's entry is in its sink's bulk lane, its row the time it was written, then its key. */
  const row = (key: string) => `${now.getTime()}-${key}`;

  it("writes entries as the app's outbox does, hands out a bounded batch of what is due, and forgets what was delivered", async () => {
    const state = fresh("outbox-a");
    const outbox = new NdjsonOutbox(state);
    await outbox.enqueue([draft("k1"), draft("k2"), draft("k3")], now);
    expect(outbox.written).toBe(3);
    const [line] = readFileSync(join(state, "outbox-sentinel-bulk.ndjson"), "utf8").split("\n");
    expect(JSON.parse(line ?? "")).toMatchObject({ partitionKey: "sentinel-bulk", rowKey: row("k1"), attempts: 0, chunks: 1, payload0: '{"row":"k1"}', dueAt: now.toISOString() });
    const due = await outbox.due("sentinel", now, 2);
    expect(due.map((entry) => [entry.key, entry.payload])).toEqual([[row("k1"), { row: "k1" }], [row("k2"), { row: "k2" }]]);
    expect(await outbox.due("teams", now, 5)).toEqual([]);
    const held = await outbox.claim(due[0]!, now, 60_000);
    expect(held).toBeDefined();
    // The claim moved it past now, and changed its ETag: a claim on the old one loses.
    expect((await outbox.due("sentinel", now, 5)).map((entry) => entry.key)).toEqual([row("k2"), row("k3")]);
    expect(await outbox.claim(due[0]!, now, 60_000)).toBeUndefined();
    await outbox.delivered(held!);
    // One transaction, one claim, one delete: the round trips Table storage would take.
    expect(outbox.tableWrites).toBe(3);
    const next = new NdjsonOutbox(state);
    expect((await next.due("sentinel", new Date(now.getTime() + 120_000), 5)).map((entry) => entry.key)).toEqual([row("k2"), row("k3")]);
  });

  it("retries later and dead-letters, as the app's outbox does", async () => {
    const outbox = new NdjsonOutbox(fresh("outbox-b"));
    await outbox.enqueue([draft("k1"), draft("k2")], now);
    const [first, second] = await outbox.due("sentinel", now, 5);
    await outbox.retryLater((await outbox.claim(first!, now, 1000))!, "503", new Date(now.getTime() + 30_000));
    expect((await outbox.due("sentinel", now, 5)).map((entry) => entry.key)).toEqual([row("k2")]);
    expect((await outbox.due("sentinel", new Date(now.getTime() + 30_000), 5)).map((entry) => [entry.key, entry.attempts])).toEqual([[row("k1"), 1], [row("k2"), 0]]);
    expect(await outbox.deadLetter(second!, "400 (refused for good)", now)).toBe(true);
    expect((await outbox.deadLettered("sentinel")).map((entry) => [entry.key, entry.attempts])).toEqual([[row("k2"), 1]]);
    expect((await outbox.due("sentinel", new Date(now.getTime() + 30_000), 5)).map((entry) => entry.key)).toEqual([row("k1")]);
  });
});

describe("the bench's file-backed tables for the job's last stores", () => {
  it("answers the filters the stores send, and refuses others", () => {
    const row = { partitionKey: "event-3f", rowKey: "r", receivedAt: "2026-12-01T00:00:00.000Z" };
    expect(filterOf("PartitionKey ge 'event' and PartitionKey lt 'event.' and receivedAt lt '2026-12-02T00:00:00.000Z'")(row)).toBe(true);
    expect(filterOf("PartitionKey ge 'event' and PartitionKey lt 'event.' and receivedAt lt '2026-11-30T00:00:00.000Z'")(row)).toBe(false);
    expect(filterOf("PartitionKey eq 'it''s'")({ partitionKey: "it's", rowKey: "r" })).toBe(true);
    expect(() => filterOf("PartitionKey eq 'a' or RowKey eq 'b'")).toThrow(/does not answer the filter/);
  });

  it("keeps what the app's stores write, for the next process", async () => {
    const state = fresh("tables");
    const identities = new NdjsonTable(state, "uamiguardidentities");
    const graded = { identityId: "/subscriptions/s1/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/a", principalId: "p", grade: "critical" as const, gradeScopes: ["/"], managementGroups: [] };
    await new GradedIdentityStore(identities.client()).replace([graded], new Set(["s1"]));
    await new IdentityCatalogStore(identities.client()).putMany([{ identityId: graded.identityId, principalId: "p", clientId: "c", attachedTo: ["/subscriptions/s1/vm"] }]);
    const baseline = new NdjsonTable(state, "uamiguardbaseline");
    await new AttachmentBaselineStore(baseline.client()).setMany([["/subscriptions/s1/vm", [graded.identityId]]]);
    expect(identities.writes + baseline.writes).toBe(3);

    const next = new NdjsonTable(state, "uamiguardidentities");
    expect(await new GradedIdentityStore(next.client()).list()).toEqual([graded]);
    await new GradedIdentityStore(next.client()).replace([], new Set(["s1"]));
    expect(await new GradedIdentityStore(next.client()).list()).toEqual([]);
    expect(await new IdentityCatalogStore(next.client()).get(graded.identityId)).toEqual({ identityId: graded.identityId, principalId: "p", clientId: "c", attachedTo: ["/subscriptions/s1/vm"] });
    expect(await new AttachmentBaselineStore(new NdjsonTable(state, "uamiguardbaseline").client()).get("/subscriptions/s1/vm")).toEqual([graded.identityId]);
    expect(await new DeliveryRecordStore(new NdjsonTable(state, "uamiguardevents").client()).purge(new Date())).toBe(0);
  });
});
