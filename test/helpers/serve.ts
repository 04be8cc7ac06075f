import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/uami-guard.js", import.meta.url));

export interface ServeProcess {
  url: string;
  /** Everything serve wrote to stderr so far (its log). */
  readonly stderr: string;
  stop(): Promise<void>;
}

/** `uami-guard serve … --port 0` as a child process; resolves once it listens. */
export async function startServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  let stderr = "";
  const child: ChildProcess = spawn(process.execPath, [BIN, "serve", ...args, "--port", "0"], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...env } });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 30_000);
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once("exit", (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
  return {
    url,
    get stderr() {
      return stderr;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGINT");
      await exited;
    },
  };
}

/**
 * Waits until serve's log has `count` lines matching `pattern`. The child writes its log after it
 * answers, so a test reads stderr only through this (polling), never right after the response.
 */
export async function untilLogged(serve: ServeProcess, pattern: RegExp, count = 1, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((serve.stderr.match(new RegExp(pattern.source, "g")) ?? []).length < count) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}: ${serve.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
