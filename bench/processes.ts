import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { PrivilegeFloor } from "./privilegeFloor.js";

/** Child processes of the benchmark: the emulator (local/emulator/main.ts) and one-shot measurement children. */

export interface RequestCounts {
  total: number;
  byService: Record<string, number>;
  byStatus: Record<string, number>;
  byServiceStatus: Record<string, Record<string, number>>;
  /** The emulator process's GC pauses since the last reset (a long one stalls the sweep too). */
  gc: { count: number; totalMs: number; maxMs: number; over100ms: Array<[at: number, ms: number, kind: string]> };
  /** Time the emulator spent computing and writing answers since the last reset, by service. */
  busyMsByService: Record<string, number>;
  /** The emulator process's CPU time since the last reset (both instances share the process). */
  cpuMs: number;
}

export interface ExpectedRows {
  rows: Record<"identities" | "role-definitions" | "attachments" | "federated-credentials" | "role-assignments" | "subscriptions", number>;
  lookedUpPrincipals: number;
  directoryObjects: number;
  privilege: PrivilegeFloor;
}

interface ReadyLine {
  url: string;
  ca: string;
  control: string;
  expected: ExpectedRows;
  timings: { generateMs: number; warmMs: number };
  quotaInstance: { url: string; ca: string; quota: { requests: number; windowSeconds: number } } | null;
}

export interface EmulatorProcess {
  ready: ReadyLine;
  pid: number | undefined;
  stats(instance?: "quota"): Promise<RequestCounts>;
  reset(instance?: "quota"): Promise<void>;
  /** Requests in order: [answered at (epoch ms), status, service]. */
  timeline(instance?: "quota"): Promise<Array<[number, number, string]>>;
  stop(): Promise<void>;
}

const script = (relative: string): string => fileURLToPath(new URL(relative, import.meta.url));

/** Node flags for processes that hold a whole synthetic estate (the emulator, the rule child). */
export const BIG_HEAP_FLAGS = ["--max-old-space-size=12288", "--max-semi-space-size=64"];

/**
 * The heap the sweep runs with: the Function App's, as infra/app/functionapp.bicep ships it — node's
 * `--max-old-space-size` at half the instance memory of its default plan (`languageWorkers__node__arguments`). Without
 * a cap, V8 on this 24 GiB machine lets the old generation grow to several times the live set before it collects
 * (every Resource Graph page is a ~0.5 MB string that goes straight to old space); with it, V8 collects as the heap
 * nears the cap, and a sweep that outgrows it runs out of heap (the bench reports that and goes on).
 * `--sweep-node-flags` comes after these, so `--sweep-node-flags=--max-old-space-size=4096` measures a bigger cap.
 */
export function shippedHeapFlags(): string[] {
  // bench/processes.ts under vitest, dist/bench/processes.js in the bench: the repository root is one or two up.
  const file = ["../infra/app/functionapp.bicep", "../../infra/app/functionapp.bicep"].map((path) => fileURLToPath(new URL(path, import.meta.url))).find((path) => existsSync(path));
  if (!file) throw new Error("infra/app/functionapp.bicep not found beside bench/");
  const bicep = readFileSync(file, "utf8");
  const memory = /^param instanceMemoryMB int = (\d+)$/m.exec(bicep)?.[1];
  if (!memory || !bicep.includes("languageWorkers__node__arguments: '--max-old-space-size=${instanceMemoryMB / 2}'")) {
    throw new Error("infra/app/functionapp.bicep no longer sets languageWorkers__node__arguments to half of instanceMemoryMB: say here which heap the sweep ships with");
  }
  return [`--max-old-space-size=${Number(memory) / 2}`];
}

export const SWEEP_HEAP_FLAGS = shippedHeapFlags();

/**
 * The emulator process holds a multi-GB estate and is idle between quota windows: V8's memory reducer
 * would then mark the whole heap (seconds of incremental steps, up to ~60 ms each) in the middle of a
 * measured sweep. It is a stand-in for Azure, so it collects once before it reports ready and no more.
 */
const EMULATOR_FLAGS = [...BIG_HEAP_FLAGS, "--expose-gc", "--no-memory-reducer"];

export function startEmulatorProcess(args: string[], timeoutMs: number, nodeFlags: readonly string[] = []): Promise<EmulatorProcess> {
  const child = spawn(process.execPath, [...EMULATOR_FLAGS, ...nodeFlags, script("../local/emulator/main.js"), ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-8000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`emulator did not start within ${timeoutMs} ms: ${stderr.slice(-1000)}`));
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`emulator exited with ${code} before it was ready: ${stderr.slice(-2000)}`));
    });
    child.stdout.setEncoding("utf8");
    const onData = (chunk: string): void => {
      stdout += chunk;
      const newline = stdout.indexOf("\n");
      if (newline < 0) return;
      child.stdout.off("data", onData);
      child.stdout.resume();
      clearTimeout(timer);
      child.removeAllListeners("exit");
      const ready = JSON.parse(stdout.slice(0, newline)) as ReadyLine;
      const control = (path: string, instance?: "quota"): string => `${ready.control}${path}${instance ? `?instance=${instance}` : ""}`;
      resolve({
        ready,
        pid: child.pid,
        async stats(instance) {
          const response = await fetch(control("/stats", instance));
          if (!response.ok) throw new Error(`emulator stats answered ${response.status}`);
          return (await response.json()) as RequestCounts;
        },
        async timeline(instance) {
          const response = await fetch(control("/timeline", instance));
          if (!response.ok) throw new Error(`emulator timeline answered ${response.status}`);
          return (await response.json()) as Array<[number, number, string]>;
        },
        async reset(instance) {
          const response = await fetch(control("/reset", instance), { method: "POST" });
          if (!response.ok) throw new Error(`emulator reset answered ${response.status}`);
        },
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            const kill = setTimeout(() => child.kill("SIGKILL"), 15_000);
            child.once("exit", () => {
              clearTimeout(kill);
              done();
            });
            child.kill("SIGTERM");
          }),
      });
    };
    child.stdout.on("data", onData);
  });
}

/** A measurement child that ended without its result: why, in one line, for the targets table. */
export class ChildFailed extends Error {
  constructor(
    readonly child: string,
    readonly reason: string,
    readonly stderrTail: string,
    /** How the process ended, when it did (not when it could not start). */
    readonly exit: { code: number | null; signal: string | null } | null = null,
  ) {
    super(`${child} ${reason}${stderrTail ? `: ${stderrTail.slice(-2000)}` : ""}`);
    this.name = "ChildFailed";
  }
}

/** Why a child ended as it did: V8 running out of heap is told apart from other failures (the cap is in its flags). */
export function failureReason(code: number | null, signal: string | null, stderr: string, nodeFlags: readonly string[]): string {
  // V8 prints this before it aborts (SIGABRT, or exit code 134 through a shell).
  if (/JavaScript heap out of memory|Reached heap limit/.test(stderr)) {
    const cap = [...nodeFlags].reverse().find((flag) => flag.startsWith("--max-old-space-size="));
    return `ran out of heap${cap ? ` (${cap})` : ""}`;
  }
  if (signal) return `was killed by ${signal}`;
  return `exited with ${String(code)}`;
}

/** Runs `node [flags] dist/bench/<name>.js args` and parses the last JSON line it prints; rejects with `ChildFailed`. */
export function runChild<T>(name: string, args: string[], options: { env?: Record<string, string>; nodeFlags?: string[]; timeoutMs: number; script?: string }): Promise<T> {
  const nodeFlags = options.nodeFlags ?? [];
  const child = spawn(process.execPath, [...nodeFlags, options.script ?? script(`./${name}.js`), ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...(options.env ?? {}) },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-8000);
  });
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new ChildFailed(name, `could not start (${error.message})`, ""));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split("\n").pop() ?? "";
      const exit = { code, signal };
      if (timedOut) return reject(new ChildFailed(name, `did not finish within ${options.timeoutMs} ms`, stderr, exit));
      if (code !== 0 || !line.startsWith("{")) return reject(new ChildFailed(name, code === 0 ? "printed no result" : failureReason(code, signal, stderr, nodeFlags), stderr, exit));
      try {
        resolve(JSON.parse(line) as T);
      } catch {
        reject(new ChildFailed(name, "printed a result that is not JSON", stderr, exit));
      }
    });
  });
}
