import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChildFailed, runChild, type EmulatorProcess, type RequestCounts } from "./processes.js";
import type { SweepJobChildResult } from "./sweepJobChild.js";

/**
 * The sweep job at scale: what the timer Function and `uami-guard sweep` run (the sweep, the finding lifecycle and the
 * run commit), twice, each in a fresh child under the shipped heap cap, over one state directory: `fresh` is a
 * tenant's first run (every finding new, every notice written to the outbox), `again` the next one (every finding
 * seen again, the previous state read first). A child that dies is a result, not the end of the bench.
 */

export type JobRunName = "fresh" | "again";

/** How a child of the job ended without its result. */
export interface JobDeath {
  /** failureReason's words ("ran out of heap (--max-old-space-size=1024)", "was killed by SIGKILL", …). */
  reason: string;
  /** From spawning the child to its end. */
  afterMs: number;
  code: number | null;
  signal: string | null;
  /** What it said last that says something: V8's FATAL ERROR line over the native stack that follows it. */
  lastStderrLine: string;
}

export interface JobRun {
  run: JobRunName;
  result?: SweepJobChildResult;
  /** The emulator's counts for the run (the sinks' requests among them). */
  requests?: RequestCounts;
  died?: JobDeath;
}

export interface JobResult {
  runs: JobRun[];
}

/** A native stack frame as V8 prints it under a fatal error (` 1: 0xb8ced1 node::OOMErrorHandler…`). */
const NATIVE_FRAME = /^\d+: 0x[0-9a-f]+\b/i;

/** The line of a dead child's stderr worth showing: the fatal error if V8 printed one, else the last that is not a native frame. */
export function lastStderrLine(stderr: string): string {
  const lines = stderr.split("\n").map((line) => line.trim()).filter((line) => line !== "" && !NATIVE_FRAME.test(line) && !/^-+ Native stack trace -+$/.test(line));
  return lines.find((line) => line.startsWith("FATAL ERROR:")) ?? lines[lines.length - 1] ?? "";
}

/** A child's failure as a result; anything but a ChildFailed (the bench's own error) is thrown on. */
export function jobDeath(error: unknown, afterMs: number): JobDeath {
  if (!(error instanceof ChildFailed)) throw error;
  return { reason: error.reason, afterMs, code: error.exit?.code ?? null, signal: error.exit?.signal ?? null, lastStderrLine: lastStderrLine(error.stderrTail) };
}

/** One cell: "died: heap exhausted (--max-old-space-size=1024) after 95.2 s". */
export function describeDeath(death: JobDeath): string {
  const reason = death.reason.replace(/^ran out of heap/, "heap exhausted");
  const exit = death.signal ? `, ${death.signal}` : death.code !== null ? `, exit code ${death.code}` : "";
  return `died: ${reason} after ${(death.afterMs / 1000).toFixed(1)} s${exit}`;
}

/** The two runs against `emulator` (reset before each), in a state directory of their own, removed after. */
export async function runSweepJobPair(
  size: number,
  emulator: EmulatorProcess,
  nodeFlags: (label: string) => string[],
  log: (message: string) => void,
): Promise<JobResult> {
  const stateDir = mkdtempSync(join(tmpdir(), `uami-bench-job-${size}-`));
  const runs: JobRun[] = [];
  try {
    for (const run of ["fresh", "again"] as const) {
      await emulator.reset();
      const started = performance.now();
      try {
        const result = await runChild<SweepJobChildResult>("sweepJobChild", [], {
          env: { UAMI_BENCH_TARGET: JSON.stringify({ url: emulator.ready.url, ca: emulator.ready.ca }), UAMI_BENCH_STATE: stateDir },
          nodeFlags: nodeFlags(`job-${run}`),
          timeoutMs: 20 * 60_000,
        });
        const requests = await emulator.stats();
        runs.push({ run, result, requests });
        const { lifecycle } = result;
        log(
          `size ${size}: sweep job (${run}) ${(result.wallMs / 1000).toFixed(2)} s (CPU ${((result.cpuUserMs + result.cpuSystemMs) / 1000).toFixed(2)} s), peak RSS ${(result.maxRssBytes / 2 ** 20).toFixed(0)} MB, ` +
            `${result.findings} findings, read ${result.recordsRead} records, opened ${lifecycle.opened} / resolved ${lifecycle.resolved} / changed ${lifecycle.changed}, ` +
            `wrote ${result.recordsWritten} records (${result.snapshotsWritten} with their snapshot, ${(result.stateBytesWritten / 2 ** 20).toFixed(1)} MB) and ${result.outboxWritten} outbox entries (Table writes: state ${result.tableWrites.findings}, outbox ${result.tableWrites.outbox}, others ${result.tableWrites.others}), sent ${JSON.stringify(result.notifications)}, state ${(result.stateBytes / 2 ** 20).toFixed(0)} MB`,
        );
      } catch (error) {
        const died = jobDeath(error, performance.now() - started);
        runs.push({ run, died });
        log(`size ${size}: sweep job (${run}) ${describeDeath(died)}: ${died.lastStderrLine}`);
      }
    }
    return { runs };
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}
