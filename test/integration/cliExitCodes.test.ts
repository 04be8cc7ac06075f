import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseEstate, saveEstateFile } from "../../local/emulator/estate.js";
import type { RunReport } from "../../shared/findings.js";
import { cleanupEstate } from "../helpers/cleanupEstate.js";

/** docs/guarantees.md "Exit codes": any action failed (or stayed unknown) → exit 1, after the report is printed. */
const BIN = fileURLToPath(new URL("../../bin/uami-guard.js", import.meta.url));

describe("CLI exit codes after cleanup", () => {
  it("sweep --enforce exits 1 when every delete failed, and still prints its report", () => {
    const dir = mkdtempSync(join(tmpdir(), "uami-guard-exit-"));
    const base = cleanupEstate({ fillers: 400, orphans: 10 });
    const estate = join(dir, "estate.json");
    // Every DELETE is refused as Azure refuses one under a delete lock (409 ScopeLocked).
    saveEstateFile(estate, parseEstate({ ...base, emulator: { ...base.emulator, faults: [{ service: "arm", method: "DELETE", status: 409 }] } }, "locked estate"));
    const policy = join(dir, "policy.json");
    writeFileSync(policy, JSON.stringify({ orphans: { confirmations: 1 }, rules: { "untagged-identity": { mode: "audit" } } }));
    const run = spawnSync(process.execPath, [BIN, "sweep", "--estate", estate, "--policy", policy, "--enforce", "--journal", join(dir, "journal.jsonl"), "--output", "json"], {
      encoding: "utf8",
      env: { ...process.env, UAMI_GUARD_POLICY: "" },
    });
    expect(run.stdout, run.stderr).not.toBe("");
    const report = JSON.parse(run.stdout) as RunReport;
    const deletes = report.actions.filter((action) => action.change.startsWith("delete"));
    expect(deletes.length).toBeGreaterThanOrEqual(10);
    expect(deletes.every((action) => action.status === "failed")).toBe(true);
    expect(run.status).toBe(1);
  }, 60_000);

  it("sweep --enforce exits 1 when a change's answer is lost and the re-read fails too (unknown), and the entry stays pending", () => {
    const dir = mkdtempSync(join(tmpdir(), "uami-guard-exit-"));
    const base = cleanupEstate();
    const estate = join(dir, "estate.json");
    // The tag write (Tags - Update At Scope) and every read of the tags resource answer 503: outcome unknown.
    const tags = "/providers/Microsoft.Resources/tags/default";
    saveEstateFile(estate, parseEstate({ ...base, emulator: { ...base.emulator, faults: [{ service: "arm", method: "PATCH", pathContains: tags, status: 503, retryAfterSeconds: 0 }, { service: "arm", method: "GET", pathContains: tags, status: 503, retryAfterSeconds: 0 }] } }, "tags down"));
    const policy = join(dir, "policy.json");
    writeFileSync(policy, JSON.stringify({ rules: { "orphaned-role-assignment": { mode: "audit" }, "untagged-identity": { mode: "enforce" } } }));
    const journal = join(dir, "journal.jsonl");
    const run = spawnSync(process.execPath, [BIN, "sweep", "--estate", estate, "--policy", policy, "--enforce", "--journal", journal, "--output", "json"], {
      encoding: "utf8",
      env: { ...process.env, UAMI_GUARD_POLICY: "" },
    });
    const report = JSON.parse(run.stdout) as RunReport;
    const tagged = report.actions.filter((action) => action.change.startsWith("tag"));
    expect(tagged.length, run.stderr).toBeGreaterThan(0);
    expect(new Set(tagged.map((action) => `${action.status} ${/outcome unknown/.test(action.reason ?? "")}`))).toEqual(new Set(["unknown true"]));
    expect(run.status).toBe(1);
    expect(readFileSync(journal, "utf8")).toMatch(/"status":"pending"/);
  }, 60_000);
});
