import { stopAllAzurite } from "../local/azurite.js";

/** What must not outlive an interrupted run besides Azurite (a journal lock, a progress bar). */
const cleanups = new Set<() => void>();

export function onInterrupt(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * For one-shot commands: on Ctrl-C or SIGTERM, stop every child process (Azurite), remove their temp
 * folders and release locks, then exit 128 + signal number as shells do. `serve` stops itself.
 */
export function stopOnSignals(): void {
  for (const signal of Object.keys(EXIT_CODES) as Array<keyof typeof EXIT_CODES>) {
    process.once(signal, () => {
      process.stderr.write(`\nuami-guard: ${signal}: stopping\n`);
      for (const cleanup of cleanups) {
        try {
          cleanup();
        } catch {
          // Best effort while exiting: the next run reconciles what is left.
        }
      }
      const deadline = setTimeout(() => process.exit(EXIT_CODES[signal]), 5_000);
      void stopAllAzurite().finally(() => {
        clearTimeout(deadline);
        process.exit(EXIT_CODES[signal]);
      });
    });
  }
}
