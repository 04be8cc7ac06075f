import { loadPolicy } from "../shared/config/policy.js";
import { ruleIds } from "../shared/rules/index.js";
import { CLEANUP_POISON_QUEUE, CLEANUP_QUEUE, eventDependencies } from "../shared/composition.js";
import { existsSync } from "node:fs";
import { generateHostKeys, startHost, type HostKeys, type HostLog } from "../local/host.js";
import { readJsonFile } from "../shared/config/validation.js";
import { workItemKeyOf } from "../shared/config/settings.js";
import { InputError } from "../shared/errors.js";
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

/**
 * The host's keys: from local.settings.json in the working directory when it has them
 * (`"HostKeys": { "masterKey", "functionKeys": { "default" }, "systemKeys": { "eventgrid_extension" } }`,
 * the shape of the host's own secrets file), else fresh ones for this run; either way printed once.
 */
export function hostKeys(path = "local.settings.json"): { keys: HostKeys; source: string } {
  const generated = generateHostKeys();
  if (!existsSync(path)) return { keys: generated, source: "generated for this run; set HostKeys in local.settings.json to keep them" };
  const settings = readJsonFile(path, path) as { HostKeys?: unknown } | null;
  const stored = settings && typeof settings === "object" ? settings.HostKeys : undefined;
  if (stored === undefined) return { keys: generated, source: `generated for this run; ${path} has no HostKeys` };
  const text = (value: unknown, where: string): string | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== "string" || !/^[A-Za-z0-9_\-=+/]{16,}$/.test(value)) throw new InputError(`${path}: HostKeys.${where} must be a key of at least 16 characters (letters, digits, -_=+/)`);
    return value;
  };
  const entry = (stored ?? {}) as { masterKey?: unknown; functionKeys?: { default?: unknown }; systemKeys?: { eventgrid_extension?: unknown } };
  return {
    keys: {
      master: text(entry.masterKey, "masterKey") ?? generated.master,
      function: text(entry.functionKeys?.default, "functionKeys.default") ?? generated.function,
      eventGrid: text(entry.systemKeys?.eventgrid_extension, "systemKeys.eventgrid_extension") ?? generated.eventGrid,
    },
    source: `from ${path} HostKeys (missing ones generated)`,
  };
}

export async function serve(run: Run, options: ServeOptions, keys = hostKeys()): Promise<void> {
  const { identitiesHandler, onResourceEventHandler, sweepHandler, healthHandler, cleanupHandler, reportHandler } = await loadFunctions();
  const policy = loadPolicy(options.policy ?? run.settings.UAMI_GUARD_POLICY, ruleIds);
  // Without UAMI_GUARD_WORK_ITEM_KEY, a key for this process: the one process queues and carries out.
  const workItemKey = workItemKeyOf(run.settings, { ephemeral: true });
  const dependencies: AppDependencies = { settings: run.settings, policy, clients: run.clients, ...(workItemKey ? { workItemKey } : {}) };
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
        identities: { methods: ["GET"], authLevel: "function", handler: identitiesHandler(provider) },
        report: { methods: ["GET"], authLevel: "function", handler: reportHandler(provider) },
        health: { methods: ["GET"], authLevel: "function", handler: healthHandler(provider) },
      },
      queues: {
        cleanup: {
          queue: run.clients.queue(CLEANUP_QUEUE),
          poison: run.clients.queue(CLEANUP_POISON_QUEUE),
          maxDequeueCount: MAX_DEQUEUE_COUNT,
          handler: cleanupHandler(provider, { notify: options.notify ?? false }),
        },
      },
    },
    { port: options.port, log, keys: keys.keys },
  );
  process.stderr.write(
    `uami-guard host listening on ${host.url}\n` +
      `  keys (${keys.source}):\n` +
      `    function key         ${keys.keys.function}\n` +
      `    eventgrid_extension  ${keys.keys.eventGrid}\n` +
      `    master key           ${keys.keys.master}\n` +
      `  Event Grid webhook  POST ${host.url}/runtime/webhooks/eventgrid?functionName=onResourceEvent&code=<eventgrid_extension>\n` +
      `  run the sweep       POST ${host.url}/admin/functions/sweep  (x-functions-key: <master key>)\n` +
      `  inventory           GET  ${host.url}/api/identities  (x-functions-key or ?code=: <function key>)\n` +
      `  access-review page  GET  ${host.url}/api/report  (x-functions-key or ?code=: <function key>)\n` +
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
