import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./sources.js";

/** The compiled CLI, as npx runs it. */
export const BIN = join(ROOT, "bin", "uami-guard.js");

/**
 * Runs the compiled CLI without a terminal (stdin closed) and without the environment's UAMI_GUARD_POLICY. Output up
 * to 64 MB: the demo sweep's JSON is ~2 MB, above spawnSync's default 1 MB buffer, where the child is killed.
 */
export function runCli(args: string[], options: { cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {}): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    cwd: options.cwd ?? ROOT,
    timeout: options.timeoutMs ?? 90_000,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, UAMI_GUARD_POLICY: "", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
