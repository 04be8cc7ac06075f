import { describeDeath } from "./job.js";
import type { BenchResults } from "./results.js";

/** The stdout table of `npm run bench` (markdown, so it pastes into the README as is). */

const int = (value: number): string => Math.round(value).toLocaleString("en-US");
const fixed = (value: number, digits = 2): string => value.toFixed(digits);
const mb = (bytes: number): string => int(bytes / 2 ** 20);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: string[]): string => `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(" | ")} |`;
  return [line(header), `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

export function renderTable(results: BenchResults): string {
  const out: string[] = [];
  const { machine } = results;
  out.push(`uami-guard bench — ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}, ${machine.platform}`);
  out.push("");
  if (results.sizes.length > 0) {
    out.push("Sweep without quota (emulator in its own process; medians where repeated)");
    out.push(
      table(
        ["assignments", "runs", "RG requests / floor", "Graph requests / floor", "other", "wall s", "emulator CPU s (share)", "emulator RG ms", "assignments/s", "rows/s", "peak RSS MB", "findings", "rules M asg/s"],
        results.sizes.map((size) => [
          int(size.size),
          String(size.sweep.runs.length),
          `${size.sweep.requests.resourceGraph} / ${size.floor.resourceGraph} (${fixed(size.sweep.ratio.resourceGraph)})`,
          `${size.sweep.requests.graph} / ${size.floor.graph} (${fixed(size.sweep.ratio.graph)})`,
          String(size.sweep.requests.arm + size.sweep.requests.other),
          fixed(size.sweep.wallMs / 1000),
          size.sweep.emulator ? `${fixed(size.sweep.emulator.cpuMs / 1000)} (${fixed(size.sweep.emulator.share * 100, 0)} %)` : "-",
          size.sweep.emulator ? int(size.sweep.emulator.busyMsByService["resourceGraph"] ?? 0) : "-",
          int(size.sweep.roleAssignmentsPerSecond),
          int(size.sweep.rowsPerSecond),
          mb(size.sweep.maxRssBytes),
          int(size.sweep.runs[0]?.findings ?? 0),
          size.rules ? fixed(size.rules.assignmentsPerSecond / 1e6) : "-",
        ]),
      ),
    );
    out.push("");
    const quotas = results.sizes.filter((size) => size.quota);
    if (quotas.length > 0) {
      out.push("Sweep with the emulator enforcing the Resource Graph quota");
      out.push(
        table(
          ["assignments", "quota", "RG requests", "quota floor s", "wall s", "wall / floor", "429s", "windows (min)", "underfilled", "reopen ms", "tail s"],
          quotas.map((size) => {
            const quota = size.quota;
            if (!quota) return [];
            return [
              int(size.size),
              `${quota.requests} / ${quota.windowSeconds} s`,
              String(quota.resourceGraphRequests),
              fixed(quota.floorMs / 1000),
              fixed(quota.run.wallMs / 1000),
              fixed(quota.ratio, 3),
              String(quota.throttled),
              `${quota.pacing.windows} (${quota.pacing.minimumWindows})`,
              String(quota.pacing.underfilledWindows),
              fixed(quota.pacing.meanReopenMs, 1),
              fixed(quota.pacing.tailMs / 1000),
            ];
          }),
        ),
      );
      out.push("");
    }
  }
  const jobs = results.sizes.filter((size) => size.job);
  if (jobs.length > 0) {
    out.push("Sweep job (sweep + finding lifecycle + run commit; a fresh process per run, state in files): a tenant's first run, then the next");
    out.push(
      table(
        ["assignments", "run", "wall s", "CPU s", "peak RSS MB", "findings", "records read", "opened / resolved / changed", "records written (with snapshot)", "state MB written", "outbox entries", "Table writes", "sent / pending", "requests"],
        jobs.flatMap((size) =>
          (size.job?.runs ?? []).map((run) => {
            const done = run.result;
            if (!done) return [int(size.size), run.run, run.died ? describeDeath(run.died) : "did not run", ...Array<string>(11).fill("-")];
            const { lifecycle, notifications } = done;
            return [
              int(size.size),
              run.run,
              fixed(done.wallMs / 1000),
              fixed((done.cpuUserMs + done.cpuSystemMs) / 1000),
              mb(done.maxRssBytes),
              int(done.findings),
              int(done.recordsRead),
              `${int(lifecycle.opened)} / ${int(lifecycle.resolved)} / ${int(lifecycle.changed)}`,
              `${int(done.recordsWritten)} (${int(done.snapshotsWritten)})`,
              fixed(done.stateBytesWritten / 2 ** 20),
              int(done.outboxWritten),
              int(done.tableWrites.findings + done.tableWrites.outbox + done.tableWrites.others),
              notifications ? `${int(notifications.delivered)} / ${int(notifications.pending)}` : "-",
              run.requests ? int(run.requests.total) : "-",
            ];
          }),
        ),
      ),
    );
    out.push("");
  }
  const exposed = results.sizes.filter((size) => size.exposure);
  if (exposed.length > 0) {
    out.push("Sweep with and without privileged-identity-exposed (interleaved pairs; medians)");
    out.push(
      table(
        ["assignments", "pairs", "without s", "with s", "with / without", "requests without", "requests with", "peak RSS MB without / with", "exposure findings"],
        exposed.map((size) => {
          const exposure = size.exposure;
          if (!exposure) return [];
          const findings = exposure.runs.find((run) => run.exposure)?.exposureFindings;
          return [
            int(size.size),
            String(exposure.pairs),
            fixed(exposure.withoutMs / 1000),
            fixed(exposure.withMs / 1000),
            fixed(exposure.ratio, 3),
            int(exposure.requestsWithout),
            int(exposure.requestsWith),
            `${mb(exposure.withoutRssBytes)} / ${mb(exposure.withRssBytes)}`,
            findings === undefined ? "-" : int(findings),
          ];
        }),
      ),
    );
    out.push("");
  }
  const fic = results.fic;
  if (fic) {
    out.push(`Federated credentials through ARM (one list per identity), emulator enforcing the read bucket ${fic.bucket.capacity} + ${fic.bucket.refillPerSecond}/s per subscription`);
    out.push(
      table(
        ["identities", "subscriptions", "credentials", "ARM requests", "list calls", "429s", "failed", "floor s", "wall s", "wall / floor", "CPU ms / call client / emulator"],
        [
          [
            int(fic.identities),
            String(fic.subscriptions),
            int(fic.credentials),
            int(fic.requests),
            int(fic.listRequests),
            String(fic.throttled),
            String(fic.failed),
            fixed(fic.floorMs / 1000),
            fixed(fic.wallMs / 1000),
            fixed(fic.ratio, 3),
            `${fixed(fic.cpuPerCallMs.client, 3)} / ${fixed(fic.cpuPerCallMs.emulator, 3)}`,
          ],
        ],
      ),
    );
    out.push("");
  }
  const events = results.events;
  if (events) {
    out.push(`Event path: uami-guard serve (emulator in-process) + Azurite dedupe, ${int(events.single.events)} events (${events.single.mix.vmWrite} VM writes, ${events.single.mix.roleAssignmentWrite} role-assignment writes, ${events.single.mix.irrelevant} irrelevant, ${events.single.mix.duplicate} duplicates)`);
    out.push(
      table(
        ["delivery", "in flight", "requests", "events/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "statuses", "CPU s serve / Azurite / client"],
        [events.unloaded, ...events.curve, events.single, events.batched].map((phase) => [
          phase.batchSize === 1 ? "1 event / request" : `${phase.batchSize} events / request`,
          String(phase.concurrency),
          int(phase.requests),
          int(phase.eventsPerSecond),
          fixed(phase.p50Ms, 1),
          fixed(phase.p90Ms, 1),
          fixed(phase.p99Ms, 1),
          fixed(phase.maxMs, 1),
          Object.entries(phase.statuses).map(([status, count]) => `${status}×${count}`).join(" "),
          phase.cpuSeconds.serve === null ? "-" : `${fixed(phase.cpuSeconds.serve, 1)} / ${fixed(phase.cpuSeconds.azurite ?? 0, 1)} / ${fixed(phase.cpuSeconds.client, 1)}`,
        ]),
      ),
    );
    out.push(`serve peak RSS ${events.serveMaxRssBytes === null ? "n/a" : `${mb(events.serveMaxRssBytes)} MB`}; latency per request, client-side, send to complete response`);
    out.push("");
  }
  out.push("Targets");
  out.push(table(["", "target", "measured", "met"], results.targets.map((target) => [target.what, target.target, target.measured, target.met ? "yes" : "NO"])));
  return `${out.join("\n")}\n`;
}
