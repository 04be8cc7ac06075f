import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { SEVERITIES } from "../../shared/config/policy.js";
import type { RunReport } from "../../shared/findings.js";
import type { ReportModel } from "../../shared/report/model.js";
import { historyCaption } from "../../shared/report/svg.js";
import { runCli } from "../helpers/cli.js";
import { ROOT } from "../helpers/sources.js";

const DEMO_ESTATE = join(ROOT, "local", "demo", "estate.json");
const DEMO_POLICY = join(ROOT, "local", "demo", "policy.json");

const cli = (args: string[], cwd = ROOT) => runCli(args, { cwd, timeoutMs: 120_000 });

const countBy = <T>(items: T[], key: (item: T) => string): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
};

/**
 * One set of numbers: what `npm start` prints, the README's commands, the report's tiles and charts,
 * the Teams digest and the stderr summaries all count what the sweep JSON counts, on the demo estate.
 */
describe("one set of numbers on the demo estate", () => {
  const cwd = mkdtempSync(join(tmpdir(), "uami-guard-numbers-"));
  let sweep: RunReport;
  let sweepStderr: string;

  beforeAll(() => {
    const result = cli(["sweep", "--estate", DEMO_ESTATE, "--policy", DEMO_POLICY, "--notify", "--capture", join(cwd, "capture"), "--state", join(cwd, "state"), "-o", "json"], cwd);
    expect(result.code, result.stderr).toBe(0);
    sweep = JSON.parse(result.stdout) as RunReport;
    sweepStderr = result.stderr;
  }, 180_000);

  const summaryLine = (report: RunReport): string =>
    `${report.summary.findings} findings (${SEVERITIES.map((severity) => `${report.summary.bySeverity[severity]} ${severity}`).join(", ")}) across ${report.summary.identities} identities and ${report.summary.roleAssignments.toLocaleString("en-US")} role assignments`;

  it("npm start (uami-guard demo) shows the sweep that README's command with the demo policy gives, and says so", () => {
    const demo = cli(["demo"]);
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout).toContain(summaryLine(sweep));
    expect(demo.stdout).toContain("npx uami-guard sweep --estate local/demo/estate.json --policy local/demo/policy.json");
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    expect(readme).toContain("--policy local/demo/policy.json");
  }, 120_000);

  it("stderr's read summary counts what the JSON counts", () => {
    expect(sweepStderr).toContain(`identities ${sweep.summary.identities},`);
    expect(sweepStderr).toContain(`roleAssignments ${sweep.summary.roleAssignments.toLocaleString("en-US")}`);
  });

  it("the report model (tiles, charts) counts what the sweep JSON counts; its stderr does too", () => {
    const report = cli(["report", "--estate", DEMO_ESTATE, "--policy", DEMO_POLICY, "--state", join(cwd, "state"), "--output", "json"], cwd);
    expect(report.code, report.stderr).toBe(0);
    const model = JSON.parse(report.stdout) as ReportModel;
    expect(model.summary.identities).toBe(sweep.summary.identities);
    expect(model.summary.roleAssignments).toBe(sweep.summary.roleAssignments);
    expect(model.summary.findings).toBe(sweep.summary.findings);
    expect(model.summary.suppressed).toBe(sweep.summary.suppressed);
    expect(model.summary.bySeverity).toEqual(sweep.summary.bySeverity);
    expect(Object.fromEntries(model.summary.byRule.map((entry) => [entry.ruleId, entry.count]))).toEqual(countBy(sweep.findings, (finding) => finding.ruleId));
    expect(model.findings.map((finding) => finding.fingerprint).sort()).toEqual(sweep.findings.map((finding) => finding.fingerprint).sort());
    // The identities' own role assignments are a tile of their own, not "role assignments".
    expect(model.summary.identityRoleAssignments).toBe(model.identities.reduce((sum, identity) => sum + identity.roleAssignments.length, 0));
    expect(model.summary.identityRoleAssignments).toBeLessThan(model.summary.roleAssignments);
    // One recorded sweep, then this report's own.
    expect(model.history?.map((point) => Boolean(point.current))).toEqual([false, true]);
    expect(historyCaption(model.history ?? [])).toBe("Open findings over time: 1 time recorded in the finding state, then this report's sweep");
    expect(model.history?.[0]?.open).toBe(sweep.summary.findings);
    // The inventory and the sweep read side by side; progress counts the reads once.
    expect(report.stderr).toContain(`identities ${sweep.summary.identities},`);
    expect(report.stderr).toContain(`roleAssignments ${sweep.summary.roleAssignments.toLocaleString("en-US")}`);
  }, 120_000);

  it("the Teams digest's headline counts what was sent; its facts count every finding as the JSON does", () => {
    const cards = JSON.parse(readFileSync(join(cwd, "capture", "teams.json"), "utf8")) as Array<{ attachments: Array<{ content: { body: Array<Record<string, unknown>> } }> }>;
    expect(cards).toHaveLength(1);
    const body = cards[0]?.attachments[0]?.content.body ?? [];
    const sentinel = JSON.parse(readFileSync(join(cwd, "capture", "sentinel.json"), "utf8")) as unknown[][];
    const sent = sentinel.flat().length;
    const atOrAboveMedium = sweep.findings.filter((finding) => finding.severity !== "low").length;
    expect(sent).toBe(atOrAboveMedium);
    expect(body[0]?.["text"]).toBe(`uami-guard sweep: ${atOrAboveMedium} new findings, 0 resolved findings (medium and above)`);
    expect(body[1]?.["text"]).toBe(`All ${sweep.summary.findings} findings of this sweep, new or not:`);
    const facts = (body[2]?.["facts"] as Array<{ title: string; value: string }>).map((fact) => [fact.title.split(" ").pop(), Number(fact.value)]);
    expect(Object.fromEntries(facts)).toEqual(sweep.summary.bySeverity);
  });
});
