import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { QUERIES } from "../shared/azure/queries.js";
import { signInQuery } from "../shared/azure/signIns.js";
import { compileQuery, LOG_ANALYTICS, RESOURCE_GRAPH } from "../local/emulator/kql/index.js";

/**
 * Compiles the product's queries once before the test files start, so the emulator's plan cache
 * (local/emulator/kql/planCache.ts) has them: each test file and CLI child then answers without
 * loading the Kusto language service. Both the sources (vitest) and the build (the CLI tests run
 * dist/) are warmed; their plans are keyed apart.
 */
export default async function setup(): Promise<void> {
  const resourceGraph = Object.values(QUERIES);
  const logAnalytics = [signInQuery(90), signInQuery(30)];
  const warm = (compile: typeof compileQuery, rg: typeof RESOURCE_GRAPH, la: typeof LOG_ANALYTICS): void => {
    for (const query of resourceGraph) compile(query, rg);
    for (const query of logAnalytics) compile(query, la);
  };
  warm(compileQuery, RESOURCE_GRAPH, LOG_ANALYTICS);
  const built = fileURLToPath(new URL("../dist/local/emulator/kql/index.js", import.meta.url));
  if (existsSync(built)) {
    const dist = (await import(pathToFileURL(built).href)) as typeof import("../local/emulator/kql/index.js");
    warm(dist.compileQuery, dist.RESOURCE_GRAPH, dist.LOG_ANALYTICS);
  }
}
