import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileFindingStateStore } from "../../cli/fileFindingState.js";
import { findingStatePathFor } from "../../cli/cleanup.js";
import { applyRun, sightingsFrom } from "../../shared/engine/findingLifecycle.js";
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
    expect(JSON.parse(readFileSync(path, "utf8"))).toMatchObject({ version: 1 });
  });

  it("without a path nothing is kept; a file that is not finding state is refused, naming it", async () => {
    const memory = new FileFindingStateStore();
    await memory.save("sweep-all", applyRun(new Map(), [orphan], { now: new Date(), unknownRules: new Set() }).changed);
    expect((await new FileFindingStateStore().load("sweep-all")).size).toBe(0);
    const path = join(mkdtempSync(join(tmpdir(), "uami-guard-state-")), "bad.json");
    writeFileSync(path, "[]");
    expect(() => new FileFindingStateStore(path)).toThrow(new InputError(`finding state ${path}: not a uami-guard finding state file`));
  });
});
