import { once } from "node:events";
import { accessSync, constants, createWriteStream, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { loadPolicy } from "../shared/config/policy.js";
import { collectReport } from "../shared/engine/report.js";
import { findingStateStore } from "../shared/composition.js";
import { InputError } from "../shared/errors.js";
import { renderReportHtml } from "../shared/report/html.js";
import { gathered, jsonParts } from "../shared/report/json.js";
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
  // The JSON is written a piece at a time: the whole text of a large model would be hundreds of megabytes.
  const parts = options.output === "json" ? jsonLines(model) : [await renderReportHtml(model)];
  const size = await writeParts(parts, options.out);
  if (!options.out) return;
  run.progress.note(
    `report: ${options.out} (${model.summary.identities} identities, ${model.summary.findings} findings, ${(size / 1_048_576).toFixed(2)} MB)`,
  );
}

function* jsonLines(model: object): Generator<string> {
  yield* jsonParts(model, 2);
  yield "\n";
}

/** Pieces gathered to at least this many characters a write. */
const WRITE_CHUNK = 64 * 1024;

/** Writes the pieces to the file (or stdout), waiting for each write to drain; returns the bytes written. */
async function writeParts(parts: Iterable<string>, out: string | undefined): Promise<number> {
  const stream = out ? createWriteStream(out) : process.stdout;
  const failed = new Promise<never>((_, reject) => stream.once("error", reject));
  failed.catch(() => undefined);
  // stdout's reader may have gone (EPIPE): main.ts ends quietly then, so the rest has nowhere to go.
  const gone = out ? new Promise<void>(() => undefined) : once(stream, "close").then(() => undefined);
  let bytes = 0;
  for (const batch of gathered(parts, WRITE_CHUNK)) {
    bytes += Buffer.byteLength(batch);
    if (!stream.write(batch)) await Promise.race([once(stream, "drain"), gone, ...(out ? [failed] : [])]);
    if (!out && stream.destroyed) return bytes;
  }
  if (out) await Promise.race([new Promise<void>((resolve) => stream.end(resolve)), failed]);
  return bytes;
}
