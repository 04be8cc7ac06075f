import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compactId, displayId, tableLayout } from "../../cli/format.js";
import { renderReport } from "../../cli/sweepOutput.js";
import type { RunReport } from "../../shared/findings.js";

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const BIN = fileURLToPath(new URL("../../bin/uami-guard.js", import.meta.url));
const DEMO = fileURLToPath(new URL("../../local/demo/estate.json", import.meta.url));

/** A pipeline as a user types it; pipefail so the exit code is uami-guard's, not the last command's. */
function pipeline(script: string, env: Record<string, string> = {}) {
  const result = spawnSync("bash", ["-o", "pipefail", "-c", script], { encoding: "utf8", timeout: 90_000, env: { ...process.env, UAMI_GUARD_POLICY: "", G: BIN, E: DEMO, ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("output that fits a pipe", () => {
  it.each([
    ["inventory -o json", `node "$G" inventory --estate "$E" -o json | head -n 3`],
    ["sweep -o json", `node "$G" sweep --estate "$E" -o json | head -c 100`],
  ])("%s | head ends quietly with exit 0 when head stops reading (EPIPE)", (_name, script) => {
    const result = pipeline(script);
    expect(result.stderr).not.toMatch(/EPIPE|Error|node:/);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.length).toBeGreaterThan(0);
  });

  it("a table follows COLUMNS, cuts cells at their end and keeps identity names; --wide shows whole ids", () => {
    const json = pipeline(`node "$G" sweep --estate "$E" -o json`);
    const report = JSON.parse(json.stdout) as RunReport;
    const rows = (text: string): string[] => text.split("\n").filter((line) => /^(critical|high|medium|low) /.test(line));
    // The layout as the CLI computes it from COLUMNS, over the very report the CLI printed.
    for (const columns of [200, 100, 80]) {
      const table = renderReport(report, "table", tableLayout(false, { isTTY: false }, { COLUMNS: String(columns) }));
      expect(rows(table)).toHaveLength(report.findings.length);
      expect(Math.max(...rows(table).map((line) => line.length)), `COLUMNS=${columns}`).toBeLessThanOrEqual(columns);
      // A cell is only ever cut at its end.
      for (const row of rows(table).filter((line) => line.includes("…"))) expect(row).toMatch(/…(\s|$)/);
      if (columns === 200) {
        // Wide enough for every identity by name: rg/type/name, or rg/name where that does not fit.
        for (const finding of report.findings.filter((entry) => /userAssignedIdentities\/[^/]+$/.test(entry.subjectId))) {
          expect(table).toMatch(new RegExp(`(${escape(displayId(finding.subjectId))}|${escape(compactId(finding.subjectId))})\\s`));
        }
      }
    }
    // The CLI reads COLUMNS in a pipe, and --wide lifts the limit.
    const piped = pipeline(`node "$G" sweep --estate "$E" | cat`, { COLUMNS: "100" });
    expect(piped.code, piped.stderr).toBe(0);
    expect(rows(piped.stdout)).toHaveLength(report.findings.length);
    expect(Math.max(...rows(piped.stdout).map((line) => line.length))).toBeLessThanOrEqual(100);
    const wide = pipeline(`node "$G" sweep --estate "$E" --wide | cat`);
    for (const finding of report.findings) {
      expect(wide.stdout).toContain(finding.subjectId);
      expect(wide.stdout).toContain(finding.title);
    }
  }, 180_000);
});
