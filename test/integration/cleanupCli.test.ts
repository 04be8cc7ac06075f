import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { saveEstateFile, type Estate } from "../../local/emulator/estate.js";
import type { RunReport } from "../../shared/findings.js";
import type { RestoreResult } from "../../shared/cleanup/restore.js";
import { IDS, PROTECTED, cleanupEstate, cleanupEvents } from "../helpers/cleanupEstate.js";

const BIN = fileURLToPath(new URL("../../bin/uami-guard.js", import.meta.url));

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, UAMI_GUARD_POLICY: "" } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** stderr without the progress summaries a slow step prints when stderr is a pipe (a loaded machine makes any step slow). */
function unexpectedStderr(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line !== "" && !/ in \d+\.\d s$/.test(line));
}

function readEstate(path: string): Estate {
  return JSON.parse(readFileSync(path, "utf8")) as Estate;
}

type Keyed = { id: string };
const byId = <T extends Keyed>(items: T[]): Map<string, T> => new Map(items.map((item) => [item.id.toLowerCase(), item]));

/** What changed between two saved estates: ids removed, added and changed per collection. */
function diff(before: Estate, after: Estate) {
  const result: Record<string, { removed: string[]; added: string[]; changed: string[] }> = {};
  for (const key of ["resources", "roleAssignments", "federatedCredentials", "directory"] as const) {
    const a = byId(before[key] as Keyed[]);
    const b = byId(after[key] as Keyed[]);
    result[key] = {
      removed: [...a.keys()].filter((id) => !b.has(id)),
      added: [...b.keys()].filter((id) => !a.has(id)),
      changed: [...a.keys()].filter((id) => b.has(id) && JSON.stringify(canonical(a.get(id))) !== JSON.stringify(canonical(b.get(id)))),
    };
  }
  return result;
}

/** Key order does not matter in JSON objects; ARM stamps recreated assignments with new times. */
function canonical(value: unknown, dropStamps = false): unknown {
  if (Array.isArray(value)) return value.map((item) => canonical(item, dropStamps));
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([key]) => !(dropStamps && ["createdOn", "updatedOn", "createdBy"].includes(key)))
      .sort(([a], [b]) => a.localeCompare(b));
    return Object.fromEntries(entries.map(([key, item]) => [key, canonical(item, dropStamps)]));
  }
  return value;
}

function sortedById(estate: Estate, recreated: Set<string>): unknown {
  const sort = <T extends Keyed>(items: T[]) => [...items].sort((a, b) => a.id.toLowerCase().localeCompare(b.id.toLowerCase()));
  return canonical({
    ...estate,
    resources: sort(estate.resources),
    roleAssignments: sort(estate.roleAssignments).map((assignment) => (recreated.has(assignment.id.toLowerCase()) ? canonical(assignment, true) : assignment)),
    federatedCredentials: sort(estate.federatedCredentials),
    directory: sort(estate.directory as Keyed[]),
  });
}

const lower = (id: string): string => id.toLowerCase();

// Each test runs up to four CLI processes one after the other, each starting its own emulator: on a shared, loaded
// machine that alone can pass the default minute.
describe("enforce runs through the CLI change exactly what docs/guarantees.md \"Cleanup actions\" says, and restore undoes it", { timeout: 180_000 }, () => {
  let dir: string;
  let input: string;
  let policy: string;
  let events: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "uami-guard-cleanup-"));
    input = join(dir, "estate.json");
    saveEstateFile(input, cleanupEstate());
    policy = join(dir, "policy.json");
    writeFileSync(policy, JSON.stringify({ protected: PROTECTED }));
    events = join(dir, "events.json");
    writeFileSync(events, JSON.stringify(cleanupEvents()));
  });

  it("sweep, sweep again, replay, restore: each step's diff is exactly its actions", () => {
    const journal = join(dir, "journal.jsonl");
    const s1 = join(dir, "s1.json");
    const first = cli("sweep", "--estate", input, "--policy", policy, "--enforce", "--journal", journal, "--save-estate", s1, "--output", "json");
    expect(unexpectedStderr(first.stderr)).toEqual([]);
    expect(first.code).toBe(0);
    const report1 = JSON.parse(first.stdout) as RunReport;
    expect(report1.cleanup).toMatchObject({ mode: "enforce", journal });
    const status1 = Object.fromEntries(report1.actions.map((action) => [lower(action.target), `${action.status}${action.reason ? `: ${action.reason}` : ""}`]));
    expect(status1[lower(IDS.orphan)]).toBe("deferred: seen orphaned on 1 of 2 consecutive sweeps");
    expect(status1[lower(IDS.orphanProtectedScope)]).toMatch(/^skipped: protected scope/);
    expect(status1[lower(IDS.orphanProtectedPrincipal)]).toMatch(/^skipped: protected principal/);
    expect(status1[lower(IDS.untagged)]).toBe("done");
    expect(status1[lower(IDS.protectedUntagged)]).toMatch(/^skipped: protected scope/);
    expect(status1[lower(IDS.breakGlass)]).toMatch(/^skipped: protected principal/);
    expect(status1[lower(IDS.orphanYoung)]).toBeUndefined();
    // Only the one untagged, unprotected identity got the status tag; nothing else changed.
    expect(diff(readEstate(input), readEstate(s1))).toEqual({
      resources: { removed: [], added: [], changed: [lower(IDS.untagged)] },
      roleAssignments: { removed: [], added: [], changed: [] },
      federatedCredentials: { removed: [], added: [], changed: [] },
      directory: { removed: [], added: [], changed: [] },
    });
    const tagged = readEstate(s1).resources.find((resource) => lower(resource.id) === lower(IDS.untagged));
    expect(tagged?.tags).toEqual({ "uami-guard-status": `untagged since ${new Date().toISOString().slice(0, 10)}` });

    // The journal file remembers the first sighting: the second sweep deletes the confirmed orphan.
    const s2 = join(dir, "s2.json");
    const second = cli("sweep", "--estate", s1, "--policy", policy, "--enforce", "--journal", journal, "--save-estate", s2, "--output", "json");
    expect(second.code).toBe(0);
    const report2 = JSON.parse(second.stdout) as RunReport;
    expect(report2.actions.find((action) => lower(action.target) === lower(IDS.orphan))?.status).toBe("done");
    expect(diff(readEstate(s1), readEstate(s2)).roleAssignments).toEqual({ removed: [lower(IDS.orphan)], added: [], changed: [] });
    expect(diff(readEstate(s1), readEstate(s2)).resources).toEqual({ removed: [], added: [], changed: [] });

    // Events: the attachment and the grant made outside a pipeline are undone.
    const s3 = join(dir, "s3.json");
    const third = cli("replay", "--events", events, "--estate", s2, "--policy", policy, "--enforce", "--journal", journal, "--save-estate", s3, "--output", "json");
    expect(third.code).toBe(0);
    const report3 = JSON.parse(third.stdout) as RunReport;
    expect(report3.actions.map((action) => `${action.action} ${action.status}`).sort()).toEqual(["delete-role-assignment done", "detach-identity done"]);
    const change3 = diff(readEstate(s2), readEstate(s3));
    expect(change3.roleAssignments).toEqual({ removed: [lower(IDS.outside)], added: [], changed: [] });
    expect(change3.resources).toEqual({ removed: [], added: [], changed: [lower(IDS.vm)] });
    const vm = readEstate(s3).resources.find((resource) => lower(resource.id) === lower(IDS.vm));
    // Detach keeps the other user-assigned identity and the system-assigned one.
    expect(vm?.identity?.type).toBe("SystemAssigned, UserAssigned");
    expect(vm?.identity?.principalId).toBeDefined();
    expect(Object.keys(vm?.identity?.userAssignedIdentities ?? {}).map(lower)).toEqual([lower(IDS.app)]);

    // Restore everything: the orphan cannot come back (its principal is gone) and says so.
    const restored = join(dir, "restored.json");
    const undo = cli("restore", "--journal", journal, "--estate", s3, "--save-estate", restored, "--output", "json");
    expect(undo.code).toBe(0);
    const results = (JSON.parse(undo.stdout) as { results: RestoreResult[] }).results;
    const byChange = Object.fromEntries(results.map((result) => [result.change.split(" ")[0] + " " + result.status, result]));
    expect(results.map((result) => result.status).sort()).toEqual(["not-restorable", "restored", "restored", "restored"]);
    expect(byChange["delete not-restorable"]?.detail).toMatch(/principal .* no longer exists in the directory/);
    const expected = readEstate(input);
    expected.roleAssignments = expected.roleAssignments.filter((assignment) => lower(assignment.id) !== lower(IDS.orphan));
    expect(sortedById(readEstate(restored), new Set([lower(IDS.outside)]))).toEqual(sortedById(expected, new Set([lower(IDS.outside)])));
  }, 60_000);

  it("a restore round trip of restorable changes leaves the saved estate identical to the input", () => {
    const journal = join(dir, "roundtrip.jsonl");
    const changed = join(dir, "rt-changed.json");
    expect(cli("replay", "--events", events, "--estate", input, "--policy", policy, "--enforce", "--journal", journal, "--save-estate", changed, "--output", "json").code).toBe(0);
    const restored = join(dir, "rt-restored.json");
    expect(cli("restore", "--journal", journal, "--estate", changed, "--save-estate", restored).code).toBe(0);
    expect(sortedById(readEstate(restored), new Set([lower(IDS.outside)]))).toEqual(sortedById(readEstate(input), new Set([lower(IDS.outside)])));
    // A second restore finds nothing left to undo.
    const again = cli("restore", "--journal", journal, "--estate", restored, "--output", "json");
    expect((JSON.parse(again.stdout) as { results: RestoreResult[] }).results.every((result) => result.status === "already-restored")).toBe(true);
  }, 30_000);

  it("dry run (policy enforce, dryRun true) reports the same actions as planned and changes nothing", () => {
    const dryPolicy = join(dir, "dry-policy.json");
    writeFileSync(dryPolicy, JSON.stringify({ protected: PROTECTED, rules: { "untagged-identity": { mode: "enforce" }, "orphaned-role-assignment": { mode: "enforce" } }, orphans: { confirmations: 1 } }));
    const after = join(dir, "dry.json");
    const run = cli("sweep", "--estate", input, "--policy", dryPolicy, "--save-estate", after, "--output", "json");
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as RunReport;
    expect(report.cleanup?.mode).toBe("dry-run");
    expect(report.actions.filter((action) => action.status === "planned").map((action) => lower(action.target)).sort()).toEqual([lower(IDS.orphan), lower(IDS.untagged)].sort());
    expect(diff(readEstate(input), readEstate(after))).toEqual({
      resources: { removed: [], added: [], changed: [] },
      roleAssignments: { removed: [], added: [], changed: [] },
      federatedCredentials: { removed: [], added: [], changed: [] },
      directory: { removed: [], added: [], changed: [] },
    });
  }, 30_000);

  it("the circuit breaker holds: no change at all and a critical cleanup-circuit-breaker notice", () => {
    const many = join(dir, "many-orphans.json");
    saveEstateFile(many, cleanupEstate({ fillers: 20, orphans: 10 }));
    const tight = join(dir, "tight-policy.json");
    writeFileSync(tight, JSON.stringify({ orphans: { confirmations: 1 }, cleanup: { dryRun: true, maxActionsPerRun: 50, maxDeletePercent: 5 } }));
    const after = join(dir, "breaker.json");
    const run = cli("sweep", "--estate", many, "--policy", tight, "--enforce", "--journal", join(dir, "breaker.jsonl"), "--save-estate", after, "--output", "json");
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as RunReport;
    expect(report.cleanup?.breaker).toMatch(/13 of 35 role assignments \(37.14%\) exceed cleanup.maxDeletePercent 5/);
    expect(report.actions.filter((action) => action.status === "blocked")).toHaveLength(13 + 3);
    expect(report.actions.some((action) => action.status === "done")).toBe(false);
    const notice = report.findings.find((finding) => finding.ruleId === "cleanup-circuit-breaker");
    expect(notice).toMatchObject({ severity: "critical" });
    expect(JSON.stringify(canonical(readEstate(after)))).toBe(JSON.stringify(canonical(readEstate(many))));

    const fewActions = join(dir, "few-policy.json");
    writeFileSync(fewActions, JSON.stringify({ cleanup: { maxActionsPerRun: 2 } }));
    const capped = cli("sweep", "--estate", input, "--policy", fewActions, "--enforce", "--journal", join(dir, "capped.jsonl"), "--output", "json");
    expect((JSON.parse(capped.stdout) as RunReport).cleanup?.breaker).toMatch(/actions exceed cleanup.maxActionsPerRun 2/);
  }, 30_000);

  it("bad input exits 2 with one line: enforce without a journal, restore without a source, a journal in use", () => {
    const noJournal = cli("sweep", "--estate", input, "--enforce");
    expect(noJournal.code).toBe(2);
    expect(noJournal.stderr.trim()).toMatch(/^uami-guard: --enforce: needs --journal FILE/);
    const noSource = cli("restore", "--estate", input);
    expect(noSource.code).toBe(2);
    expect(noSource.stderr.trim()).toBe("uami-guard: restore: give --journal FILE or --run RUNID (the app's journal table)");
    const locked = join(dir, "locked.jsonl");
    writeFileSync(`${locked}.lock`, String(process.pid));
    const busy = cli("sweep", "--estate", input, "--enforce", "--journal", locked);
    expect(busy.code).toBe(2);
    expect(busy.stderr.trim().split("\n")).toHaveLength(1);
    expect(busy.stderr).toMatch(/in use by process/);
    const unknownRun = cli("restore", "--journal", join(dir, "journal.jsonl"), "--run", "sweep-nope", "--estate", input);
    expect(unknownRun.code).toBe(2);
    expect(unknownRun.stderr).toMatch(/no journal entries for run sweep-nope/);
  }, 30_000);
});
