import { loadPolicy } from "../shared/config/policy.js";
import { ruleIds } from "../shared/rules/index.js";
import { CLEANUP_POISON_QUEUE, CLEANUP_QUEUE, eventDependencies } from "../shared/composition.js";
import { startHost, type HostLog } from "../local/host.js";
import { seedEventStores } from "../local/seed.js";
import type { AppDependencies } from "../functions/dependencies.js";
import type { Run } from "./runtime.js";

/** host.json extensions.queues.maxDequeueCount: the same retry budget as in Azure. */
export const MAX_DEQUEUE_COUNT = 5;

export interface ServeOptions {
  port: number;
  policy?: string;
  sweepEvery?: number;
  quiet?: boolean;
  notify?: boolean;
}

/** `uami-guard serve`: the functions of functions/ behind the Functions host's URLs, until interrupted. */
/**
 * Outside the Functions host, @azure/functions says once per registration that it is in test mode.
 * That is expected here (the handlers are served by local/host.ts), so those lines are dropped.
 */
async function loadFunctions() {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!/@azure\/functions" package (to|is in) test mode/.test(String(args[0]))) warn(...args);
  };
  try {
    const [identities, onResourceEvent, sweep, health, cleanup, report] = await Promise.all([
      import("../functions/identities.js"),
      import("../functions/onResourceEvent.js"),
      import("../functions/sweep.js"),
      import("../functions/health.js"),
      import("../functions/cleanup.js"),
      import("../functions/report.js"),
    ]);
    return {
      identitiesHandler: identities.identitiesHandler,
      onResourceEventHandler: onResourceEvent.onResourceEventHandler,
      sweepHandler: sweep.sweepHandler,
      healthHandler: health.healthHandler,
      cleanupHandler: cleanup.cleanupHandler,
      reportHandler: report.reportHandler,
    };
  } finally {
    console.warn = warn;
  }
}

export async function serve(run: Run, options: ServeOptions): Promise<void> {
  const { identitiesHandler, onResourceEventHandler, sweepHandler, healthHandler, cleanupHandler, reportHandler } = await loadFunctions();
  const policy = loadPolicy(options.policy ?? run.settings.UAMI_GUARD_POLICY, ruleIds);
  const dependencies: AppDependencies = { settings: run.settings, policy, clients: run.clients };
  if (run.estate) await seedEventStores(run.estate, eventDependencies(run.clients, policy));
  const provider = async (): Promise<AppDependencies> => dependencies;
  const log: HostLog = options.quiet
    ? (level, message) => {
        if (level === "error" || level === "warning") process.stderr.write(`${level} ${message}\n`);
      }
    : (level, message) => process.stderr.write(`${new Date().toISOString()} ${level} ${message}\n`);
  const sweep = sweepHandler(provider, { notify: options.notify ?? false });
  const host = await startHost(
    {
      eventGrid: { onResourceEvent: onResourceEventHandler(provider, { notify: options.notify ?? false }) },
      timers: { sweep: { handler: sweep, ...(options.sweepEvery ? { everyMs: options.sweepEvery * 1000 } : {}) } },
      http: {
        identities: { methods: ["GET"], handler: identitiesHandler(provider) },
        report: { methods: ["GET"], handler: reportHandler(provider) },
        health: { methods: ["GET"], handler: healthHandler(provider) },
      },
      queues: {
        cleanup: {
          queue: run.clients.queue(CLEANUP_QUEUE),
          poison: run.clients.queue(CLEANUP_POISON_QUEUE),
          maxDequeueCount: MAX_DEQUEUE_COUNT,
          handler: cleanupHandler(provider),
        },
      },
    },
    { port: options.port, log },
  );
  process.stderr.write(
    `uami-guard host listening on ${host.url}\n` +
      `  Event Grid webhook  POST ${host.url}/runtime/webhooks/eventgrid?functionName=onResourceEvent\n` +
      `  run the sweep       POST ${host.url}/admin/functions/sweep\n` +
      `  inventory           GET  ${host.url}/api/identities\n` +
      `  access-review page  GET  ${host.url}/api/report\n` +
      `  cleanup work items  queue ${CLEANUP_QUEUE} (poison: ${CLEANUP_POISON_QUEUE})\n` +
      (run.emulator ? `  emulated Azure      ${run.emulator.url}\n` : ""),
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await host.stop();
}
