import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileJournal } from "../../cli/fileJournal.js";
import { InputError } from "../../shared/errors.js";
import type { JournalEntry } from "../../shared/cleanup/types.js";

function entry(entryId: string, runId = "run-1"): JournalEntry {
  return {
    entryId,
    runId,
    kind: "tag-identity",
    action: {
      actionId: "a",
      kind: "tag-identity",
      targetId: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x",
      tagValue: "untagged since 2026-11-23",
      finding: { ruleId: "untagged-identity", severity: "medium", subjectId: "x", fingerprint: "f", title: "t", evidence: {} },
    },
    caller: "test",
    status: "pending",
    prior: { tags: {} },
    createdAt: "2026-11-23T00:00:00.000Z",
    updatedAt: "2026-11-23T00:00:00.000Z",
  };
}

const temp = () => join(mkdtempSync(join(tmpdir(), "uami-guard-journal-")), "journal.jsonl");

describe("--journal FILE", () => {
  it("appends a line per state, the latest wins, and it survives a reopen", async () => {
    const path = temp();
    const journal = new FileJournal(path);
    const first = entry("e1");
    await journal.begin(first);
    await journal.finish(first, "done", "applied and verified");
    await journal.begin(entry("e2"));
    journal.close();
    // Orphan sightings used to be journal lines; a file that still has one reads as before.
    appendFileSync(path, `${JSON.stringify({ record: "sightings", runId: "run-1", at: "2026-11-23T00:00:00.000Z", orphans: { fp: 1 } })}\n`);
    expect(readFileSync(path, "utf8").trim().split("\n")).toHaveLength(4);
    expect(existsSync(`${path}.lock`)).toBe(false);

    const reopened = new FileJournal(path);
    expect((await reopened.entries({})).map((item) => [item.entryId, item.status])).toEqual([["e1", "done"], ["e2", "pending"]]);
    expect((await reopened.pending()).map((item) => item.entryId)).toEqual(["e2"]);
    reopened.close();
  });

  it("tolerates a torn last line (a run killed mid-write) but not a broken line in the middle", async () => {
    const path = temp();
    const journal = new FileJournal(path);
    await journal.begin(entry("e1"));
    journal.close();
    appendFileSync(path, '{"record":"entry","entryId":"e2","ru');
    const reopened = new FileJournal(path);
    expect((await reopened.entries({})).map((item) => item.entryId)).toEqual(["e1"]);
    reopened.close();
    writeFileSync(path, `garbage\n${JSON.stringify({ record: "entry", ...entry("e1") })}\n`);
    expect(() => new FileJournal(path)).toThrow(new InputError(`--journal ${path}: line 1 is not JSON`));
  });

  it("is locked to one live process; a dead process's lock is taken over", () => {
    const path = temp();
    writeFileSync(`${path}.lock`, String(process.pid));
    expect(() => new FileJournal(path)).toThrow(/in use by process/);
    writeFileSync(`${path}.lock`, "999999999");
    const journal = new FileJournal(path);
    expect(readFileSync(`${path}.lock`, "utf8")).toBe(String(process.pid));
    journal.close();
  });
});
