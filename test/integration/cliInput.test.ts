import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { AzureNamedKeyCredential, generateAccountSas } from "@azure/data-tables";
import { startAzurite, type RunningAzurite } from "../../local/azurite.js";
import { fixturePath } from "../helpers/estate.js";

const BIN = fileURLToPath(new URL("../../bin/uami-guard.js", import.meta.url));
const SMALL = fixturePath("small-estate.json");

function cli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    cwd: options.cwd,
    timeout: 60_000,
    env: { ...process.env, UAMI_GUARD_POLICY: "", ...options.env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, signal: result.signal };
}

const scratch = (): string => mkdtempSync(join(tmpdir(), "uami-guard-input-"));

function expectInputError(result: ReturnType<typeof cli>, message: RegExp): void {
  expect(result.stderr).toMatch(message);
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr.trim().split("\n")).toHaveLength(1);
  expect(result.stdout).toBe("");
}

describe("--state", () => {
  it("a relative directory keeps state: the second sweep sends nothing, restore finds the journal", () => {
    const cwd = scratch();
    const first = cli(["sweep", "--estate", SMALL, "--notify", "--state", ".uami-guard", "--capture", "first"], { cwd });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/state: [1-9]\d* new/);
    const second = cli(["sweep", "--estate", SMALL, "--notify", "--state", ".uami-guard", "--capture", "second"], { cwd });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/state: 0 new, 0 resolved/);
    const sent = readdirSync(join(cwd, "second")).flatMap((file) => JSON.parse(readFileSync(join(cwd, "second", file), "utf8")) as unknown[]);
    expect(sent).toEqual([]);
    // Azurite persisted in the directory given, relative to where the command ran.
    expect(readdirSync(join(cwd, ".uami-guard")).length).toBeGreaterThan(0);

    // A state of its own: the orphan is then seen once (deferred) and the untagged identity tagged.
    const enforce = cli(["sweep", "--estate", SMALL, "--state", "state-enforce", "--enforce", "--save-estate", "after.json", "-o", "json"], { cwd });
    expect(enforce.code, enforce.stderr).toBe(0);
    const report = JSON.parse(enforce.stdout) as { runId: string; actions: Array<{ status: string }> };
    expect(report.actions.map((action) => action.status)).toContain("done");
    const restore = cli(["restore", "--estate", join(cwd, "after.json"), "--state", "state-enforce", "--run", report.runId, "--output", "json"], { cwd });
    expect(restore.code, restore.stderr).toBe(0);
    const restored = JSON.parse(restore.stdout) as { results: Array<{ status: string }> };
    expect(restored.results.length).toBeGreaterThan(0);
    expect(restored.results.map((result) => result.status)).toEqual(restored.results.map(() => "restored"));
    // Without --run, restore names the runs the journal table holds instead of guessing.
    const which = cli(["restore", "--estate", SMALL, "--state", "state-enforce"], { cwd });
    expect(which.code).toBe(2);
    expect(which.stderr).toMatch(new RegExp(`restore --state: give --run RUNID; .*runs: .*${report.runId} \\(\\d+ entr`));
  }, 120_000);

  it("a file is neither a directory nor a connection string: exit 2 naming it", () => {
    const dir = scratch();
    const file = join(dir, "state.txt");
    writeFileSync(file, "x");
    expectInputError(cli(["sweep", "--estate", SMALL, "--state", file]), new RegExp(`--state ${file}: .*not a directory`));
  });

  it("a connection string without a key or signature is refused: exit 2", () => {
    expectInputError(
      cli(["sweep", "--estate", SMALL, "--state", "DefaultEndpointsProtocol=https;AccountName=acct;EndpointSuffix=core.windows.net"]),
      /--state: connection string .*AccountKey.*SharedAccessSignature/,
    );
  });

  describe("connection strings", () => {
    let azurite: RunningAzurite | undefined;
    afterEach(async () => {
      await azurite?.stop();
      azurite = undefined;
    });

    it.each(["account key", "SAS"])("a %s connection string keeps state between runs", async (kind) => {
      azurite = await startAzurite();
      let connection = azurite.connectionString;
      if (kind === "SAS") {
        // An account SAS as the portal or `az storage account generate-sas` gives it (Learn: "Configure Azure
        // Storage connection strings", https://learn.microsoft.com/azure/storage/common/storage-configure-connection-string#create-a-connection-string-using-a-shared-access-signature).
        const key = /AccountKey=([^;]+)/.exec(azurite.connectionString)?.[1] ?? "";
        const sas = generateAccountSas(new AzureNamedKeyCredential("devstoreaccount1", key), {
          expiresOn: new Date(Date.now() + 3_600_000),
          permissions: { query: true, write: true, delete: true, list: true, add: true, update: true },
          resourceTypes: "sco",
        });
        connection = `TableEndpoint=${azurite.tableEndpoint};SharedAccessSignature=${sas.replace(/^\?/, "")}`;
      }
      const cwd = scratch();
      const first = cli(["sweep", "--estate", SMALL, "--notify", "--state", connection], { cwd });
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).toMatch(/state: [1-9]\d* new/);
      const second = cli(["sweep", "--estate", SMALL, "--notify", "--state", connection], { cwd });
      expect(second.stderr).toMatch(/state: 0 new/);
      // Nothing was taken as a directory.
      expect(readdirSync(cwd)).toEqual([]);
    }, 60_000);
  });
});

describe("--subscription", () => {
  it("takes a display name as well as an id", () => {
    const byName = cli(["inventory", "--estate", SMALL, "--subscription", "prod", "-o", "json"]);
    expect(byName.code, byName.stderr).toBe(0);
    expect((JSON.parse(byName.stdout) as { identities: unknown[] }).identities).toHaveLength(2);
    const byId = cli(["inventory", "--estate", SMALL, "--subscription", "11111111-1111-1111-1111-111111111111", "-o", "json"]);
    expect(byId.code, byId.stderr).toBe(0);
  });

  it("an unknown subscription exits 2 listing close matches, before a CI gate could pass", () => {
    expectInputError(cli(["sweep", "--estate", SMALL, "--subscription", "prd", "--fail-on", "low"]), /--subscription prd: not a subscription this credential can read.*did you mean.*prod \(11111111-1111-1111-1111-111111111111\)/);
    expectInputError(cli(["sweep", "--estate", SMALL, "--subscription", "typo"]), /--subscription typo: not a subscription/);
  });
});

describe("output paths are checked before any work", () => {
  it("--capture onto a file exits 2 before anything is sent", () => {
    const dir = scratch();
    const file = join(dir, "capture");
    writeFileSync(file, "");
    const result = cli(["sweep", "--estate", SMALL, "--notify", "--capture", file]);
    expectInputError(result, new RegExp(`--capture ${file}: .*not a directory`));
  });

  it("--capture /proc/x does not hang", () => {
    const result = cli(["sweep", "--estate", SMALL, "--capture", "/proc/uami-guard-x"]);
    expect(result.signal).toBeNull();
    expectInputError(result, /--capture \/proc\/uami-guard-x: /);
  });

  it("--save-estate where no file can be written exits 2", () => {
    const dir = scratch();
    writeFileSync(join(dir, "file"), "");
    expectInputError(cli(["sweep", "--estate", SMALL, "--save-estate", join(dir, "file", "after.json")]), /--save-estate .*after\.json: /);
  });

  it("--journal onto a directory exits 2", () => {
    const dir = scratch();
    expectInputError(cli(["sweep", "--estate", SMALL, "--enforce", "--journal", dir]), new RegExp(`--journal ${dir}: is a directory`));
  });

  it("a damaged finding state beside --journal exits 2 naming the file and the line, the journal left unlocked", () => {
    const journal = join(scratch(), "j.jsonl");
    const state = `${journal}.findings.json`;
    writeFileSync(state, '{"version":2}\n{"scope":"sweep-all","record":{"fingerprint":"x"}}\n{"records":1}\n');
    const refused = new RegExp(`^uami-guard: finding state ${state} line 2: not a finding record \\(ruleId is not text\\); remove it to start counting again`);
    expectInputError(cli(["sweep", "--estate", SMALL, "--journal", journal]), refused);
    expect(existsSync(`${journal}.lock`)).toBe(false);
    expectInputError(cli(["sweep", "--estate", SMALL, "--enforce", "--dry-run", "--journal", journal]), refused);
    // Cut short: refused when it is opened, before the sweep.
    writeFileSync(state, '{"version":2}\n');
    expectInputError(cli(["sweep", "--estate", SMALL, "--journal", journal]), new RegExp(`^uami-guard: finding state ${state} line 1: not the closing line`));
  });

  it("serve --port taken exits 2", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [BIN, "serve", "--estate", SMALL, "--port", String(port)], { stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.once("exit", (code) => resolve({ code, stderr }));
      });
      expect(result.stderr).toMatch(new RegExp(`--port ${port}: .*in use`));
      expect(result.code).toBe(2);
    } finally {
      server.close();
    }
  }, 30_000);
});

describe("signals", () => {
  it.each(["SIGTERM", "SIGINT"] as const)("%s stops Azurite and removes its temporary folder", async (signal) => {
    const dir = scratch();
    const temp = join(dir, "tmp");
    mkdirSync(temp);
    const slow = join(dir, "slow.json");
    writeFileSync(slow, JSON.stringify({ ...JSON.parse(readFileSync(SMALL, "utf8")), emulator: { latencyMs: 20_000 } }));
    const child = spawn(process.execPath, [BIN, "sweep", "--estate", slow, "--notify"], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, UAMI_GUARD_POLICY: "", TMPDIR: temp } });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    // Azurite is up once its scratch folder exists and a child process runs.
    let children: number[] = [];
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      children = spawnSync("ps", ["-o", "pid=", "--ppid", String(child.pid)], { encoding: "utf8" }).stdout.split("\n").map(Number).filter(Boolean);
      if (children.length > 0 && readdirSync(temp).length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(children.length).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    child.kill(signal);
    const code = await exited;
    expect(code).toBe(signal === "SIGINT" ? 130 : 143);
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const gone = Date.now() + 5_000;
    while (children.some(alive) && Date.now() < gone) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(children.filter(alive)).toEqual([]);
    expect(readdirSync(temp)).toEqual([]);
    expect(existsSync(temp)).toBe(true);
  }, 60_000);
});
