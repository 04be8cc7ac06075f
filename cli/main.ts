import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, CommanderError, Option } from "commander";
import { collectInventory } from "../shared/engine/inventory.js";
import { runSweep } from "../shared/engine/sweep.js";
import { runSweepJob } from "../shared/engine/sweepJob.js";
import { sweepJobStores } from "../shared/composition.js";
import type { DispatchResult } from "../shared/notify/dispatcher.js";
import { loadPolicy, SEVERITIES, severityRank, type Severity } from "../shared/config/policy.js";
import { ruleIds } from "../shared/rules/index.js";
import type { RunReport } from "../shared/findings.js";
import { renderReport, REPORT_FORMATS, type ReportFormat } from "./sweepOutput.js";
import { InputError, ServiceCallFailed, errorMessage } from "../shared/errors.js";
import { renderInventory, type InventoryFormat } from "./inventoryOutput.js";
import { withRun } from "./runtime.js";
import { replay, type ReplayCommandOptions } from "./replay.js";
import { cliCleanup } from "./cleanup.js";
import { checkOutFile, reportCommand, type ReportCommandOptions } from "./reportCommand.js";
import { restoreCommand, renderRestore, type RestoreCommandOptions } from "./restore.js";

export const EXIT = { ok: 0, internal: 1, input: 2, findings: 3 } as const;

/** The embedded demo estate (local/demo/estate.json), found from source or from dist/. */
export const DEMO_ESTATE = findUpward(dirname(fileURLToPath(import.meta.url)), join("local", "demo", "estate.json"));
/** The demo policy turns on the optional rules (sign-in logs, naming) so every rule shows. */
export const DEMO_POLICY = join(dirname(DEMO_ESTATE), "policy.json");

function findUpward(start: string, relative: string): string {
  for (let directory = start; ; directory = dirname(directory)) {
    const candidate = join(directory, relative);
    if (existsSync(candidate) || dirname(directory) === directory) return candidate;
  }
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError(`--port ${value}: must be a port number 0-65535`);
  return port;
}

function parsePositive(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new InputError(`--sweep-every ${value}: must be a positive number of seconds`);
  return number;
}

function collectList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(",").map((part) => part.trim()).filter(Boolean)];
}

function program(): Command {
  const cli = new Command("uami-guard")
    .description("Governance for Azure user-assigned managed identities")
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) })
    .showSuggestionAfterError(true);

  cli
    .command("inventory")
    .description("Every user-assigned identity with its client, principal and resource ids, attachments, role assignments and federated credentials")
    .option("--estate <file>", "run against the local emulator seeded from this estate file")
    .option("--subscription <id...>", "limit to these subscriptions (repeat or comma-separate)", collectList)
    .option("--policy <file>", "policy file for the exposure exclusions (default: the UAMI_GUARD_POLICY app setting, else RULES.md defaults)")
    .addOption(new Option("--output <format>", "output format").choices(["json", "table", "csv"]).default("table"))
    .action(async (options: { estate?: string; subscription?: string[]; policy?: string; output: InventoryFormat }) => {
      await withRun(options, async (run) => {
        const policy = loadPolicy(options.policy ?? run.settings.UAMI_GUARD_POLICY, ruleIds);
        const inventory = await collectInventory(run.clients, {
          policy,
          subscriptions: run.subscriptions,
          onPage: (query, rows) => run.progress.page(query, rows),
        });
        run.progress.clear();
        process.stdout.write(renderInventory(inventory, options.output));
      });
    });

  cli
    .command("sweep")
    .description("Sweep for orphaned role assignments, untagged identities and every other sweep rule")
    .option("--estate <file>", "run against the local emulator seeded from this estate file")
    .option("--policy <file>", "policy file (default: the UAMI_GUARD_POLICY app setting, else RULES.md defaults)")
    .option("--subscription <id...>", "limit to these subscriptions (repeat or comma-separate)", collectList)
    .addOption(new Option("--output <format>", "output format").choices([...REPORT_FORMATS]).default("table"))
    .addOption(new Option("--fail-on <severity>", "exit 3 when a finding is at or above this severity").choices([...SEVERITIES]))
    .option("--notify", "send new and resolved findings to the configured sinks (with --estate: the emulator's)")
    .option("--state <dir|connection>", "keep finding state between runs: a directory (local Azurite) or a storage connection string")
    .option("--capture <dir>", "with --estate: write what each sink received to DIR/teams.json, sentinel.json, eventgrid.json, appinsights.json")
    .option("--enforce", "carry out the actions of every rule that has one (RULES.md \"Actions\"), dry run off; needs --journal or --state")
    .option("--journal <file>", "journal every change to this JSON Lines file before making it (restore undoes from it)")
    .option("--save-estate <file>", "with --estate: write the emulator's estate after the run (diff it against the input)")
    .action(async (options: SweepCommandOptions) => {
      await withRun({ ...options, storage: Boolean(options.notify || options.state) }, async (run) => {
        const policy = loadPolicy(options.policy ?? run.settings.UAMI_GUARD_POLICY, ruleIds);
        const sweepOptions = { subscriptions: run.subscriptions, onPage: (query: string, rows: number) => run.progress.page(query, rows) };
        const cleanup = await cliCleanup(run, policy, options);
        try {
          let report;
          if (options.notify || options.state) {
            const stores = sweepJobStores(run.clients, policy, { notify: Boolean(options.notify) });
            const job = await runSweepJob(run.clients, policy, stores, { ...sweepOptions, cleanup: cleanup.options });
            report = job.report;
            run.progress.clear();
            run.progress.note(`state: ${job.lifecycle.opened.length} new, ${job.lifecycle.resolved.length} resolved${job.notifications ? `; ${describeDispatch(job.notifications)}` : ""}`);
          } else {
            // Without --state the same job runs on the finding state beside --journal (none kept without it).
            report = (await runSweepJob(run.clients, policy, { findings: cleanup.findingState }, { ...sweepOptions, cleanup: cleanup.options })).report;
          }
          run.progress.clear();
          process.stdout.write(renderReport(report, options.output));
          if (options.failOn && failsAt(report, options.failOn)) process.exitCode = EXIT.findings;
        } finally {
          cleanup.close();
        }
      });
    });

  cli
    .command("replay")
    .description("Replay Event Grid events (a JSON array, Event Grid schema or CloudEvents) through the event handlers")
    .requiredOption("--events <file>", "JSON array of events")
    .option("--estate <file>", "run against the local emulator seeded from this estate file")
    .option("--policy <file>", "policy file (default: the UAMI_GUARD_POLICY app setting, else RULES.md defaults)")
    .addOption(new Option("--output <format>", "output format").choices(["json", "table"]).default("table"))
    .addOption(new Option("--fail-on <severity>", "exit 3 when a finding is at or above this severity").choices([...SEVERITIES]))
    .option("--notify", "send new findings to the configured sinks (with --estate: the emulator's)")
    .option("--state <dir|connection>", "keep dedupe, baseline and finding state between runs: a directory or a storage connection string")
    .option("--capture <dir>", "with --estate: write what each sink received to DIR/teams.json, sentinel.json, eventgrid.json, appinsights.json")
    .option("--enforce", "carry out the actions of every rule that has one (RULES.md \"Actions\"), dry run off; needs --journal or --state")
    .option("--journal <file>", "journal every change to this JSON Lines file before making it (restore undoes from it)")
    .option("--save-estate <file>", "with --estate: write the emulator's estate after the run (diff it against the input)")
    .action(async (options: ReplayCommandOptions) => {
      await withRun({ ...options, storage: true }, async (run) => {
        const report = await replay(run, options);
        run.progress.clear();
        process.stdout.write(renderReport(report, options.output));
        if (options.output === "table") {
          const { events } = report;
          process.stdout.write(`${events.received} events: ${events.processed} processed, ${events.duplicate} duplicate, ${events.ignored} ignored, ${events.malformed} malformed, ${events.failed} failed\n`);
        }
        if (options.failOn && failsAt(report, options.failOn)) process.exitCode = EXIT.findings;
      });
    });

  cli
    .command("restore")
    .description("Undo journaled cleanup actions: recreate deleted role assignments, re-attach identities, put tags back")
    .option("--journal <file>", "the JSON Lines journal a CLI run wrote")
    .option("--run <runId>", "undo this run's entries (from --journal, or the app's journal table)")
    .option("--entry <id>", "undo only this journal entry")
    .option("--estate <file>", "run against the local emulator seeded from this estate file")
    .option("--save-estate <file>", "with --estate: write the emulator's estate after the restore")
    .option("--state <dir|connection>", "with --run: the storage holding the journal table (default: the app settings' storage)")
    .addOption(new Option("--output <format>", "output format").choices(["json", "table"]).default("table"))
    .action(async (options: RestoreCommandOptions) => {
      await withRun({ ...options, storage: !options.journal }, async (run) => {
        const { results, restoreRunId } = await restoreCommand(run, options);
        run.progress.clear();
        process.stdout.write(renderRestore(restoreRunId, results, options.output));
        if (results.some((result) => result.status === "failed")) process.exitCode = EXIT.internal;
      });
    });

  cli
    .command("report")
    .description("The access-review report: one self-contained HTML page (summary charts, identity cards, findings table, identity graphs)")
    .option("--estate <file>", "run against the local emulator seeded from this estate file")
    .option("--policy <file>", "policy file (default: the UAMI_GUARD_POLICY app setting, else RULES.md defaults)")
    .option("--subscription <id...>", "limit to these subscriptions (repeat or comma-separate)", collectList)
    .option("--state <dir|connection>", "finding state to draw open findings over time from (read only): a directory or a storage connection string")
    .option("--out <file>", "write the report to this file (default: stdout)")
    .addOption(new Option("--output <format>", "html, or json: the report model every number on the page comes from").choices(["html", "json"]).default("html"))
    .action(async (options: ReportCommandOptions) => {
      if (options.out) checkOutFile(options.out);
      await withRun({ ...options, storage: Boolean(options.state) }, (run) => reportCommand(run, options));
    });

  cli
    .command("serve")
    .description("Run the Functions app locally behind the Functions host's URLs (Event Grid webhook, timers, HTTP routes)")
    .option("--estate <file>", "serve against the local emulator seeded from this estate file")
    .option("--policy <file>", "policy file (default: the UAMI_GUARD_POLICY app setting, else RULES.md defaults)")
    .option("--port <port>", "port on 127.0.0.1", parsePort, 7071)
    .option("--sweep-every <seconds>", "also run the sweep timer every N seconds", parsePositive)
    .option("--quiet", "log warnings and errors only")
    .option("--notify", "send findings to the configured sinks (with --estate: the emulator's)")
    .option("--capture <dir>", "with --estate: on exit, write what each sink received to DIR/teams.json, sentinel.json, eventgrid.json, appinsights.json")
    .action(async (options: { estate?: string; policy?: string; port: number; sweepEvery?: number; quiet?: boolean; notify?: boolean; capture?: string }) => {
      // Loaded on demand: it registers the Functions app's handlers, which only `serve` needs.
      const { serve } = await import("./serve.js");
      await withRun({ ...options, storage: true }, (run) => serve(run, options));
    });

  cli
    .command("demo")
    .description("Sweep the embedded demo estate and show its inventory (what `npm start` does)")
    .action(async () => {
      await withRun({ estate: DEMO_ESTATE }, async (run) => {
        const onPage = (query: string, rows: number): void => run.progress.page(query, rows);
        const policy = loadPolicy(DEMO_POLICY, ruleIds);
        const report = await runSweep(run.clients, policy, { onPage });
        const inventory = await collectInventory(run.clients, { onPage, policy });
        run.progress.clear();
        const out = (text: string): boolean => process.stdout.write(text);
        out(`uami-guard demo — the embedded demo estate (${DEMO_ESTATE}) on the local Azure emulator\n\n`);
        out(`== Sweep findings ==\n${renderReport(report, "table")}\n`);
        const identities = inventory.identities;
        const attached = identities.filter((identity) => identity.attachedTo.length > 0).length;
        const withRoles = identities.filter((identity) => identity.roleAssignments.length > 0).length;
        out(`== Inventory ==\n${identities.length} identities: ${attached} attached, ${withRoles} holding role assignments, `);
        out(`${identities.reduce((sum, identity) => sum + identity.federatedCredentials.length, 0)} federated credentials.\n`);
        out(`Full inventory: npx uami-guard inventory --estate ${DEMO_ESTATE} --output table|json|csv\n`);
        out(`Ticket-ready report: npx uami-guard sweep --estate ${DEMO_ESTATE} --policy ${DEMO_POLICY} --output markdown\n`);
      });
    });

  return cli;
}

interface SweepCommandOptions {
  enforce?: boolean;
  journal?: string;
  saveEstate?: string;
  notify?: boolean;
  state?: string;
  capture?: string;
  estate?: string;
  policy?: string;
  subscription?: string[];
  output: ReportFormat;
  failOn?: Severity;
}

function describeDispatch(result: DispatchResult): string {
  const sinks = Object.entries(result.delivered).map(([sink, count]) => `${sink} ${count} sent${result.pending[sink as keyof typeof result.pending] ? `, ${result.pending[sink as keyof typeof result.pending]} pending` : ""}`);
  return `notifications: ${sinks.length > 0 ? sinks.join("; ") : "nothing to send"}${result.errors.length > 0 ? ` (${result.errors.join("; ")})` : ""}`;
}

function failsAt(report: RunReport, threshold: Severity): boolean {
  return report.findings.some((finding) => severityRank(finding.severity) >= severityRank(threshold));
}

/** Runs the CLI; sets process.exitCode (0 ok, 1 internal, 2 bad input, 3 findings at --fail-on). */
export async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (error) {
    process.exitCode = exitCodeFor(error);
  }
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander already printed its one-line message (unknown option, missing argument, ...).
    return error.exitCode === 0 ? EXIT.ok : EXIT.input;
  }
  if (error instanceof InputError) {
    process.stderr.write(`uami-guard: ${error.message}\n`);
    return EXIT.input;
  }
  if (error instanceof ServiceCallFailed) {
    process.stderr.write(`uami-guard: ${error.message}\n`);
    return EXIT.internal;
  }
  process.stderr.write(`uami-guard: internal error: ${errorMessage(error)}\n`);
  if (process.env["UAMI_GUARD_DEBUG"] && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return EXIT.internal;
}
