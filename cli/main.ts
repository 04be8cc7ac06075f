import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, CommanderError, Option } from "commander";
import { collectInventory } from "../shared/engine/inventory.js";
import { InputError, ServiceCallFailed, errorMessage } from "../shared/errors.js";
import { renderInventory, type InventoryFormat } from "./inventoryOutput.js";
import { withRun } from "./runtime.js";

export const EXIT = { ok: 0, internal: 1, input: 2, findings: 3 } as const;

/** The embedded demo estate (local/demo/estate.json), found from source or from dist/. */
export const DEMO_ESTATE = findUpward(dirname(fileURLToPath(import.meta.url)), join("local", "demo", "estate.json"));

function findUpward(start: string, relative: string): string {
  for (let directory = start; ; directory = dirname(directory)) {
    const candidate = join(directory, relative);
    if (existsSync(candidate) || dirname(directory) === directory) return candidate;
  }
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
    .addOption(new Option("--output <format>", "output format").choices(["json", "table", "csv"]).default("table"))
    .action(async (options: { estate?: string; subscription?: string[]; output: InventoryFormat }) => {
      await withRun(options, async (run) => {
        const inventory = await collectInventory(run.clients, {
          subscriptions: run.subscriptions,
          onPage: (query, rows) => run.progress.page(query, rows),
        });
        run.progress.clear();
        process.stdout.write(renderInventory(inventory, options.output));
      });
    });

  cli
    .command("demo")
    .description("Run against the embedded demo estate (what `npm start` does)")
    .action(async () => {
      await withRun({ estate: DEMO_ESTATE }, async (run) => {
        const inventory = await collectInventory(run.clients, { onPage: (query, rows) => run.progress.page(query, rows) });
        run.progress.clear();
        process.stdout.write(`uami-guard demo — inventory of the embedded demo estate (${DEMO_ESTATE})\n\n`);
        process.stdout.write(renderInventory(inventory, "table"));
      });
    });

  return cli;
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
