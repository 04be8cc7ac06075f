import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

/**
 * Sums a V8 `.cpuprofile` (from `--cpu-prof`) by self time: per package or file, and per function.
 * Inclusive times are not shown: across `await` a stack ends at the microtask queue, so they mislead.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** `node_modules/<package>` or the path under the repository's `dist/`; V8's own entries (GC, idle) by name. */
function placeOf(url: string, functionName: string): string {
  if (!url) return functionName;
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules?.[1]) return modules[1];
  return url.replace(/^.*\/dist\//, "").replace(/^file:\/\//, "");
}

export function summarize(profile: CpuProfile, lastSeconds?: number): { seconds: number; byPlace: Map<string, number>; byFunction: Map<string, number> } {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const from = lastSeconds ? profile.endTime - lastSeconds * 1e6 : -Infinity;
  const interval = (profile.endTime - profile.startTime) / Math.max(1, profile.samples.length) / 1e6;
  const byPlace = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let at = profile.startTime;
  let seconds = 0;
  profile.samples.forEach((id, index) => {
    at += profile.timeDeltas[index] ?? 0;
    const node = nodes.get(id);
    if (at < from || !node) return;
    const { functionName, url, lineNumber } = node.callFrame;
    const place = placeOf(url, functionName || "(anonymous)");
    byPlace.set(place, (byPlace.get(place) ?? 0) + interval);
    const name = `${functionName || "(anonymous)"} ${url ? `${place}:${lineNumber + 1}` : ""}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + interval);
    seconds += interval;
  });
  return { seconds, byPlace, byFunction };
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { last: { type: "string" }, top: { type: "string", default: "30" } } });
  const [file] = positionals;
  if (!file) {
    process.stderr.write("usage: node dist/bench/profileSummary.js FILE.cpuprofile [--last SECONDS] [--top N]\n");
    process.exit(2);
  }
  const { seconds, byPlace, byFunction } = summarize(JSON.parse(readFileSync(file, "utf8")) as CpuProfile, values.last ? Number(values.last) : undefined);
  const top = Number(values.top);
  const table = (title: string, totals: Map<string, number>): string =>
    `${title}\n${[...totals].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, s]) => `${s.toFixed(2).padStart(8)} s  ${name}`).join("\n")}\n`;
  process.stdout.write(`${seconds.toFixed(1)} s sampled\n${table("self time by package or file", byPlace)}${table("self time by function", byFunction)}`);
}

// Imported by its test: run only as a script.
if (process.argv[1]?.endsWith("profileSummary.js")) main();
