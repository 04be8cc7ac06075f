import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { neverLoaded, packageApp, packageOf, workerEntriesOf, type AppPackage } from "../../tools/packageApp.js";
import { ROOT } from "../helpers/sources.js";

/** `npm run package` (tools/packageApp.ts) stages what the Function App runs, from the compiled entry (npm test builds first). */
const directory = mkdtempSync(join(tmpdir(), "uami-guard-package-"));
let staged: AppPackage;

beforeAll(async () => {
  staged = await packageApp({ directory, install: false });
}, 120_000);
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe("the Function App's deployment package", () => {
  it("holds the entry, every function, and nothing of the CLI, the emulator, the bench or the tools", () => {
    expect(staged.modules).toContain("dist/functions/index.js");
    const functions = readdirSync(join(ROOT, "functions")).filter((file) => file.endsWith(".ts")).map((file) => `dist/functions/${file.replace(/\.ts$/, ".js")}`);
    for (const module of functions) expect(staged.modules, module).toContain(module);
    expect(staged.modules.filter((module) => !/^dist\/(functions|shared)\//.test(module))).toEqual([]);
    // The telemetry adapter is imported on demand, and ships.
    expect(staged.modules).toContain("dist/shared/azure/telemetry.js");
    // A worker thread's entry is named by a URL, not imported: it ships, and what it imports too.
    expect(staged.modules).toContain("dist/shared/azure/federatedCredentialsWorker.js");
    expect(workerEntriesOf("dist/shared/azure/a.js", `new Worker(new URL("./b.js", import.meta.url)); new URL("../c/d.js", import.meta.url)`)).toEqual(["dist/shared/azure/b.js", "dist/shared/c/d.js"]);
    expect(existsSync(join(directory, "host.json"))).toBe(true);
  });

  it("depends on the runtime packages only, with package.json's ranges", () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    for (const cliOnly of ["commander", "jmespath", "yaml", "cli-progress", "azurite", "selfsigned", "@kusto/language-service-next", "puppeteer-core", "dependency-cruiser", "typescript"]) {
      expect(staged.dependencies, cliOnly).not.toHaveProperty(cliOnly);
    }
    for (const runtime of ["@azure/functions", "@azure/identity", "@azure/data-tables", "applicationinsights", "zod", "croner"]) expect(staged.dependencies).toHaveProperty(runtime);
    for (const [name, range] of Object.entries(staged.dependencies)) expect(range, name).toBe(manifest.dependencies[name]);
    const written = JSON.parse(readFileSync(join(directory, "package.json"), "utf8")) as { main: string; dependencies: Record<string, string>; devDependencies?: unknown; scripts?: unknown };
    expect(written.main).toBe("dist/functions/index.js");
    expect(written.dependencies).toEqual(staged.dependencies);
    expect(written.devDependencies).toBeUndefined();
    expect(written.scripts).toBeUndefined();
  });

  it("keeps node_modules for azd (its .funcignore does not exclude it), as azure.yaml says", () => {
    expect(readFileSync(join(directory, ".funcignore"), "utf8")).not.toMatch(/^node_modules/m);
    const api = /^services:\n {2}api:\n((?: {4}.*\n)+)/m.exec(readFileSync(join(ROOT, "azure.yaml"), "utf8"))?.[1] ?? "";
    expect(api).toMatch(/^ {4}dist: \.deploy$/m);
    expect(api).toMatch(/^ {4}remoteBuild: false$/m);
  });

  it("prunes only what Node never loads", () => {
    expect(packageOf("node_modules/@azure/identity/dist/esm/index.js")).toBe("@azure/identity");
    expect(packageOf("node_modules/zod/v4/index.js")).toBe("zod");
    expect(packageOf("dist/shared/model.js")).toBeUndefined();
    for (const path of ["node_modules/zod/index.d.ts", "node_modules/a/b.js.map", "node_modules/a/README.md", "node_modules/@azure/x/dist/browser", "node_modules/@opentelemetry/x/build/esnext"]) expect(neverLoaded(path), path).toBe(true);
    for (const path of ["node_modules/zod/index.js", "node_modules/a/LICENSE.md", "node_modules/@opentelemetry/x/build/src", "node_modules/a/package.json", "node_modules/a/dist/commonjs"]) expect(neverLoaded(path), path).toBe(false);
  });
});
