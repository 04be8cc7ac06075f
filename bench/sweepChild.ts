import { createAzureClients } from "../shared/azure/clients.js";
import { defaultPolicy } from "../shared/config/policy.js";
import { runSweep } from "../shared/engine/sweep.js";

/**
 * One sweep in a fresh process, so its peak RSS is the sweep's own (the emulator runs elsewhere).
 * Input: env UAMI_BENCH_TARGET = {"url","ca"}. Output: one JSON line on stdout.
 */
export interface SweepChildResult {
  wallMs: number;
  /** Epoch ms (high resolution) when runSweep was called and when it returned. */
  startedAt: number;
  finishedAt: number;
  /** Peak resident set of this process (bytes), from process.resourceUsage().maxRSS. */
  maxRssBytes: number;
  /** RSS just before the sweep started (modules loaded, clients built). */
  rssBeforeBytes: number;
  heapUsedAfterBytes: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  roleAssignments: number;
  identities: number;
  findings: number;
  findingsByRule: Record<string, number>;
  incomplete: Array<{ check: string; reason: string; affected: number }>;
}

async function main(): Promise<void> {
  const raw = process.env["UAMI_BENCH_TARGET"];
  if (!raw) throw new Error("UAMI_BENCH_TARGET is not set");
  const target = JSON.parse(raw) as { url: string; ca: string };
  const clients = createAzureClients({ kind: "emulator", url: target.url, ca: target.ca });
  const policy = defaultPolicy();
  // UAMI_BENCH_EXPOSURE=off: the same sweep without privileged-identity-exposed (issue 16's comparison).
  if (process.env["UAMI_BENCH_EXPOSURE"] === "off") policy.rules["privileged-identity-exposed"] = { enabled: false };
  const rssBeforeBytes = process.memoryUsage().rss;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const report = await runSweep(clients, policy);
  const finished = performance.now();
  const wallMs = finished - started;
  const cpu = process.cpuUsage(cpuBefore);
  const findingsByRule: Record<string, number> = {};
  for (const finding of report.findings) findingsByRule[finding.ruleId] = (findingsByRule[finding.ruleId] ?? 0) + 1;
  const result: SweepChildResult = {
    wallMs,
    startedAt: performance.timeOrigin + started,
    finishedAt: performance.timeOrigin + finished,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    rssBeforeBytes,
    heapUsedAfterBytes: process.memoryUsage().heapUsed,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    roleAssignments: report.summary.roleAssignments,
    identities: report.summary.identities,
    findings: report.summary.findings,
    findingsByRule,
    incomplete: report.incomplete,
  };
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
