import { mkdtempSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { FileFindingStateStore } from "../../cli/fileFindingState.js";
import { HEADER } from "../../cli/findingStateLines.js";
import { findingStatePathFor, readOnlyFindingState } from "../../cli/cleanup.js";
import { applyRun, EVENT_SCOPE, findingOfRecord, lacksFinding, sightingsFrom, snapshotOf, storedRecord, type FindingRecord } from "../../shared/engine/findingLifecycle.js";
import { fingerprintOf, type Finding } from "../../shared/findings.js";
import { InputError } from "../../shared/errors.js";

const orphan: Finding = {
  ruleId: "orphaned-role-assignment",
  severity: "high",
  subjectId: "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/1",
  fingerprint: fingerprintOf("orphaned-role-assignment", "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/1"),
  title: "orphan",
  message: "",
  evidence: {},
  remediation: { summary: "", cli: [] },
};

describe("finding state in a file (a CLI sweep without --state)", () => {
  it("keeps the records between processes, so orphan confirmations count across runs", async () => {
    const path = findingStatePathFor(join(mkdtempSync(join(tmpdir(), "uami-guard-state-")), "journal.jsonl"));
    expect(path).toMatch(/journal\.jsonl\.findings\.json$/);
    const first = new FileFindingStateStore(path);
    const run1 = applyRun(await first.load("sweep-all"), [orphan], { now: new Date("2026-11-23T00:00:00Z"), unknownRules: new Set() });
    await first.save("sweep-all", run1.changed);

    const second = new FileFindingStateStore(path);
    const previous = await second.load("sweep-all");
    expect(sightingsFrom(previous).consecutive(orphan.fingerprint)).toBe(2);
    expect(sightingsFrom(previous).firstSeen(orphan.fingerprint)).toBe("2026-11-23T00:00:00.000Z");
    expect([...(await second.loadSome("sweep-all", [orphan.fingerprint, "other"])).keys()]).toEqual([orphan.fingerprint]);
    expect(await second.load("sweep-other")).toEqual(new Map());
    expect(readFileSync(path, "utf8").split("\n")[0]).toBe('{"version":2}');
    // The file is rewritten whole each run, every snapshot with it: it keeps no hash (a stale one could outlive its snapshot).
    expect(readFileSync(path, "utf8")).not.toContain("snapshotHash");
  });

  it("without a path nothing is kept; a file that is not finding state is refused, naming it", async () => {
    const memory = new FileFindingStateStore();
    await memory.save("sweep-all", applyRun(new Map(), [orphan], { now: new Date(), unknownRules: new Set() }).changed);
    expect((await new FileFindingStateStore().load("sweep-all")).size).toBe(0);
    const path = join(mkdtempSync(join(tmpdir(), "uami-guard-state-")), "bad.json");
    writeFileSync(path, "[]");
    expect(() => new FileFindingStateStore(path)).toThrow(new InputError(`finding state ${path}: not a uami-guard finding state file`));
    const directory = mkdtempSync(join(tmpdir(), "uami-guard-state-"));
    expect(inputErrorOf(() => new FileFindingStateStore(directory)).message).toMatch(new RegExp(`^finding state ${directory}: cannot be read \\(EISDIR`));
  });
});

const many = (count: number, scope = "sweep-all"): Finding[] =>
  Array.from({ length: count }, (_, index) => {
    const subjectId = `/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/${scope}-${index}`;
    // Names from the estate are not ASCII only: byte offsets and character offsets differ.
    return { ...orphan, subjectId, fingerprint: fingerprintOf(orphan.ruleId, subjectId), title: `orphan of Zoë 🚀 ${index}`, evidence: { principal: "é".repeat(200), index } };
  });

const statePath = (): string => join(mkdtempSync(join(tmpdir(), "uami-guard-state-")), "journal.jsonl.findings.json");

function inputErrorOf(make: () => unknown): InputError {
  try {
    make();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error("no InputError");
}

describe("finding state file, version 2: JSON Lines written and read a line at a time", () => {
  it("round-trips thousands of records; the file is a header, a line per record and a closing count", async () => {
    const path = statePath();
    const findings = many(3_000);
    const store = new FileFindingStateStore(path);
    await store.save(EVENT_SCOPE, applyRun(new Map(), many(2, "event"), { now: new Date("2026-11-22T00:00:00Z"), unknownRules: new Set() }).changed);
    await store.save("sweep-all", applyRun(new Map(), findings, { now: new Date("2026-11-23T00:00:00Z"), unknownRules: new Set() }).changed);

    const lines = readFileSync(path, "utf8").split("\n");
    expect(lines[0]).toBe('{"version":2}');
    expect(lines.at(-1)).toBe("");
    expect(JSON.parse(lines.at(-2) ?? "")).toEqual({ records: 3_002 });
    const body = lines.slice(1, -2).map((line) => JSON.parse(line) as { scope: string; record: FindingRecord });
    expect(body).toHaveLength(3_002);
    expect(body.filter((line) => line.scope === "sweep-all").map((line) => line.record.fingerprint)).toEqual(findings.map((finding) => finding.fingerprint));
    expect(body[2]?.record).toEqual({ ...storedRecord({ ...body[2]!.record }), snapshot: snapshotOf(findings[0]!) });
    expect(body.every((line) => !("finding" in line.record))).toBe(true);

    const again = new FileFindingStateStore(path);
    const light = await again.load("sweep-all", { snapshots: false });
    expect(light.size).toBe(3_000);
    expect([...light.values()].every((record) => record.snapshot === undefined && record.finding === undefined)).toBe(true);
    expect(light.get(findings[2_999]!.fingerprint)).toMatchObject({ title: "orphan of Zoë 🚀 2999", consecutive: 1, firstSeen: "2026-11-23T00:00:00.000Z" });
    const some = await again.loadSome("sweep-all", [findings[7]!.fingerprint, findings[2_998]!.fingerprint, "other"]);
    expect(findingOfRecord(some.get(findings[2_998]!.fingerprint)!)).toEqual(findings[2_998]);
    expect(some.get(findings[7]!.fingerprint)?.snapshot).toBe(snapshotOf(findings[7]!));
    expect(some.size).toBe(2);
    const full = await again.load("sweep-all");
    expect(full.get(findings[1_500]!.fingerprint)?.snapshot).toBe(snapshotOf(findings[1_500]!));
    expect((await again.load(EVENT_SCOPE)).size).toBe(2);
  });

  it("makes no string of the whole state: the largest JSON.stringify is one record's line", async () => {
    const path = statePath();
    const store = new FileFindingStateStore(path);
    const records = applyRun(new Map(), many(2_000), { now: new Date(), unknownRules: new Set() }).changed;
    const stringify = vi.spyOn(JSON, "stringify");
    try {
      await store.save("sweep-all", records);
      const longest = Math.max(...stringify.mock.results.map((result) => (typeof result.value === "string" ? result.value.length : 0)));
      expect(statSync(path).size).toBeGreaterThan(2_000_000);
      expect(longest).toBeLessThan(5_000);
    } finally {
      stringify.mockRestore();
    }
  });

  it("a record saved without its snapshot keeps the one stored, across a write and a read", async () => {
    const path = statePath();
    const findings = many(50);
    await new FileFindingStateStore(path).save("sweep-all", applyRun(new Map(), findings, { now: new Date("2026-11-23T00:00:00Z"), unknownRules: new Set() }).changed);

    const second = new FileFindingStateStore(path);
    const previous = await second.load("sweep-all", { snapshots: false });
    // The second sweep sees the first ten only, and could not check the rule of the rest: unconfirmed, no snapshot in hand.
    const run2 = applyRun(previous, findings.slice(0, 10), { now: new Date("2026-11-24T00:00:00Z"), unknownRules: new Set([orphan.ruleId]) });
    expect(run2.changed.filter(lacksFinding)).toHaveLength(40);
    await second.save("sweep-all", run2.changed);
    expect((await second.loadSome("sweep-all", [findings[49]!.fingerprint])).get(findings[49]!.fingerprint)).toMatchObject({ consecutive: 0, snapshot: snapshotOf(findings[49]!) });

    const third = new FileFindingStateStore(path);
    const kept = await third.load("sweep-all");
    expect(kept.get(findings[49]!.fingerprint)).toMatchObject({ consecutive: 0, snapshot: snapshotOf(findings[49]!) });
    expect(kept.get(findings[0]!.fingerprint)).toMatchObject({ consecutive: 2, timesSeen: 2, snapshot: snapshotOf(findings[0]!) });
    expect(await third.openForSubjects([findings[3]!.subjectId.toUpperCase()])).toEqual([{ scope: "sweep-all", record: kept.get(findings[3]!.fingerprint) }]);
  });

  it("in memory (no --journal): load without snapshots holds none; with them, made from the finding in hand", async () => {
    const store = new FileFindingStateStore();
    const findings = many(3);
    await store.save("sweep-all", applyRun(new Map(), findings, { now: new Date(), unknownRules: new Set() }).changed);
    const light = await store.load("sweep-all", { snapshots: false });
    expect([...light.values()].map((record) => [record.snapshot, record.finding])).toEqual([[undefined, undefined], [undefined, undefined], [undefined, undefined]]);
    const unconfirmed = applyRun(light, [], { now: new Date(), unknownRules: new Set([orphan.ruleId]) }).changed;
    await store.save("sweep-all", unconfirmed);
    expect((await store.load("sweep-all")).get(findings[1]!.fingerprint)).toMatchObject({ consecutive: 0, snapshot: snapshotOf(findings[1]!) });
  });

  it("a dry run reads the file as the enforce run does: without snapshots when the sweep asks so, and writes nothing", async () => {
    const path = statePath();
    const findings = many(2);
    await new FileFindingStateStore(path).save("sweep-all", applyRun(new Map(), findings, { now: new Date(), unknownRules: new Set() }).changed);
    const before = readFileSync(path, "utf8");
    const dryRun = readOnlyFindingState(new FileFindingStateStore(path));
    expect([...(await dryRun.load("sweep-all", { snapshots: false })).values()].map((record) => record.snapshot)).toEqual([undefined, undefined]);
    expect((await dryRun.loadSome("sweep-all", [findings[0]!.fingerprint])).get(findings[0]!.fingerprint)?.snapshot).toBe(snapshotOf(findings[0]!));
    await dryRun.save("sweep-all", applyRun(new Map(), many(3, "dry"), { now: new Date(), unknownRules: new Set() }).changed);
    expect(readFileSync(path, "utf8")).toBe(before);
  });

  it("still reads a version 1 file, and writes version 2 on the next save", async () => {
    const path = statePath();
    const [first, second] = many(2);
    // As earlier releases stored it: the record and its snapshot (no hash).
    const record = (finding: Finding): FindingRecord => {
      const { snapshotHash: _later, ...stored } = storedRecord(applyRun(new Map(), [finding], { now: new Date("2026-11-20T00:00:00Z"), unknownRules: new Set() }).changed[0]!);
      return stored;
    };
    writeFileSync(path, `${JSON.stringify({ version: 1, scopes: { "sweep-all": { [first!.fingerprint]: record(first!), [second!.fingerprint]: record(second!) } } })}\n`);
    const store = new FileFindingStateStore(path);
    const previous = await store.load("sweep-all", { snapshots: false });
    expect(previous.get(first!.fingerprint)).toEqual({ ...record(first!), snapshot: undefined });
    await store.save("sweep-all", applyRun(previous, [first!], { now: new Date("2026-11-21T00:00:00Z"), unknownRules: new Set() }).changed);
    expect(readFileSync(path, "utf8").split("\n")[0]).toBe('{"version":2}');
    // The file is rewritten whole each run, every snapshot with it: it keeps no hash (a stale one could outlive its snapshot).
    expect(readFileSync(path, "utf8")).not.toContain("snapshotHash");
    const kept = await new FileFindingStateStore(path).load("sweep-all");
    expect(kept.get(first!.fingerprint)).toMatchObject({ consecutive: 2, snapshot: snapshotOf(first!) });
    expect(kept.get(second!.fingerprint)).toMatchObject({ status: "resolved", snapshot: snapshotOf(second!) });
  });

  it("refuses a damaged file naming the file and the line (exit 2): one cut short when it is opened, before any work; a bad record when the records are first read", async () => {
    const path = statePath();
    await new FileFindingStateStore(path).save("sweep-all", applyRun(new Map(), many(5), { now: new Date(), unknownRules: new Set() }).changed);
    const good = readFileSync(path, "utf8");
    const lines = good.split("\n");
    const refused = (message: RegExp): RegExp => new RegExp(`^finding state ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} ${message.source}.*; remove it to start counting again$`);
    const whenOpened: Array<[string, RegExp]> = [
      [good.slice(0, good.length - lines.at(-2)!.length - 40), /line 6: not the closing line \{"records":N\} a finding state file ends with \(cut short\?\)/],
      [`${lines.slice(0, 4).join("\n")}\n`, /line 4: not the closing line/],
      [good.replace('{"records":5}', '{"records":6}'), /line 7: says 6 records, the file holds 5/],
      [`${good}${lines[1]}\n`, /line 8: not the closing line/],
      [`${HEADER}\n`, /line 1: not the closing line/],
    ];
    for (const [text, message] of whenOpened) {
      writeFileSync(path, text);
      expect(inputErrorOf(() => new FileFindingStateStore(path)).message).toMatch(refused(message));
    }
    const whenRead: Array<[string, RegExp]> = [
      [good.replace(lines[2]!, '{"scope":"sweep-all","record":{"fingerprint":"x"}}'), /line 3: not a finding record \(ruleId is not text\)/],
      [good.replace(lines[2]!, lines[2]!.replace('"consecutive":1', '"consecutive":"99"')), /line 3: not a finding record \(consecutive is not a count\)/],
      [good.replace(lines[2]!, lines[2]!.slice(0, 100)), /line 3: not JSON \(.*\)/],
      [good.replace(lines[2]!, lines[3]!), /line 4: fingerprint .* twice in scope sweep-all/],
    ];
    for (const [text, message] of whenRead) {
      writeFileSync(path, text);
      const store = new FileFindingStateStore(path);
      const error = await store.load("sweep-all", { snapshots: false }).then(() => undefined, (failure: unknown) => failure);
      expect(error).toBeInstanceOf(InputError);
      expect((error as Error).message).toMatch(refused(message));
    }
  });

  it("a reader goes on reading the state it read when another run replaces the file", async () => {
    const path = statePath();
    const findings = many(3);
    await new FileFindingStateStore(path).save("sweep-all", applyRun(new Map(), findings, { now: new Date(), unknownRules: new Set() }).changed);
    const reader = new FileFindingStateStore(path);
    // Another run (an enforce run beside this dry run) renames its state into place: other records on those lines.
    const other = statePath();
    await new FileFindingStateStore(other).save("sweep-all", applyRun(new Map(), many(40, "other"), { now: new Date(), unknownRules: new Set() }).changed);
    renameSync(other, path);
    expect((await reader.loadSome("sweep-all", [findings[2]!.fingerprint])).get(findings[2]!.fingerprint)?.snapshot).toBe(snapshotOf(findings[2]!));
  });
});
