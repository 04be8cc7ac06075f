import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export interface RunningAzurite {
  connectionString: string;
  blobEndpoint: string;
  queueEndpoint: string;
  tableEndpoint: string;
  stop(): Promise<void>;
}

/** Every Azurite this process started and has not stopped, so a signal handler can stop them all. */
const running = new Set<() => Promise<void>>();

/** Stops every Azurite this process started (on SIGINT/SIGTERM: no child left behind, no temp folder). */
export async function stopAllAzurite(): Promise<void> {
  await Promise.all([...running].map((stop) => stop()));
}

/** Azurite's published development account (the same for every Azurite install). */
const ACCOUNT = "devstoreaccount1";
const KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/**
 * Starts the real storage emulator (the `azurite` npm package) in memory on loopback ports the OS
 * picks, telemetry off. The project starts it itself: no test needs a service started by hand.
 */
/** In memory by default; with `location`, state persists in that directory between runs (`--state DIR`). */
export async function startAzurite(options: { timeoutMs?: number; location?: string } = {}): Promise<RunningAzurite> {
  const require = createRequire(import.meta.url);
  const entry = join(require.resolve("azurite/package.json"), "..", "dist", "src", "azurite.js");
  const scratch = mkdtempSync(join(tmpdir(), "uami-guard-azurite-"));
  // Absolute: Azurite runs in its scratch folder, where a relative location would vanish at exit.
  const persistence = options.location ? ["--location", resolve(options.location)] : ["--inMemoryPersistence"];
  const child = spawn(
    process.execPath,
    [
      entry,
      ...persistence,
      "--disableTelemetry",
      "--silent",
      "--skipApiVersionCheck",
      "--blobHost", "127.0.0.1", "--blobPort", "0",
      "--queueHost", "127.0.0.1", "--queuePort", "0",
      "--tableHost", "127.0.0.1", "--tablePort", "0",
    ],
    // In memory; the scratch directory as cwd catches any debug or lock file Azurite writes.
    { stdio: ["ignore", "pipe", "pipe"], cwd: scratch },
  );
  const stop = (): Promise<void> =>
    new Promise<void>((stopped) => {
      const done = (): void => {
        running.delete(stop);
        rmSync(scratch, { recursive: true, force: true });
        stopped();
      };
      if (child.exitCode !== null || child.signalCode !== null) {
        done();
        return;
      }
      child.once("exit", done);
      child.kill();
    });
  running.add(stop);
  const endpoints = await waitForEndpoints(child, options.timeoutMs ?? 30_000).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  const blobEndpoint = `${endpoints.blob}/${ACCOUNT}`;
  const queueEndpoint = `${endpoints.queue}/${ACCOUNT}`;
  const tableEndpoint = `${endpoints.table}/${ACCOUNT}`;
  return {
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};BlobEndpoint=${blobEndpoint};QueueEndpoint=${queueEndpoint};TableEndpoint=${tableEndpoint};`,
    blobEndpoint,
    queueEndpoint,
    tableEndpoint,
    stop,
  };
}

function waitForEndpoints(child: ChildProcess, timeoutMs: number): Promise<{ blob: string; queue: string; table: string }> {
  return new Promise((resolve, reject) => {
    const found: Record<string, string> = {};
    let output = "";
    const timer = setTimeout(() => reject(new Error(`Azurite did not start within ${timeoutMs} ms: ${output.slice(-500)}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      for (const match of output.matchAll(/Azurite (Blob|Queue|Table) service is successfully listening at (http:\/\/127\.0\.0\.1:\d+)/g)) {
        found[(match[1] ?? "").toLowerCase()] = match[2] ?? "";
      }
      if (found["blob"] && found["queue"] && found["table"]) {
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        // Keep draining so a full pipe never blocks Azurite.
        child.stdout?.resume();
        resolve({ blob: found["blob"], queue: found["queue"], table: found["table"] });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited with code ${code}: ${output.slice(-500)}`));
    });
  });
}
