import { accessSync, constants, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { loadPolicy } from "../shared/config/policy.js";
import { collectReport } from "../shared/engine/report.js";
import { findingStateStore } from "../shared/composition.js";
import { InputError } from "../shared/errors.js";
import { renderReportHtml } from "../shared/report/html.js";
import { ruleIds } from "../shared/rules/index.js";
import type { Run } from "./runtime.js";

export type ReportOutput = "html" | "json";

export interface ReportCommandOptions {
  estate?: string;
  policy?: string;
  subscription?: string[];
  state?: string;
  out?: string;
  output: ReportOutput;
  maxIdentities?: number;
}

/** Refuses an --out that cannot be written (a directory, a missing or read-only folder) before any work starts. */
export function checkOutFile(path: string): void {
  const target = resolve(path);
  let existing;
  try {
    existing = statSync(target);
  } catch {
    existing = undefined;
  }
  if (existing?.isDirectory()) throw new InputError(`--out ${path}: is a directory; name a file`);
  const folder = dirname(target);
  let folderStat;
  try {
    folderStat = statSync(folder);
  } catch {
    throw new InputError(`--out ${path}: folder ${folder} does not exist`);
  }
  if (!folderStat.isDirectory()) throw new InputError(`--out ${path}: ${folder} is not a folder`);
  try {
    accessSync(existing ? target : folder, constants.W_OK);
  } catch {
    throw new InputError(`--out ${path}: ${existing ? "the file" : `folder ${folder}`} is not writable`);
  }
}

/** `uami-guard report`: the inventory and a sweep as one self-contained HTML page (or its model as JSON). */
export async function reportCommand(run: Run, options: ReportCommandOptions): Promise<void> {
  const policy = loadPolicy(options.policy ?? run.settings.UAMI_GUARD_POLICY, ruleIds);
  const maxIdentities = options.maxIdentities ?? run.settings.UAMI_GUARD_REPORT_MAX_IDENTITIES;
  const model = await collectReport(run.clients, policy, {
    subscriptions: run.subscriptions,
    onPage: (query, rows) => run.progress.page(query, rows),
    ...(options.state ? { findingState: () => findingStateStore(run.clients) } : {}),
    ...(maxIdentities ? { maxIdentities } : {}),
  });
  run.progress.clear();
  const text = options.output === "json" ? `${JSON.stringify(model, null, 2)}\n` : renderReportHtml(model);
  if (!options.out) {
    process.stdout.write(text);
    return;
  }
  writeFileSync(options.out, text);
  const size = Buffer.byteLength(text);
  run.progress.note(
    `report: ${options.out} (${model.summary.identities} identities, ${model.summary.findings} findings, ${(size / 1_048_576).toFixed(2)} MB)`,
  );
}
