import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cruise, type ICruiseResult, type IForbiddenRuleType } from "dependency-cruiser";
import extractTSConfig from "dependency-cruiser/config-utl/extract-ts-config";
import { ROOT, sources } from "../helpers/sources.js";

/**
 * ARCHITECTURE.md's import table, enforced: .dependency-cruiser.cjs holds one rule per row (and no-circular),
 * and dependency-cruiser reads every import — type-only (tsPreCompilationDeps) and side-effect ones included.
 */
const config = createRequire(import.meta.url)(join(ROOT, ".dependency-cruiser.cjs")) as { forbidden: IForbiddenRuleType[]; options: Record<string, unknown> };
let result: ICruiseResult;

beforeAll(async () => {
  const cwd = process.cwd();
  process.chdir(ROOT);
  try {
    const reporting = await cruise(["shared", "functions", "cli", "local", "tools", "bench", "test"], { ...config.options, ruleSet: { forbidden: config.forbidden }, validate: true }, undefined, {
      tsConfig: extractTSConfig(join(ROOT, "tsconfig.json")),
    });
    result = reporting.output as ICruiseResult;
  } finally {
    process.chdir(cwd);
  }
}, 120_000);

describe("layering (dependency-cruiser over the import table of ARCHITECTURE.md)", () => {
  it("no import breaks a row of the table, and there is no import cycle", () => {
    expect(result.summary.totalCruised).toBeGreaterThan(200);
    expect(result.summary.violations.map((violation) => `${violation.rule.name}: ${violation.from} → ${violation.to}`)).toEqual([]);
  });

  it("sees side-effect and type-only imports", () => {
    const entry = result.modules.find((module) => module.source === "functions/index.ts");
    expect(entry?.dependencies.map((dependency) => dependency.resolved)).toContain("functions/telemetry.ts");
    const types = result.modules.find((module) => module.source === "shared/rules/types.ts");
    expect(types?.dependencies.some((dependency) => dependency.resolved === "shared/config/policyCore.ts" && dependency.dependencyTypes.includes("type-only"))).toBe(true);
  });

  it("the Function App's entry reaches no package but @azure/functions before a function runs (what it reaches without import())", () => {
    const bySource = new Map(result.modules.map((module) => [module.source, module]));
    const reached = new Set<string>();
    const queue = ["functions/index.ts"];
    for (let source = queue.pop(); source !== undefined; source = queue.pop()) {
      if (reached.has(source)) continue;
      reached.add(source);
      for (const dependency of bySource.get(source)?.dependencies ?? []) {
        const loadedLater = dependency.dependencyTypes.some((type) => ["dynamic-import", "type-only", "type-import"].includes(type));
        if (!loadedLater && !dependency.coreModule) queue.push(dependency.resolved);
      }
    }
    const packages = [...reached].filter((source) => source.startsWith("node_modules/")).map((source) => /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source)?.[1]);
    expect(new Set(packages)).toEqual(new Set(["@azure/functions"]));
    expect([...reached].filter((source) => !source.startsWith("node_modules/")).sort()).toEqual(["functions/index.ts", "functions/telemetry.ts", "shared/cleanupQueue.ts", "shared/errors.ts", "shared/telemetry.ts"]);
  });

  it("has a rule for every row of the table that restricts imports", () => {
    const architecture = readFileSync(join(ROOT, "ARCHITECTURE.md"), "utf8");
    const table = architecture.slice(architecture.indexOf("## Folder map and what each may import"), architecture.indexOf("\n## ", architecture.indexOf("## Folder map") + 5));
    const rows = [...table.matchAll(/^\| `([^`]+)` \|[^|]*\| ([^|]*) \|$/gm)].map((match) => ({ folder: match[1] ?? "", may: match[2] ?? "" }));
    expect(rows.length).toBeGreaterThan(10);
    for (const { folder, may } of rows) {
      if (/^(everything|—)$/.test(may.trim()) || folder === "infra/") continue;
      const sample = folder.endsWith("/") ? sources(folder.replace(/\/$/, ""))[0] : folder.replace("*.ts", "model.ts");
      expect(sample, folder).toBeDefined();
      const covered = config.forbidden.some((rule) => {
        const from = rule.from as { path?: string; pathNot?: string };
        return (from.path === undefined || new RegExp(from.path).test(sample ?? "")) && (from.pathNot === undefined || !new RegExp(from.pathNot).test(sample ?? "")) && rule.name !== "no-circular";
      });
      expect(covered, `a rule for the row ${folder}`).toBe(true);
    }
  });

  it("fails a planted import of cli/ or of an SDK from a rule file (static, type-only, side-effect and dynamic alike)", async () => {
    const violations = await cruisePlanted({
      "cli/main.ts": 'import { render } from "./output.js";\nexport let lazy: typeof import("./runtime.js").run;\nexport const main = render;\n',
      "cli/output.ts": "export const render = 1;\n",
      "cli/runtime.ts": "export const run = 1;\n",
      "shared/model.ts": "export type Id = string;\n",
      "shared/rules/planted-static.ts": 'import { main } from "../../cli/main.js";\nexport const planted = main;\n',
      "shared/rules/planted-type.ts": 'import type { main } from "../../cli/main.js";\nexport type Planted = typeof main;\n',
      "shared/rules/planted-side-effect.ts": 'import "../../cli/main.js";\n',
      "shared/rules/planted-dynamic.ts": 'export const load = () => import("../../cli/main.js");\n',
      "shared/rules/planted-sdk.ts": 'import { ManagedServiceIdentityClient } from "@azure/arm-msi";\nexport const client = ManagedServiceIdentityClient;\n',
      "shared/rules/clean.ts": 'import type { Id } from "../model.js";\nexport const id: Id = "x";\n',
      "shared/azure/telemetry.ts": "export const startTelemetry = 1;\n",
      "cli/static-telemetry.ts": 'import { startTelemetry } from "../shared/azure/telemetry.js";\nexport const started = startTelemetry;\n',
      "cli/telemetry.ts": 'export const load = () => import("../shared/azure/telemetry.js");\n',
      "functions/index.ts": 'import { app } from "@azure/functions";\nimport "./telemetry.js";\nexport const load = () => import("./sweep.js");\nexport const registered = app;\n',
      "functions/telemetry.ts": 'import { DefaultAzureCredential } from "@azure/identity";\nexport const credential = DefaultAzureCredential;\n',
      "functions/sweep.ts": 'import { ManagedServiceIdentityClient } from "@azure/arm-msi";\nexport const client = ManagedServiceIdentityClient;\n',
    });
    for (const file of ["planted-static", "planted-type", "planted-side-effect", "planted-dynamic"]) {
      expect(violations, file).toContain(`rules-are-pure: shared/rules/${file}.ts → cli/main.ts`);
      expect(violations, file).toContain(`shared-is-not-a-host: shared/rules/${file}.ts → cli/main.ts`);
    }
    expect(violations.filter((line) => line.startsWith("sdk-only-in-adapters: shared/rules/planted-sdk.ts → node_modules/@azure/arm-msi/"))).toHaveLength(1);
    expect(violations.filter((line) => line.includes("clean.ts"))).toEqual([]);
    // The command line loads what a command runs when it runs: a static import from cli/main.ts fails, a type does not.
    expect(violations.filter((line) => line.startsWith("cli-start-up-stays-light"))).toEqual(["cli-start-up-stays-light: cli/main.ts → cli/output.ts"]);
    // The telemetry adapter: import() on demand passes, a static import fails.
    expect(violations.filter((line) => line.startsWith("telemetry-adapter-on-demand"))).toEqual(["telemetry-adapter-on-demand: cli/static-telemetry.ts → shared/azure/telemetry.ts"]);
    // The Function App's entry: an SDK its start loads fails; a trigger's module import()ed on its first invocation does not.
    expect(violations.filter((line) => line.startsWith("functions-entry-stays-light")).map((line) => line.replace(/(@azure\/[a-z-]+)\/.*/, "$1"))).toEqual([
      "functions-entry-stays-light: functions/telemetry.ts → node_modules/@azure/identity",
    ]);
  }, 120_000);

  it("triggers in functions/ stay thin (no file over 120 lines)", () => {
    for (const file of sources("functions")) {
      const lines = readFileSync(join(ROOT, file), "utf8").split("\n").length;
      expect(lines, file).toBeLessThanOrEqual(120);
    }
  });
});

/** Cruises a small tree of planted files (node_modules linked from the repository) with the repository's rules. */
async function cruisePlanted(files: Record<string, string>): Promise<string[]> {
  const root = mkdtempSync(join(tmpdir(), "uami-guard-layering-"));
  const cwd = process.cwd();
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"), "dir");
    writeFileSync(join(root, "tsconfig.json"), readFileSync(join(ROOT, "tsconfig.json")));
    process.chdir(root);
    const reporting = await cruise(["shared", "cli", "functions"], { ...config.options, preserveSymlinks: true, ruleSet: { forbidden: config.forbidden }, validate: true }, undefined, {
      tsConfig: extractTSConfig(join(root, "tsconfig.json")),
    });
    const planted = reporting.output as ICruiseResult;
    return planted.summary.violations.map((violation) => `${violation.rule.name}: ${violation.from} → ${violation.to}`);
  } finally {
    process.chdir(cwd);
    rmSync(root, { recursive: true, force: true });
  }
}
