import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { saveEstateFile } from "../../local/emulator/estate.js";
import type { RunReport } from "../../shared/findings.js";
import { PROTECTED, cleanupEstate } from "../helpers/cleanupEstate.js";
import { runCli } from "../helpers/cli.js";

// No terminal: an --enforce against Azure would need --yes here; a dry run must not.
const cli = (args: string[], cwd: string) => runCli(args, { cwd });

/** What a run decided per action: planned (dry run) and done (enforce) are the same decision, to act. */
function plan(report: RunReport): string[] {
  return report.actions
    .map((action) => `${action.action} ${action.target.toLowerCase()} ${(action.relatedId ?? "").toLowerCase()} ${action.status === "planned" || action.status === "done" ? "act" : action.status}`)
    .sort();
}

const canonical = (text: string): string => JSON.stringify(JSON.parse(text), (_key, value: unknown) => (value && typeof value === "object" && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b))) : value));

describe("sweep --enforce --dry-run", () => {
  it("plans what --enforce then does, changes nothing, and needs neither --journal nor --yes", () => {
    const cwd = mkdtempSync(join(tmpdir(), "uami-guard-dry-run-"));
    const estate = join(cwd, "estate.json");
    saveEstateFile(estate, cleanupEstate());
    const policy = join(cwd, "policy.json");
    writeFileSync(policy, JSON.stringify({ protected: PROTECTED }));
    const journal = join(cwd, "journal.jsonl");

    // Twice, as a cautious operator would: a dry run writes no finding state, so the second plans the same.
    const dry = cli(["sweep", "--estate", estate, "--policy", policy, "--enforce", "--dry-run", "--save-estate", join(cwd, "dry.json"), "-o", "json"], cwd);
    expect(dry.code, dry.stderr).toBe(0);
    const dryReport = JSON.parse(dry.stdout) as RunReport;
    expect(dryReport.cleanup).toMatchObject({ mode: "dry-run" });
    expect(dryReport.actions.some((action) => action.status === "planned")).toBe(true);
    expect(dryReport.actions.every((action) => ["planned", "deferred", "skipped", "blocked"].includes(action.status))).toBe(true);
    expect(canonical(readFileSync(join(cwd, "dry.json"), "utf8"))).toBe(canonical(readFileSync(estate, "utf8")));
    // az's spelling, with the journal the enforce run will use: its finding state is read, not written.
    const again = cli(["sweep", "--estate", estate, "--policy", policy, "--enforce", "--dryrun", "--journal", journal, "-o", "json"], cwd);
    expect(again.code, again.stderr).toBe(0);
    expect(plan(JSON.parse(again.stdout) as RunReport)).toEqual(plan(dryReport));
    expect(existsSync(journal)).toBe(false);
    expect(existsSync(`${journal}.findings.json`)).toBe(false);

    const enforce = cli(["sweep", "--estate", estate, "--policy", policy, "--enforce", "--journal", journal, "-o", "json"], cwd);
    expect(enforce.code, enforce.stderr).toBe(0);
    expect(plan(JSON.parse(enforce.stdout) as RunReport)).toEqual(plan(dryReport));
  }, 240_000);

  it("without --estate it needs no --yes and no --journal: it gets as far as asking Azure for a credential", () => {
    const cwd = mkdtempSync(join(tmpdir(), "uami-guard-dry-run-azure-"));
    // No Azure here: the run stops at sign-in (exit 1), not at the --yes / --journal checks (exit 2). It
    // must not leave the machine either: managed identity points at a closed loopback port, nothing else is configured.
    // AZURE_TOKEN_CREDENTIALS=dev: @azure/identity's DefaultAzureCredential tries only the developer tools
    // (none installed), rather than retrying managed identity for 20 s.
    const noAzure = { AZURE_TOKEN_CREDENTIALS: "dev", IDENTITY_ENDPOINT: "http://127.0.0.1:9/msi/token", IDENTITY_HEADER: "x", MSI_ENDPOINT: "", AZURE_CLIENT_ID: "", AZURE_TENANT_ID: "", AZURE_CLIENT_SECRET: "", AZURE_FEDERATED_TOKEN_FILE: "" };
    const result = runCli(["sweep", "--subscription", "prod", "--enforce", "--dry-run"], { cwd, env: { HOME: cwd, ...noAzure } });
    expect(result.stderr).not.toMatch(/--yes|--journal/);
    expect(result.stderr).toMatch(/no Azure credential worked|Sign in/);
    expect(result.code).toBe(1);
  }, 120_000);
});
