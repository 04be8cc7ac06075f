import { existsSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import { dirname, isAbsolute, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, CommanderError, Option } from "commander";
import type { DispatchResult } from "../shared/notify/dispatcher.js";
import { SEVERITIES, severityRank, type Severity } from "../shared/config/severities.js";
import type { RunReport } from "../shared/findings.js";
import { InputError, ReportTooLarge, ServiceCallFailed, errorMessage } from "../shared/errors.js";
import type { Inventory } from "../shared/inventoryBuilder.js";
import { AZ_FORMATS, REPORT_FORMATS } from "./formats.js";
import type { CommandOutput, OutputFormat } from "./output.js";
import { Log, colourWanted, paint, type Verbosity } from "./log.js";
import { tableLayout } from "./format.js";
import { stopOnSignals } from "./signals.js";
import type { Progress } from "./progress.js";
import type { ReplayCommandOptions } from "./replay.js";
import type { ReportCommandOptions } from "./reportCommand.js";
import type { RestoreCommandOptions } from "./restore.js";
import type { ReplayReport } from "../shared/engine/replay.js";

/*
 * What the commands run is imported when one is about to run (the preAction hook), never for --help, --version
 * or a usage error: those answer in a bare Node start-up's time. The bindings below are set by loadCommands().
 */
let collectInventory: typeof import("../shared/engine/inventory.js").collectInventory;
let runSweep: typeof import("../shared/engine/sweep.js").runSweep;
let runSweepJob: typeof import("../shared/engine/sweepJob.js").runSweepJob;
let sweepJobStores: typeof import("../shared/composition.js").sweepJobStores;
let findingStateStore: typeof import("../shared/composition.js").findingStateStore;
let readAppSettings: typeof import("../shared/config/settings.js").readAppSettings;
let loadPolicy: typeof import("../shared/config/policy.js").loadPolicy;
let ruleIds: typeof import("../shared/rules/index.js").ruleIds;
let renderReport: typeof import("./sweepOutput.js").renderReport;
let renderInventory: typeof import("./inventoryOutput.js").renderInventory;
let render: typeof import("./output.js").render;
let withRun: typeof import("./runtime.js").withRun;
let replay: typeof import("./replay.js").replay;
let cliCleanup: typeof import("./cleanup.js").cliCleanup;
let enforceAsDryRun: typeof import("./cleanup.js").enforceAsDryRun;
let findingStatePathFor: typeof import("./cleanup.js").findingStatePathFor;
let readOnlyFindingState: typeof import("./cleanup.js").readOnlyFindingState;
let FileFindingStateStore: typeof import("./fileFindingState.js").FileFindingStateStore;
let checkOutFile: typeof import("./reportCommand.js").checkOutFile;
let reportCommand: typeof import("./reportCommand.js").reportCommand;
let restoreCommand: typeof import("./restore.js").restoreCommand;
let renderRestore: typeof import("./restore.js").renderRestore;
let checkPortFree: typeof import("./preflight.js").checkPortFree;

async function loadCommands(): Promise<void> {
  const [inventory, sweep, sweepJob, composition, policy, rules, sweepOutput, inventoryOutput, output, runtime, replayModule, cleanup, report, restore, settings, fileFindingState, preflight] = await Promise.all([
    import("../shared/engine/inventory.js"),
    import("../shared/engine/sweep.js"),
    import("../shared/engine/sweepJob.js"),
    import("../shared/composition.js"),
    import("../shared/config/policy.js"),
    import("../shared/rules/index.js"),
    import("./sweepOutput.js"),
    import("./inventoryOutput.js"),
    import("./output.js"),
    import("./runtime.js"),
    import("./replay.js"),
    import("./cleanup.js"),
    import("./reportCommand.js"),
    import("./restore.js"),
    import("../shared/config/settings.js"),
    import("./fileFindingState.js"),
    import("./preflight.js"),
  ]);
  ({ collectInventory } = inventory);
  ({ runSweep } = sweep);
  ({ runSweepJob } = sweepJob);
  ({ sweepJobStores, findingStateStore } = composition);
  ({ readAppSettings } = settings);
  ({ FileFindingStateStore } = fileFindingState);
  ({ checkPortFree } = preflight);
  ({ loadPolicy } = policy);
  ({ ruleIds } = rules);
  ({ renderReport } = sweepOutput);
  ({ renderInventory } = inventoryOutput);
  ({ render } = output);
  ({ withRun } = runtime);
  ({ replay } = replayModule);
  ({ cliCleanup, enforceAsDryRun, findingStatePathFor, readOnlyFindingState } = cleanup);
  ({ checkOutFile, reportCommand } = report);
  ({ restoreCommand, renderRestore } = restore);
}

export const EXIT = { ok: 0, internal: 1, input: 2, findings: 3 } as const;

/** The embedded demo estate (local/demo/estate.json), found from source or from dist/. */
export const DEMO_ESTATE = findUpward(dirname(fileURLToPath(import.meta.url)), join("local", "demo", "estate.json"));
/** The demo policy turns on the optional rules (sign-in logs, naming) so every rule shows. */
export const DEMO_POLICY = join(dirname(DEMO_ESTATE), "policy.json");

/** A path as the user would type it from here: relative when it is below the working directory. */
function shownPath(path: string): string {
  const shown = relative(process.cwd(), path);
  return shown && !shown.startsWith("..") && !isAbsolute(shown) ? shown : path;
}

function findUpward(start: string, wanted: string): string {
  for (let directory = start; ; directory = dirname(directory)) {
    const candidate = join(directory, wanted);
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

function parseMaxIdentities(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InputError(`--max-identities ${value}: must be a whole number of identities, 1 or more`);
  return number;
}

function collectList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(",").map((part) => part.trim()).filter(Boolean)];
}

/** az's global arguments, on every command that prints a result. */
interface AzFlags {
  output: OutputFormat;
  query?: string;
  verbose?: boolean;
  debug?: boolean;
  onlyShowErrors?: boolean;
  wide?: boolean;
}

function withAzOptions(command: Command, formats: readonly string[]): Command {
  return command
    .addOption(new Option("-o, --output <format>", "output format").choices([...formats]).default("table"))
    .option("--query <jmespath>", "JMESPath query applied to the JSON result (as az --query)")
    .option("--verbose", "more on stderr: each step and its timing")
    .option("--debug", "everything on stderr, stack traces included")
    .option("--only-show-errors", "only errors on stderr: no progress, notes or warnings")
    .option("--wide", "tables show whole ids and titles, nothing cut (otherwise they fit COLUMNS or the terminal, 120 in a pipe)");
}

function logFor(flags: Omit<AzFlags, "output">): Log {
  const verbosity: Verbosity = flags.debug ? "debug" : flags.onlyShowErrors ? "errors" : flags.verbose ? "verbose" : "normal";
  return new Log(verbosity);
}

function print(output: CommandOutput, flags: AzFlags, progress?: Progress): void {
  const text = render(output, flags.output, flags.query, tableLayout(flags.wide));
  process.stdout.write(text);
  progress?.completed(`printed the result (${flags.output}${flags.query ? `, --query` : ""}, ${text.length.toLocaleString("en-US")} characters)`);
}

/** What a run found and did, for the --verbose step line. */
function runSummary(report: RunReport): string {
  const actions = report.actions.length > 0 ? `, ${report.actions.length} cleanup action${report.actions.length === 1 ? "" : "s"}` : "";
  return `${report.summary.findings} finding${report.summary.findings === 1 ? "" : "s"}${actions}${report.incomplete.length > 0 ? `, ${report.incomplete.length} incomplete` : ""}`;
}

function reportOutput(report: RunReport): CommandOutput {
  return {
    document: report,
    rows: () => report.findings,
    table: (layout) => renderReport(report, "table", layout),
    csv: () => renderReport(report, "csv"),
    markdown: () => renderReport(report, "markdown"),
  };
}

function inventoryOutput(inventory: Inventory): CommandOutput {
  return { document: inventory, rows: () => inventory.identities, table: (layout) => renderInventory(inventory, "table", layout), csv: () => renderInventory(inventory, "csv") };
}

/** `--fail-on`: exit 3, and say why on stderr (a CI log must show what failed the gate). */
function failOn(report: RunReport, threshold: Severity | undefined): void {
  if (!threshold) return;
  const count = report.findings.filter((finding) => severityRank(finding.severity) >= severityRank(threshold)).length;
  if (count === 0) return;
  process.stderr.write(`uami-guard: ${count} finding${count === 1 ? "" : "s"} at or above ${threshold} (--fail-on ${threshold}): exit ${EXIT.findings}\n`);
  process.exitCode = EXIT.findings;
}

/**
 * `--enforce` against real Azure changes production role assignments and attachments: on a terminal
 * it asks first; elsewhere (CI) it needs `--yes`, as `az ... delete` does. With --estate nothing real changes.
 */
async function confirmEnforce(options: { enforce?: boolean; estate?: string; yes?: boolean; subscription?: string[] }): Promise<void> {
  if (!options.enforce || options.estate || options.yes) return;
  const where = options.subscription?.length ? `subscription ${options.subscription.join(", ")}` : "every subscription this credential can read (or UAMI_GUARD_SUBSCRIPTIONS)";
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new InputError(`--enforce: changes real Azure resources in ${where}; add --yes to confirm (no terminal to ask on), or rehearse with --estate`);
  }
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`uami-guard will delete role assignments, detach identities and tag identities in ${where}, journaled and undoable with restore.\nContinue? (y/N): `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new InputError("--enforce: not confirmed; nothing was changed");
  } finally {
    prompt.close();
  }
}

const VERSION = (JSON.parse(readFileSync(findUpward(dirname(fileURLToPath(import.meta.url)), "package.json"), "utf8")) as { version: string }).version;

function program(): Command {
  const cli = new Command("uami-guard")
    .description("Governance for Azure user-assigned managed identities")
    .version(`uami-guard ${VERSION} (node ${process.version})`, "--version", "print the version and exit")
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) })
    .showSuggestionAfterError(true)
    .hook("preAction", async (_cli, action) => {
      oneJournal(action.opts());
      await loadCommands();
      // serve stops itself on a signal (host first, then storage); one-shot commands stop here.
      if (action.name() !== "serve") stopOnSignals();
    });

  withAzOptions(
    cli
      .command("inventory")
      .description("Every user-assigned identity with its client, principal and resource ids, attachments, role assignments and federated credentials")
      .option("--estate <file>", "run against the local emulator seeded from this estate file")
      .option("--subscription <id-or-name...>", "limit to these subscriptions, by id or display name (repeat or comma-separate)", collectList)
      .option("--policy <file>", "policy file for the exposure exclusions (default: the UAMI_GUARD_POLICY app setting, else the defaults of docs/policy.md)"),
    [...AZ_FORMATS, "csv"],
  ).action(async (options: { estate?: string; subscription?: string[]; policy?: string } & AzFlags) => {
    const policy = loadPolicy(options.policy ?? readAppSettings().UAMI_GUARD_POLICY, ruleIds);
    await withRun({ ...options, log: logFor(options) }, async (run) => {
      const inventory = await collectInventory(run.clients, {
        policy,
        subscriptions: run.subscriptions,
        onPage: (query, rows) => run.progress.page(query, rows),
      });
      run.progress.clear();
      run.progress.completed(`inventory: ${inventory.identities.length} identities`);
      print(inventoryOutput(inventory), options, run.progress);
    });
  });

  withAzOptions(cli.command("sweep"), [...AZ_FORMATS, ...REPORT_FORMATS.filter((format) => !(AZ_FORMATS as readonly string[]).includes(format))])
    .description("Sweep for orphaned role assignments, untagged identities and every other sweep rule")
    .option("--estate <file>", "run against the local emulator seeded from this estate file")
    .option("--policy <file>", "policy file (default: the UAMI_GUARD_POLICY app setting, else the defaults of docs/policy.md)")
    .option("--subscription <id-or-name...>", "limit to these subscriptions, by id or display name (repeat or comma-separate)", collectList)
    .addOption(new Option("--fail-on <severity>", "exit 3 when a finding is at or above this severity").choices([...SEVERITIES]))
    .option("--notify", "send new and resolved findings to the configured sinks (with --estate: the emulator's)")
    .option("--state <dir|connection>", "keep finding state between runs: a directory (local Azurite) or a storage connection string")
    .option("--capture <dir>", "with --estate: write what each sink received to DIR/teams.json, sentinel.json, eventgrid.json, appinsights.json")
    .option("--enforce", "carry out the cleanup actions of every rule that has one (docs/rules), dry run off; needs --journal or --state")
    .option("--dry-run", "with --enforce: plan what it would change, against real Azure too, and change nothing (no finding state either); needs neither --journal nor --yes")
    .addOption(new Option("--dryrun").hideHelp())
    .option("--yes", "with --enforce against Azure: do not ask for confirmation")
    .option("--journal <file>", "journal every change to this JSON Lines file before making it (restore undoes from it)")
    .option("--save-estate <file>", "with --estate: write the emulator's estate after the run (diff it against the input)")
    .action(async (options: SweepCommandOptions) => {
      // az spells it --dryrun (az storage blob delete-batch, az webapp up): both are taken.
      const dryRun = Boolean(options.dryRun || options.dryrun);
      if (dryRun && options.notify) throw new InputError("--dry-run: changes nothing, not even the finding state, so it notifies nobody: leave out --notify");
      // Read before any work (a pipe can be read once): a bad policy is bad input.
      const loaded = loadPolicy(options.policy ?? readAppSettings().UAMI_GUARD_POLICY, ruleIds);
      const policy = dryRun ? enforceAsDryRun(loaded) : loaded;
      if (!dryRun) await confirmEnforce(options);
      await withRun({ ...options, ...(dryRun ? { journal: undefined } : {}), storage: Boolean(options.notify || options.state), log: logFor(options) }, async (run) => {
        const sweepOptions = { subscriptions: run.subscriptions, onPage: (query: string, rows: number) => run.progress.page(query, rows) };
        const cleanup = await cliCleanup(run, policy, dryRun ? { ...(options.state ? { state: options.state } : {}) } : options);
        try {
          let report;
          if (dryRun) {
            // What the next --enforce run would plan: the same finding state (orphan sightings), read, never saved.
            const findings = readOnlyFindingState(options.state ? findingStateStore(run.clients) : options.journal ? new FileFindingStateStore(findingStatePathFor(options.journal)) : cleanup.findingState);
            report = (await runSweepJob(run.clients, policy, { findings }, { ...sweepOptions, cleanup: cleanup.options })).report;
          } else if (options.notify || options.state) {
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
          run.progress.completed(`sweep (rules, finding state${report.cleanup && report.cleanup.mode !== "off" ? `, cleanup ${report.cleanup.mode}` : ""}): ${runSummary(report)}`);
          print(reportOutput(report), options, run.progress);
          failOn(report, options.failOn);
          if (actionsFailed(report)) process.exitCode = EXIT.internal;
        } finally {
          cleanup.close();
        }
      });
    });

  withAzOptions(cli.command("replay"), [...AZ_FORMATS, "csv", "markdown"])
    .description("Replay Event Grid events (a JSON array, Event Grid schema or CloudEvents) through the event handlers")
    .requiredOption("--events <file>", "JSON array of events (docs/events.md)")
    .option("--estate <file>", "run against the local emulator seeded from this estate file")
    .option("--policy <file>", "policy file (default: the UAMI_GUARD_POLICY app setting, else the defaults of docs/policy.md)")
    .addOption(new Option("--fail-on <severity>", "exit 3 when a finding is at or above this severity").choices([...SEVERITIES]))
    .option("--notify", "send new findings to the configured sinks (with --estate: the emulator's)")
    .option("--state <dir|connection>", "keep dedupe, baseline and finding state between runs: a directory or a storage connection string")
    .option("--capture <dir>", "with --estate: write what each sink received to DIR/teams.json, sentinel.json, eventgrid.json, appinsights.json")
    .option("--enforce", "carry out the cleanup actions of every rule that has one (docs/rules), dry run off; needs --journal or --state")
    .option("--yes", "with --enforce against Azure: do not ask for confirmation")
    .option("--journal <file>", "journal every change to this JSON Lines file before making it (restore undoes from it)")
    .option("--save-estate <file>", "with --estate: write the emulator's estate after the run (diff it against the input)")
    .action(async (options: ReplayCommandOptions & AzFlags & { yes?: boolean }) => {
      await confirmEnforce(options);
      await withRun({ ...options, storage: true, log: logFor(options) }, async (run) => {
        const report = await replay(run, options);
        run.progress.clear();
        run.progress.completed(`replay: ${report.events.received} events, ${runSummary(report)}`);
        print(replayOutput(report), options, run.progress);
        failOn(report, options.failOn);
        if (actionsFailed(report)) process.exitCode = EXIT.internal;
      });
    });

  withAzOptions(cli.command("restore"), AZ_FORMATS)
    .description("Undo journaled cleanup actions: recreate deleted role assignments, re-attach identities, put tags back")
    .option("--journal <file>", "the JSON Lines journal a CLI run wrote")
    .option("--run <runId>", "undo this run's entries (from --journal, or the app's journal table)")
    .option("--entry <id>", "undo only this journal entry")
    .option("--estate <file>", "run against the local emulator seeded from this estate file")
    .option("--save-estate <file>", "with --estate: write the emulator's estate after the restore")
    .option("--state <dir|connection>", "with --run: the storage holding the journal table (default: the app settings' storage)")
    .action(async (options: RestoreCommandOptions & AzFlags) => {
      // The journal is read, not written: it must exist (restoreJournal says so), so no output check.
      await withRun({ ...options, journal: undefined, storage: !options.journal, log: logFor(options) }, async (run) => {
        const { results, restoreRunId } = await restoreCommand(run, options);
        run.progress.clear();
        run.progress.completed(`restore: ${results.length} journal entries`);
        print({ document: { restoreRunId, results }, rows: () => results, table: (layout) => renderRestore(restoreRunId, results, "table", layout) }, options, run.progress);
        if (results.some((result) => result.status === "failed" || result.status === "unknown")) process.exitCode = EXIT.internal;
      });
    });

  cli
    .command("report")
    .description("The access-review report: one self-contained HTML page (summary charts, identity cards, findings table, identity graphs)")
    .option("--estate <file>", "run against the local emulator seeded from this estate file")
    .option("--policy <file>", "policy file (default: the UAMI_GUARD_POLICY app setting, else the defaults in docs/policy.md)")
    .option("--subscription <id...>", "limit to these subscriptions (repeat or comma-separate)", collectList)
    .option("--state <dir|connection>", "finding state to draw open findings over time from (read only): a directory or a storage connection string")
    .option("--out <file>", "write the report to this file (default: stdout)")
    .option("--max-identities <n>", "refuse an estate of more identities than this (default: what this process's heap holds; UAMI_GUARD_REPORT_MAX_IDENTITIES)", parseMaxIdentities)
    .addOption(new Option("--output <format>", "html, or json: the report model every number on the page comes from").choices(["html", "json"]).default("html"))
    .action(async (options: ReportCommandOptions) => {
      if (options.out) checkOutFile(options.out);
      await withRun({ ...options, storage: Boolean(options.state) }, (run) => reportCommand(run, options));
    });

  cli
    .command("serve")
    .description("Run the Functions app locally behind the Functions host's URLs (Event Grid webhook, timers, HTTP routes)")
    .option("--estate <file>", "serve against the local emulator seeded from this estate file")
    .option("--policy <file>", "policy file (default: the UAMI_GUARD_POLICY app setting, else the defaults in docs/policy.md)")
    .option("--port <port>", "port on 127.0.0.1", parsePort, 7071)
    .option("--sweep-every <seconds>", "also run the sweep timer every N seconds", parsePositive)
    .option("--quiet", "log warnings and errors only")
    .option("--notify", "send findings to the configured sinks (with --estate: the emulator's)")
    .option("--capture <dir>", "with --estate: on exit, write what each sink received to DIR/teams.json, sentinel.json, eventgrid.json, appinsights.json")
    .action(async (options: { estate?: string; policy?: string; port: number; sweepEvery?: number; quiet?: boolean; notify?: boolean; capture?: string }) => {
      await checkPortFree(options.port);
      // Loaded on demand: it registers the Functions app's handlers, which only `serve` needs.
      const { hostKeys, serve } = await import("./serve.js");
      // Read before any work: a bad HostKeys entry is bad input.
      const keys = hostKeys();
      await withRun({ ...options, storage: true, host: true }, (run) => serve(run, options, keys));
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
        const estate = shownPath(DEMO_ESTATE);
        const demoPolicy = shownPath(DEMO_POLICY);
        out(`uami-guard demo — the demo estate (${estate}) on the local Azure emulator, with the demo policy (${demoPolicy}:\n`);
        out(`naming and sign-in-log rules on, one approved pipeline). The same sweep: npx uami-guard sweep --estate ${estate} --policy ${demoPolicy}\n\n`);
        out(`== Sweep findings ==\n${renderReport(report, "table")}\n`);
        const identities = inventory.identities;
        const attached = identities.filter((identity) => identity.attachedTo.length > 0).length;
        const withRoles = identities.filter((identity) => identity.roleAssignments.length > 0).length;
        out(`== Inventory ==\n${identities.length} identities: ${attached} attached, ${withRoles} holding role assignments, `);
        out(`${identities.reduce((sum, identity) => sum + identity.federatedCredentials.length, 0)} federated credentials.\n`);
        out(`Full inventory: npx uami-guard inventory --estate ${estate} --policy ${demoPolicy} --output table|json|csv\n`);
        out(`Ticket-ready report: npx uami-guard sweep --estate ${estate} --policy ${demoPolicy} --output markdown\n`);
        out(`Access-review page: npx uami-guard report --estate ${estate} --policy ${demoPolicy} --out report.html\n`);
      });
    });

  return cli;
}

/**
 * One journal (docs/guarantees.md "Restore is never enforced against"): with --state the journal is the state's table,
 * which the event path reads to approve a restore's own writes; a --journal file beside it would be a second
 * journal that approval never sees. So the two are not given together.
 */
function oneJournal(options: { journal?: unknown; state?: unknown }): void {
  if (options.journal === undefined || options.state === undefined) return;
  throw new InputError("--journal with --state: give one; with --state the journal is the table uamiguardjournal of that storage (restore reads it with --run), and a --journal file would be a journal the event path never sees");
}

interface SweepCommandOptions extends AzFlags {
  enforce?: boolean;
  dryRun?: boolean;
  dryrun?: boolean;
  yes?: boolean;
  journal?: string;
  saveEstate?: string;
  notify?: boolean;
  state?: string;
  capture?: string;
  estate?: string;
  policy?: string;
  subscription?: string[];
  failOn?: Severity;
}

function replayOutput(report: ReplayReport): CommandOutput {
  const { events } = report;
  const summary = `${events.received} events: ${events.processed} processed, ${events.duplicate} duplicate, ${events.ignored} ignored, ${events.malformed} malformed, ${events.failed} failed\n`;
  return { ...reportOutput(report), table: (layout) => `${renderReport(report, "table", layout)}${summary}` };
}

function describeDispatch(result: DispatchResult): string {
  const sinks = Object.entries(result.delivered).map(([sink, count]) => `${sink} ${count} sent${result.pending[sink as keyof typeof result.pending] ? `, ${result.pending[sink as keyof typeof result.pending]} pending` : ""}`);
  return `notifications: ${sinks.length > 0 ? sinks.join("; ") : "nothing to send"}${result.errors.length > 0 ? ` (${result.errors.join("; ")})` : ""}`;
}

/**
 * docs/guarantees.md "Exit codes": a run in which any action failed or stayed unknown exits 1 (after its report),
 * before the findings' exit 3: a CI gate must not read a failed cleanup as success.
 */
function actionsFailed(report: RunReport): boolean {
  return report.actions.some((action) => action.status === "failed" || action.status === "unknown");
}

/**
 * `uami-guard … | head`: when the reader has gone (EPIPE), what is left of the result has nowhere to go,
 * and that is not a failure of the run: it finishes its work (a cleanup, the finding state) quietly and
 * keeps its own exit code. Any other write error of the result is one line and exit 1.
 */
function endQuietlyOnClosedPipe(): void {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE" || error.code === "ERR_STREAM_DESTROYED") return;
    process.stderr.write(`uami-guard: cannot write the result: ${error.message}\n`);
    process.exitCode = EXIT.internal;
  });
  process.stderr.on("error", () => undefined);
}

/** Runs the CLI; sets process.exitCode (0 ok, 1 internal, 2 bad input, 3 findings at --fail-on). */
export async function main(argv: string[]): Promise<void> {
  endQuietlyOnClosedPipe();
  try {
    await program().parseAsync(argv);
  } catch (error) {
    process.exitCode = exitCodeFor(error);
    // The refusal aborted the calls in flight, and the SDK's Node HTTP client keeps each one's timeout timer (30 s)
    // when a request is aborted before its answer (Azure/azure-sdk-for-js#32891): nothing is left to finish, so leave.
    if (error instanceof ReportTooLarge) process.exit();
  }
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander already printed its one-line message (unknown option, missing argument, ...).
    return error.exitCode === 0 ? EXIT.ok : EXIT.input;
  }
  if (error instanceof InputError) {
    process.stderr.write(`${paint(`uami-guard: ${error.message}`, "red", colourWanted(process.stderr))}\n`);
    return EXIT.input;
  }
  const hint = signInHint(error);
  if (hint) {
    process.stderr.write(`uami-guard: no Azure credential worked: ${firstLine(errorMessage(error))}. ${hint}\n`);
    return EXIT.internal;
  }
  if (error instanceof ReportTooLarge) {
    process.stderr.write(`uami-guard: ${error.message}; narrow it with --subscription, or run with more heap (NODE_OPTIONS=--max-old-space-size=<MB>: the limit follows it unless --max-identities sets it)\n`);
    return EXIT.internal;
  }
  if (error instanceof ServiceCallFailed) {
    process.stderr.write(`uami-guard: ${error.message}\n`);
    return EXIT.internal;
  }
  process.stderr.write(`uami-guard: internal error: ${errorMessage(error)}\n`);
  if ((process.env["UAMI_GUARD_DEBUG"] || process.argv.includes("--debug")) && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return EXIT.internal;
}

function firstLine(text: string): string {
  return (text.split("\n")[0] ?? text).slice(0, 300);
}

const SIGN_IN =
  "Sign in with `az login` (then `az account show` names the tenant), or use workload identity (AZURE_CLIENT_ID, " +
  "AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE) or a service principal (AZURE_CLIENT_ID, AZURE_TENANT_ID, " +
  "AZURE_CLIENT_SECRET); in the Function App, AZURE_CLIENT_ID names the app's own identity. To try it without Azure: --estate FILE";

/**
 * @azure/identity's errors when no credential in the chain could get a token (CredentialUnavailableError,
 * AggregateAuthenticationError, AuthenticationRequiredError; sdk/identity/identity/src/errors.ts),
 * also after an adapter wrapped them, and an ARM/Graph 401.
 */
export function signInHint(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 5; current = (current as { cause?: unknown }).cause, depth += 1) {
    const name = (current as { name?: unknown }).name;
    if (typeof name === "string" && /^(CredentialUnavailableError|AggregateAuthenticationError|AuthenticationRequiredError|AuthenticationError)$/.test(name)) return SIGN_IN;
    if (current instanceof ServiceCallFailed && current.statusCode === 401) return SIGN_IN;
    const message = current instanceof Error ? current.message : "";
    if (/CredentialUnavailableError|AggregateAuthenticationError|DefaultAzureCredential failed|ChainedTokenCredential authentication failed|Please run 'az login'/i.test(message)) return SIGN_IN;
  }
  return undefined;
}
