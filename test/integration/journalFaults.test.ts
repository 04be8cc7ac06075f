import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseEstate, saveEstateFile } from "../../local/emulator/estate.js";
import { TABLES } from "../../shared/composition.js";
import { TableJournal } from "../../shared/state/journalTable.js";
import { entryIdFor } from "../../shared/cleanup/journal.js";
import { azuriteTargets } from "../helpers/azuriteTargets.js";
import { cleanupEstate, deleteOutsideGrantAction } from "../helpers/cleanupEstate.js";

const targets = azuriteTargets();
const BIN = fileURLToPath(new URL("../../bin/uami-guard.js", import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, UAMI_GUARD_POLICY: "" } });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("leases outlive no holder (docs/guarantees.md), judged by the storage service's clock", () => {
  it("an instance whose clock runs ten minutes ahead does not take a live lease; one not renewed for the lease time is taken over", async () => {
    const target = await targets.start(cleanupEstate());
    const leases = new TableJournal(target.clients.table(TABLES.journal), 1_500);
    const a = { runId: "run-a", entryId: "entry-a" };
    const b = { runId: "run-b", entryId: "entry-b" };
    expect(await leases.acquire("t", a, new Date())).toEqual({ ok: true });
    // B's clock says the lease is long expired; the service's Timestamp and Date say it is not.
    expect(await leases.acquire("t", b, new Date(Date.now() + 10 * 60_000))).toEqual({ ok: false, heldBy: "run-a" });
    // Renewed while the action runs: still A's after more than the lease time.
    for (let step = 0; step < 3; step += 1) {
      await sleep(700);
      expect(await leases.renew("t", a)).toBe(true);
    }
    expect(await leases.acquire("t", b, new Date())).toEqual({ ok: false, heldBy: "run-a" });
    // A stops renewing (it crashed): after the lease time B takes it, and A's renewal says it lost it.
    await sleep(3_200);
    expect(await leases.acquire("t", b, new Date(Date.now() - 60 * 60_000))).toEqual({ ok: true });
    expect(await leases.renew("t", a)).toBe(false);
  });
});

describe("restore", () => {
  it("reports unknown (exit 1) for a pending entry whose change cannot be read back, never nothing-to-undo", () => {
    const dir = mkdtempSync(join(tmpdir(), "uami-guard-restore-unknown-"));
    const base = cleanupEstate();
    // ARM cannot read the role assignment now: whether the delete happened is not known.
    const estate = parseEstate({ ...base, emulator: { ...base.emulator, faults: [{ service: "arm", method: "GET", pathContains: "roleAssignments", status: 503, rate: 1, retryAfterSeconds: 0 }] } }, "estate");
    const estatePath = join(dir, "estate.json");
    saveEstateFile(estatePath, estate);
    const action = deleteOutsideGrantAction("fp-unknown");
    const entry = { record: "entry", entryId: entryIdFor("run-x", action.actionId), runId: "run-x", kind: action.kind, action, caller: "test", status: "pending", prior: { id: action.targetId }, createdAt: "2026-11-20T10:00:00.000Z", updatedAt: "2026-11-20T10:00:00.000Z" };
    const journal = join(dir, "j.jsonl");
    writeFileSync(journal, `${JSON.stringify(entry)}\n`);
    const result = cli("restore", "--estate", estatePath, "--journal", journal, "-o", "json");
    expect(result.status, result.stderr).toBe(1);
    const { results } = JSON.parse(result.stdout) as { results: Array<{ status: string }> };
    expect(results.map((item) => item.status)).toEqual(["unknown"]);
  }, 60_000);

  it("one journal: --journal with --state is refused before any work (exit 2, one line)", () => {
    const dir = mkdtempSync(join(tmpdir(), "uami-guard-one-journal-"));
    for (const command of [["restore", "--run", "r"], ["sweep", "--enforce"], ["replay", "--events", join(dir, "none.json")]]) {
      const result = cli(...command, "--journal", join(dir, "j.jsonl"), "--state", dir);
      expect(result.status, command.join(" ")).toBe(2);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stderr).toMatch(/--journal with --state/);
    }
  });
});
