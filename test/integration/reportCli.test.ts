import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { HttpRequest, InvocationContext } from "@azure/functions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reportHandler } from "../../functions/report.js";
import { collectReport } from "../../shared/engine/report.js";
import type { FindingRecord } from "../../shared/engine/findingLifecycle.js";
import type { FindingStateStore } from "../../shared/engine/findingLifecycle.js";
import { defaultPolicy } from "../../shared/config/policy.js";
import { readAppSettings } from "../../shared/config/settings.js";
import { modelFromHtml, REPORT_CSP } from "../../shared/report/html.js";
import type { ReportModel } from "../../shared/report/model.js";
import { loadFixture, startTarget, type TestTarget } from "../helpers/estate.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BIN = join(ROOT, "bin", "uami-guard.js");
const DEMO_ESTATE = join(ROOT, "local", "demo", "estate.json");

function cli(...args: string[]) {
  // The demo's model is over a megabyte (every holder's rights and the grade reasons): more than spawnSync's default buffer.
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, env: { ...process.env, UAMI_GUARD_POLICY: "" } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** What differs between two runs of the same estate: when, and the run's id. */
function stable(model: ReportModel): Omit<ReportModel, "generatedAt" | "runId"> {
  const { generatedAt: _generatedAt, runId: _runId, ...rest } = model;
  return rest;
}

describe("uami-guard report", () => {
  const directory = mkdtempSync(join(tmpdir(), "uami-report-cli-"));

  it("writes one HTML page for the demo estate, and --output json gives the model the page embeds", () => {
    const out = join(directory, "report.html");
    const written = cli("report", "--estate", DEMO_ESTATE, "--out", out);
    expect(written.code, written.stderr).toBe(0);
    expect(written.stdout).toBe("");
    expect(written.stderr).toMatch(/report: .*report\.html \(52 identities, \d+ findings, [\d.]+ MB\)/);
    const html = readFileSync(out, "utf8");
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    const json = cli("report", "--estate", DEMO_ESTATE, "--output", "json");
    expect(json.code, json.stderr).toBe(0);
    const model = JSON.parse(json.stdout) as ReportModel;
    expect(stable(modelFromHtml(html))).toEqual(stable(model));
    expect(model.summary.identities).toBe(52);
    // Every identity of the estate is in the model with its attachments and roles, graded when privileged.
    expect(model.identities.every((identity) => identity.grade !== undefined && Array.isArray(identity.exposure))).toBe(true);
  });

  it.each([
    [["--out", "/nonexistent-folder/report.html"], /--out \/nonexistent-folder\/report\.html: folder \/nonexistent-folder does not exist/],
    [["--out", tmpdir()], /is a directory; name a file/],
    [["--output", "pdf"], /argument 'pdf' is invalid/],
  ])("exits 2 with one line before any work for bad output options %#", (args, message) => {
    const started = Date.now();
    const { code, stderr } = cli("report", "--estate", DEMO_ESTATE, ...args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("refuses an estate above --max-identities with one line and exit 1, before the role assignments are read", () => {
    const { code, stdout, stderr } = cli("report", "--estate", DEMO_ESTATE, "--max-identities", "10", "--output", "json");
    expect(code).toBe(1);
    expect(stdout).toBe("");
    // One line says it (a slow machine may add a step's progress line before it).
    const said = stderr.trim().split("\n").filter((line) => line.startsWith("uami-guard:"));
    expect(said, stderr).toHaveLength(1);
    expect(said[0]).toMatch(/report: 52 identities in scope, above the limit of 10 .*--subscription/);
  });

  it("exits 2 before any work for a --max-identities that is not a positive whole number", () => {
    const { code, stderr } = cli("report", "--estate", DEMO_ESTATE, "--max-identities", "0");
    expect(code).toBe(2);
    expect(stderr).toMatch(/--max-identities 0: /);
  });

  it("draws open findings over time from --state: the recorded sweep, then this run", () => {
    const state = join(directory, "state");
    const sweep = cli("sweep", "--estate", DEMO_ESTATE, "--state", state, "--output", "json");
    expect(sweep.code, sweep.stderr).toBe(0);
    const swept = JSON.parse(sweep.stdout) as { findings: unknown[] };
    const first = cli("report", "--estate", DEMO_ESTATE, "--state", state, "--output", "json");
    expect(first.code, first.stderr).toBe(0);
    const history = (JSON.parse(first.stdout) as ReportModel).history;
    expect(history).toHaveLength(2);
    expect(history?.[0]?.open).toBe(swept.findings.length);
  }, 120_000);
});

describe("GET /api/report", () => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await startTarget(loadFixture("small-estate.json"));
  });
  afterAll(() => target.stop());

  it("reads the finding state and never writes it; the history ends at this run", async () => {
    const seen = "2026-11-01T00:00:00.000Z";
    const records = new Map<string, FindingRecord>([
      ["gone", { fingerprint: "gone", ruleId: "untagged-identity", subjectId: "/x", severity: "medium", title: "t", status: "open", firstSeen: seen, lastSeen: seen, timesSeen: 1, consecutive: 1, snapshot: "{}" }],
    ]);
    const saved: unknown[] = [];
    const store: FindingStateStore = {
      load: async () => records,
      loadSome: async () => new Map(),
      save: async (_scope, changed) => {
        saved.push(...changed);
      },
    };
    const now = new Date("2026-11-20T12:00:00Z");
    const model = await collectReport(target.clients, defaultPolicy(), { now, findingState: () => store });
    expect(saved).toEqual([]);
    // The recorded sweep had 1 open finding; this run resolves it and opens its own.
    expect(model.history).toEqual([
      { at: seen, open: 1 },
      { at: now.toISOString(), open: model.summary.findings, current: true },
    ]);
  });

  it("serves the page with its CSP; unreadable finding state leaves out the history and says so", async () => {
    const handler = reportHandler(async () => ({ settings: readAppSettings({}), policy: defaultPolicy(), clients: target.clients }));
    const context = new InvocationContext({ functionName: "report", invocationId: "test", logHandler: () => undefined });
    const response = await handler(new HttpRequest({ method: "GET", url: "http://localhost/api/report" }), context);
    expect(response.status).toBe(200);
    expect(response.headers).toMatchObject({ "content-type": "text/html; charset=utf-8", "content-security-policy": REPORT_CSP });
    const model = modelFromHtml(String(response.body));
    expect(model.identities.map((identity) => identity.name)).toEqual(["id-app-prod-uks-01", "id-orphan-holder"]);
    expect(model.history).toBeNull();
    expect(model.incomplete.map((entry) => entry.check)).toContain("finding-history");

    const json = await handler(new HttpRequest({ method: "GET", url: "http://localhost/api/report?output=json" }), context);
    expect((json as { headers: Record<string, string> }).headers["content-type"]).toBe("application/json");
    expect(stable(JSON.parse(await (json as { body: Blob }).body.text()) as ReportModel)).toEqual(stable(model));
  });

  it("answers 422 naming the count, the limit and ?subscription= for an estate above UAMI_GUARD_REPORT_MAX_IDENTITIES, and stops the sweep at the estate read", async () => {
    const handler = reportHandler(async () => ({ settings: readAppSettings({ UAMI_GUARD_REPORT_MAX_IDENTITIES: "1" }), policy: defaultPolicy(), clients: target.clients }));
    const logged: string[] = [];
    const context = new InvocationContext({ functionName: "report", invocationId: "test", logHandler: (_level, ...args) => void logged.push(args.join(" ")) });
    const resourceGraph = () => target.emulator.requests.filter((request) => request.service === "resourceGraph").length;
    target.emulator.requests.length = 0;
    await collectReport(target.clients, defaultPolicy());
    const whole = resourceGraph();
    target.emulator.requests.length = 0;
    const response = await handler(new HttpRequest({ method: "GET", url: "http://localhost/api/report" }), context);
    expect(response.status).toBe(422);
    const body = (response as { jsonBody: unknown }).jsonBody as { error: { code: string; message: string; identities: number; limit: number } };
    expect(body.error).toMatchObject({ code: "ReportTooLarge", identities: 2, limit: 1 });
    expect(body.error.message).toMatch(/2 identities in scope, above the limit of 1 .*\?subscription=/);
    // No role-assignment page was read: their principals are resolved in Graph as they stream, and none was asked.
    const requested = target.emulator.requests.length;
    expect(resourceGraph()).toBeLessThan(whole);
    expect(target.emulator.requests.filter((request) => request.path.toLowerCase().includes("getbyids"))).toEqual([]);
    // Nothing starts after the refusal: at most the credential listings already in flight (one per identity) answer late.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const late = target.emulator.requests.slice(requested);
    expect(late.filter((request) => !request.path.toLowerCase().endsWith("/federatedidentitycredentials"))).toEqual([]);
    expect(late.length).toBeLessThanOrEqual(2);
    expect(logged.join("\n")).toContain("2 identities in scope");
  });

  it("answers 422 for ?output=json whose JSON would be more than the worker answers from memory, naming the page and ?subscription=", async () => {
    const handler = reportHandler(async () => ({ settings: readAppSettings({}), policy: defaultPolicy(), clients: target.clients }), { jsonMaxBytes: 1000 });
    const context = new InvocationContext({ functionName: "report", invocationId: "test", logHandler: () => undefined });
    const response = await handler(new HttpRequest({ method: "GET", url: "http://localhost/api/report?output=json" }), context);
    expect(response.status).toBe(422);
    const body = (response as { jsonBody: unknown }).jsonBody as { error: { code: string; message: string; identities: number; limitBytes: number } };
    expect(body.error).toMatchObject({ code: "ReportTooLarge", identities: 2, limitBytes: 1000 });
    expect(body.error.message).toMatch(/JSON of 2 identities is more than 0 MB.*without \?output=json.*\?subscription=/);
    const page = await handler(new HttpRequest({ method: "GET", url: "http://localhost/api/report" }), context);
    expect(page.status).toBe(200);
  });
});
