import { describe, expect, it } from "vitest";
import { PassThrough } from "node:stream";
import { renderTable } from "../../cli/format.js";
import { Log, terminalSafe } from "../../cli/log.js";
import { render } from "../../cli/output.js";
import { renderReport } from "../../cli/sweepOutput.js";
import type { RunReport } from "../../shared/findings.js";

// Resource names and tags are chosen by whoever created the resource: printed raw, an escape sequence in
// one would move the cursor, rewrite earlier lines or retitle the operator's terminal (CSI/OSC, ECMA-48),
// and bidirectional overrides reorder what is shown ("Trojan Source", CVE-2021-42574).
const HOSTILE = "vm\u001b[2J\u001b]0;pwned\u0007-\u009b31m\u202eexe.txt\u2066x\u0000";

describe("text for a terminal", () => {
  it("shows control characters and bidirectional overrides as escapes, keeps the rest", () => {
    expect(terminalSafe(HOSTILE)).toBe("vm\\x1b[2J\\x1b]0;pwned\\x07-\\x9b31m\\u202eexe.txt\\u2066x\\x00");
    expect(terminalSafe("id-payments-prod é ü 名前")).toBe("id-payments-prod é ü 名前");
  });

  it("table cells and detail lines carry no escape character", () => {
    const out = renderTable([{ name: HOSTILE }], [{ header: "Name", width: 80, value: (row: { name: string }) => row.name }], (row) => row.name, true);
    expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  });

  it("log lines carry no escape character but their own colour", () => {
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    let written = "";
    (stream as unknown as PassThrough).on("data", (chunk: Buffer) => (written += chunk.toString()));
    new Log("normal", stream).note(`read ${HOSTILE}`);
    expect(written).toBe(`read ${terminalSafe(HOSTILE)}\n`);
  });

  it("az-style tables and tsv carry no escape character", () => {
    const output = { document: [{ name: HOSTILE }], rows: () => [{ name: HOSTILE }], table: () => "" };
    for (const out of [render(output, "tsv"), render(output, "table", "[]"), render(output, "tsv", "[].name")]) {
      expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    }
  });

  it("markdown and table reports of a finding about a hostile name carry no escape character", () => {
    const finding = {
      ruleId: "untagged-identity", severity: "low", subjectId: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${HOSTILE}`,
      fingerprint: "f", title: `Identity ${HOSTILE} has no tags`, message: HOSTILE, evidence: { name: HOSTILE }, remediation: { summary: HOSTILE, cli: [`az tag update ${HOSTILE}`] },
      firstSeen: "2026-12-01T00:00:00Z", lastSeen: "2026-12-01T00:00:00Z", status: "open", category: "hygiene",
    };
    const report = { runId: "r", mode: "sweep", startedAt: "2026-12-01T00:00:00Z", finishedAt: "2026-12-01T00:00:01Z", summary: { findings: 1, bySeverity: { low: 1 }, identities: 1, roleAssignments: 0, suppressed: 0 }, findings: [finding], incomplete: [], actions: [] } as unknown as RunReport;
    for (const format of ["markdown", "table"] as const) expect(renderReport(report, format, { width: 200, wide: false })).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  });
});
