import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { writeHeapSnapshot } from "node:v8";
import { createAzureClients } from "../shared/azure/clients.js";
import { defaultPolicy } from "../shared/config/policy.js";
import { runSweep } from "../shared/engine/sweep.js";
import type { RunReport } from "../shared/findings.js";
import { measuring, type ChildMeasure } from "./childMeasure.js";

/**
 * One sweep in a fresh process, so its peak RSS is the sweep's own (the emulator runs elsewhere).
 * Input: env UAMI_BENCH_TARGET = {"url","ca"}. Output: one JSON line on stdout.
 */
export interface SweepChildResult extends ChildMeasure {
  roleAssignments: number;
  identities: number;
  findings: number;
  findingsByRule: Record<string, number>;
  incomplete: Array<{ check: string; reason: string; affected: number }>;
  /** With UAMI_BENCH_PHASES=1 (and --expose-gc): heap and RSS after a full GC at each phase's end. */
  phases?: PhaseMemory[];
}

export interface PhaseMemory {
  phase: string;
  heapUsedBytes: number;
  heapTotalBytes: number;
  rssBytes: number;
  externalBytes: number;
}

/**
 * Memory probes, off unless asked (each GC and snapshot changes what is measured):
 * UAMI_BENCH_PHASES=1 with --expose-gc records heapUsed after a full GC where the sweep's phases end;
 * UAMI_BENCH_SNAPSHOT=DIR writes a .heapsnapshot there as the sweep returns (the report still live), or with
 * UAMI_BENCH_PHASES=1 at each phase's end;
 * UAMI_BENCH_REPORT=FILE writes the report's JSON, without what differs between runs (run id and times).
 */
function probes(): { phases?: PhaseMemory[]; mark: (phase: string) => void } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (process.env["UAMI_BENCH_PHASES"] !== "1") return { mark: () => undefined };
  if (!gc) throw new Error("UAMI_BENCH_PHASES=1 needs --expose-gc");
  const phases: PhaseMemory[] = [];
  return {
    phases,
    mark(phase) {
      gc();
      const memory = process.memoryUsage();
      phases.push({ phase, heapUsedBytes: memory.heapUsed, heapTotalBytes: memory.heapTotal, rssBytes: memory.rss, externalBytes: memory.external });
      const snapshotDir = process.env["UAMI_BENCH_SNAPSHOT"];
      if (snapshotDir) writeHeapSnapshot(join(snapshotDir, `sweep-${phases.length}-${phase.replace(/\W+/g, "-")}.heapsnapshot`));
    },
  };
}

async function writeReport(file: string, report: RunReport): Promise<void> {
  const stable = { ...report, runId: "", startedAt: "", finishedAt: "" };
  const out = createWriteStream(file);
  const failed = new Promise<never>((_, reject) => out.once("error", reject));
  failed.catch(() => undefined);
  // Key by key and finding by finding, waiting for the file to take each before the next, so a large report never
  // becomes one string nor a queue of them (the child runs under the shipped heap cap).
  const put = async (text: string): Promise<void> => {
    if (!out.write(text)) await Promise.race([once(out, "drain"), failed]);
  };
  await put("{");
  let position = 0;
  for (const [key, value] of Object.entries(stable)) {
    await put(`${position > 0 ? "," : ""}${JSON.stringify(key)}:`);
    position += 1;
    if (!Array.isArray(value)) {
      await put(JSON.stringify(value));
      continue;
    }
    await put("[");
    for (const [at, item] of (value as unknown[]).entries()) await put(`${at > 0 ? "," : ""}${JSON.stringify(item)}`);
    await put("]");
  }
  await Promise.race([new Promise<void>((resolve) => out.end("}\n", resolve)), failed]);
}

async function main(): Promise<void> {
  const raw = process.env["UAMI_BENCH_TARGET"];
  if (!raw) throw new Error("UAMI_BENCH_TARGET is not set");
  const target = JSON.parse(raw) as { url: string; ca: string };
  const clients = createAzureClients({ kind: "emulator", url: target.url, ca: target.ca });
  const policy = defaultPolicy();
  // UAMI_BENCH_EXPOSURE=off: the same sweep without privileged-identity-exposed (issue 16's comparison).
  if (process.env["UAMI_BENCH_EXPOSURE"] === "off") policy.rules["privileged-identity-exposed"] = { enabled: false };
  const clock = measuring();
  const probe = probes();
  probe.mark("before");
  const report = await runSweep(clients, policy, probe.phases === undefined ? {} : {
    tap: {
      estate: () => probe.mark("estate read"),
      roleAssignment: () => undefined,
      federatedCredentials: () => probe.mark("assignments streamed, privilege complete"),
    },
    onIndex: () => probe.mark("rules evaluated"),
  });
  clock.stop();
  probe.mark("report returned");
  const snapshotDir = process.env["UAMI_BENCH_SNAPSHOT"];
  if (snapshotDir && !probe.phases) writeHeapSnapshot(join(snapshotDir, `sweep-${Date.now()}.heapsnapshot`));
  const findingsByRule: Record<string, number> = {};
  for (const finding of report.findings) findingsByRule[finding.ruleId] = (findingsByRule[finding.ruleId] ?? 0) + 1;
  const result: SweepChildResult = {
    ...clock.result(),
    roleAssignments: report.summary.roleAssignments,
    identities: report.summary.identities,
    findings: report.summary.findings,
    findingsByRule,
    incomplete: report.incomplete,
    ...(probe.phases ? { phases: probe.phases } : {}),
  };
  const reportFile = process.env["UAMI_BENCH_REPORT"];
  if (reportFile) await writeReport(reportFile, report);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().then(
  // Keep-alive sockets would hold the process open: the result is out, leave.
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`sweep child: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
