import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { createAzureClients } from "../shared/azure/clients.js";
import { TABLES, sinkEndpointsFor } from "../shared/composition.js";
import { defaultPolicy } from "../shared/config/policy.js";
import { runSweepJob } from "../shared/engine/sweepJob.js";
import { Notifier } from "../shared/notify/notifier.js";
import { configuredSinks } from "../shared/notify/sinks.js";
import { AttachmentBaselineStore, DeliveryRecordStore, GradedIdentityStore, IdentityCatalogStore } from "../shared/state/eventStores.js";
import { SelfRoleAssignmentStore } from "../shared/state/selfRoleAssignments.js";
import { NdjsonFindingStateStore, NdjsonOutbox } from "./fileStores.js";
import { NdjsonTable } from "./fileTable.js";
import type { SweepChildResult } from "./sweepChild.js";
import { measuring, type ChildMeasure } from "./childMeasure.js";

/**
 * One run of the sweep job — what the timer Function and `uami-guard sweep` run: the sweep, the finding lifecycle and
 * the run commit — in a fresh process, as each timer run is. Its finding state and outbox are files in
 * UAMI_BENCH_STATE (bench/fileStores.ts), so the next child reads what this one committed: the first run of a tenant
 * finds every finding new, the next sees each again. Input: env UAMI_BENCH_TARGET = {"url","ca"}, UAMI_BENCH_STATE =
 * a directory. Output: one JSON line on stdout.
 *
 * The stores are the app's (composition.ts sweepJobStores), on the same tables, but the finding state is a double of
 * its own (its partition is too big to replay) and the others run on file-backed doubles of their TableClient. No
 * cleanup: under the default policy no rule is in enforce mode.
 *
 * Its result: the sweep child's measures (bench/sweepChild.ts), of the whole job, and what the job wrote.
 */
export interface SweepJobChildResult
  extends ChildMeasure,
    Pick<SweepChildResult, "roleAssignments" | "findings"> {
  incomplete: number;
  /** Finding records the run read from the state (every partition it read). */
  recordsRead: number;
  lifecycle: { opened: number; resolved: number; changed: number };
  /** Finding records the run wrote (every partition). */
  recordsWritten: number;
  /** Of those, the ones written with their snapshot (new or changed findings, and those stored without a hash). */
  snapshotsWritten: number;
  /** Bytes of finding state written (each record and snapshot as JSON): about what its transactions carry. */
  stateBytesWritten: number;
  outboxWritten: number;
  /**
   * Writes Table storage would have taken, one after another: finding-state transactions (100 records each) and
   * outbox ones (transactions of 100 entries, claims, deletes), and the others' (baseline, catalog, graded identities,
   * the app's own role assignments). The doubles have no latency: multiply by Table's.
   */
  tableWrites: { findings: number; outbox: number; others: number };
  notifications: { delivered: number; pending: number; errors: number } | null;
  /** The state directory's size after the run. */
  stateBytes: number;
}

function sizeOf(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

async function main(): Promise<void> {
  const raw = process.env["UAMI_BENCH_TARGET"];
  const stateDir = process.env["UAMI_BENCH_STATE"];
  if (!raw) throw new Error("UAMI_BENCH_TARGET is not set");
  if (!stateDir) throw new Error("UAMI_BENCH_STATE is not set");
  const target = JSON.parse(raw) as { url: string; ca: string };
  const clients = createAzureClients({ kind: "emulator", url: target.url, ca: target.ca });
  const findings = new NdjsonFindingStateStore(stateDir);
  const outbox = new NdjsonOutbox(stateDir);
  const tables = { baseline: new NdjsonTable(stateDir, TABLES.baseline), identities: new NdjsonTable(stateDir, TABLES.identities), dedupe: new NdjsonTable(stateDir, TABLES.dedupe) };
  // As composition.ts eventDependencies builds them: graded identities and the app's own assignments share the identities table.
  const stores = {
    findings,
    baseline: new AttachmentBaselineStore(tables.baseline.client()),
    catalog: new IdentityCatalogStore(tables.identities.client()),
    graded: new GradedIdentityStore(tables.identities.client()),
    selfAssignments: new SelfRoleAssignmentStore(tables.identities.client()),
    dedupe: new DeliveryRecordStore(tables.dedupe.client()),
  };
  // The sinks the app builds for this target (composition.ts notifierFor): Teams, Sentinel and Event Grid, at the emulator.
  const notifier = new Notifier(configuredSinks(clients, sinkEndpointsFor(clients.origin)), outbox);
  const clock = measuring();
  const job = await runSweepJob(clients, defaultPolicy(), { ...stores, notifier });
  clock.stop();
  const sum = (counts: Partial<Record<string, number>>): number => Object.values(counts).reduce<number>((total, value) => total + (value ?? 0), 0);
  const result: SweepJobChildResult = {
    ...clock.result(),
    roleAssignments: job.report.summary.roleAssignments,
    findings: job.report.summary.findings,
    incomplete: job.report.incomplete.length,
    recordsRead: findings.recordsRead,
    lifecycle: { opened: job.lifecycle.opened.length, resolved: job.lifecycle.resolved.length, changed: job.lifecycle.changed.length },
    recordsWritten: findings.written,
    snapshotsWritten: findings.snapshotsWritten,
    stateBytesWritten: findings.bytesWritten,
    outboxWritten: outbox.written,
    tableWrites: { findings: findings.transactions, outbox: outbox.tableWrites, others: tables.baseline.writes + tables.identities.writes + tables.dedupe.writes },
    notifications: job.notifications ? { delivered: sum(job.notifications.delivered), pending: sum(job.notifications.pending), errors: job.notifications.errors.length } : null,
    stateBytes: sizeOf(stateDir),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().then(
  // Keep-alive sockets would hold the process open: the result is out, leave.
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`sweep job child: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
