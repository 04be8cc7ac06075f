import type { EventBenchResult } from "./events.js";
import type { FicBenchResult } from "./federatedCredentials.js";
import type { JobResult } from "./job.js";
import type { Pacing } from "./pacing.js";
import type { StartupBenchResult } from "./startup.js";
import type { ExpectedRows, RequestCounts } from "./processes.js";
import type { RuleChildResult } from "./ruleChild.js";
import type { SweepChildResult } from "./sweepChild.js";

/** What `npm run bench` measures and writes (bench/results.json): read by run.ts and report.ts. */

export interface SweepRun extends SweepChildResult {
  requests: RequestCounts;
}

export interface SizeResult {
  size: number;
  expected: ExpectedRows;
  emulatorStartup: { generateMs: number; warmMs: number };
  floor: { resourceGraphByQuery: Record<string, number>; resourceGraph: number; graph: number; arm: number; total: number };
  sweep: {
    runs: SweepRun[];
    /** Medians over the runs. */
    wallMs: number;
    roleAssignmentsPerSecond: number;
    rowsPerSecond: number;
    maxRssBytes: number;
    requests: { resourceGraph: number; graph: number; arm: number; other: number; total: number };
    ratio: { resourceGraph: number; graph: number; total: number };
    /**
     * The stand-in's own cost (medians): the emulator process's CPU during the sweep, its time computing
     * answers by service, and that CPU as a share of the sweep's wall time (what a faster Azure would save at most).
     */
    emulator: { cpuMs: number; busyMsByService: Record<string, number>; share: number };
  };
  quota?: {
    requests: number;
    windowSeconds: number;
    run: SweepRun;
    resourceGraphRequests: number;
    throttled: number;
    floorMs: number;
    ratio: number;
    pacing: Pacing;
  };
  rules?: RuleChildResult;
  /** The sweep job (sweep, lifecycle, run commit), a tenant's first run and the next (--job / --no-job). */
  job?: JobResult;
  /** Issue 16: the same sweep with and without privileged-identity-exposed, interleaved (--exposure-pairs). */
  exposure?: { pairs: number; withMs: number; withoutMs: number; ratio: number; withRssBytes: number; withoutRssBytes: number; requestsWith: number; requestsWithout: number; runs: Array<{ exposure: boolean; wallMs: number; maxRssBytes: number; requests: number; exposureFindings: number }> };
  /** Issue 24: this build against a baseline build (--baseline DIR), interleaved. */
  baseline?: {
    dir: string;
    pairs: number;
    currentMs: number;
    baselineMs: number;
    ratio: number;
    pairRatioMedian: number;
    /** Median CPU time (user + system) of the sweep child, this build over the baseline's. */
    cpuRatio: number;
    currentRssBytes: number;
    baselineRssBytes: number;
    requestsCurrent: number;
    requestsBaseline: number;
    runs: Array<{ side: "baseline" | "current"; wallMs: number; cpuMs: number; maxRssBytes: number; requests: number; graph: number; arm: number; findings: number }>;
  };
}

export interface Target {
  what: string;
  target: string;
  measured: string;
  met: boolean;
}

export interface BenchResults {
  machine: { cpu: string; cores: number; memoryGiB: number; node: string; platform: string };
  startedAt: string;
  finishedAt: string;
  options: Record<string, unknown>;
  sizes: SizeResult[];
  events?: EventBenchResult;
  fic?: FicBenchResult;
  startup?: StartupBenchResult;
  /** Steps that did not finish (a child out of heap, say): the run goes on, and each is a target not met. */
  failures?: Array<{ size: number; step: string; reason: string }>;
  targets: Target[];
}
