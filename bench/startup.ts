import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { measure, packageApp } from "../tools/packageApp.js";
import { median } from "./stats.js";

/**
 * Start-up figures: the Function App's deployment package (`npm run package`: size, files, packages) and the
 * import time of its entry module from that package, beside a bare `node -e 0`, and of the entry with the event
 * trigger's module (what the first event loads: a trigger's module is imported on its first invocation); the CLI's `--version` and
 * `--help`. Each command runs `runs` times in a fresh process after one warm-up (the file cache); medians.
 */
export interface StartupBenchResult {
  package: { files: number; megabytes: number; zippedMegabytes: number; modules: number; dependencies: number; packages: number };
  nodeBareMs: number;
  entryImportMs: number;
  /** The entry, then the event trigger's module with the engine and the clients it loads on the first event. */
  firstEventImportMs: number;
  cliVersionMs: number;
  cliHelpMs: number;
  runs: number;
}

function timed(args: string[], cwd: string, runs: number): number {
  const times: number[] = [];
  for (let run = 0; run <= runs; run += 1) {
    const started = process.hrtime.bigint();
    const child = spawnSync(process.execPath, args, { cwd, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, NODE_OPTIONS: "" } });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (child.status !== 0) throw new Error(`node ${args.join(" ")}: exit ${String(child.status)}: ${child.stderr.toString().slice(0, 500)}`);
    if (run > 0) times.push(ms);
  }
  return median(times);
}

export async function runStartupBench(options: { root: string; runs: number; log: (message: string) => void }): Promise<StartupBenchResult> {
  options.log("startup: staging the deployment package (npm run package)");
  const staged = await packageApp();
  const size = measure(staged.directory);
  const installed = spawnSync("npm", ["ls", "--all", "--parseable"], { cwd: staged.directory, encoding: "utf8" }).stdout.split("\n").filter(Boolean).length - 1;
  options.log(`startup: ${size.files} files, ${(size.bytes / 1e6).toFixed(1)} MB; timing imports and the CLI (${options.runs} runs each)`);
  const bin = join(options.root, "bin", "uami-guard.js");
  return {
    package: { files: size.files, megabytes: size.bytes / 1e6, zippedMegabytes: size.deflated / 1e6, modules: staged.modules.length, dependencies: Object.keys(staged.dependencies).length, packages: installed },
    nodeBareMs: timed(["-e", "0"], staged.directory, options.runs),
    // The Functions worker imports package.json "main"; outside the host @azure/functions registers nothing (test mode).
    entryImportMs: timed(["--input-type=module", "-e", 'await import("./dist/functions/index.js")'], staged.directory, options.runs),
    firstEventImportMs: timed(["--input-type=module", "-e", 'await import("./dist/functions/index.js"); await import("./dist/functions/onResourceEvent.js")'], staged.directory, options.runs),
    cliVersionMs: timed([bin, "--version"], options.root, options.runs),
    cliHelpMs: timed([bin, "--help"], options.root, options.runs),
    runs: options.runs,
  };
}

/** The start-up targets: package ≤ 30 MB (zipped, as uploaded), entry import ≤ 500 ms, `--version` ≤ 0.4 s. */
export function startupTargets(result: StartupBenchResult): Array<{ what: string; target: string; measured: string; met: boolean }> {
  const { package: app } = result;
  return [
    { what: "deployment package (npm run package)", target: "≤ 30 MB", measured: `${app.zippedMegabytes.toFixed(1)} MB zipped (${app.megabytes.toFixed(1)} MB, ${app.files} files, ${app.packages} packages)`, met: app.zippedMegabytes <= 30 },
    { what: "Function App entry import (median)", target: "≤ 500 ms", measured: `${result.entryImportMs.toFixed(0)} ms (node -e 0: ${result.nodeBareMs.toFixed(0)} ms; with the event trigger's module, as the first event loads it: ${result.firstEventImportMs.toFixed(0)} ms)`, met: result.entryImportMs <= 500 },
    { what: "uami-guard --version (median)", target: "≤ 400 ms", measured: `${result.cliVersionMs.toFixed(0)} ms (--help ${result.cliHelpMs.toFixed(0)} ms)`, met: result.cliVersionMs <= 400 && result.cliHelpMs <= 400 },
  ];
}
