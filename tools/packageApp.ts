import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateRawSync } from "node:zlib";
import { cruise, type ICruiseResult } from "dependency-cruiser";

/**
 * `npm run package`: the Function App's deployment package in `.deploy/`, holding only what the app runs —
 * the compiled modules its entry (package.json "main") reaches, host.json, and the npm packages those modules
 * import, installed from package-lock.json without devDependencies. The CLI's own packages (commander,
 * jmespath, yaml, cli-progress), the emulator's (azurite, selfsigned) and the tests' stay out.
 *
 * azd runs `npm run package` (with NODE_ENV=production) after `npm run build` and zips the service's `dist`
 * folder, honouring a `.funcignore` found there (azure-dev cli/azd/pkg/project/framework_service_npm.go;
 * Learn "Deploy to Azure Functions by using the Azure Developer CLI"); azure.yaml names `.deploy` as `dist`.
 */
const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository, from tools/ (tests) or dist/tools/ (npm run package). */
const ROOT = basename(dirname(HERE)) === "dist" ? join(HERE, "..", "..") : join(HERE, "..");
const ENTRY = "dist/functions/index.js";

export interface AppPackage {
  directory: string;
  /** The compiled modules the entry reaches (repo paths under dist/). */
  modules: string[];
  /** The npm packages those modules import, with the ranges of package.json. */
  dependencies: Record<string, string>;
}

interface Manifest {
  name: string;
  version: string;
  type: string;
  main: string;
  engines: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

/** The package a resolved node_modules path belongs to (`node_modules/@azure/identity/dist/…` → `@azure/identity`). */
export function packageOf(resolved: string): string | undefined {
  const parts = resolved.split("/");
  const at = parts.lastIndexOf("node_modules");
  if (at < 0) return undefined;
  const name = parts[at + 1] ?? "";
  return name.startsWith("@") ? `${name}/${parts[at + 2] ?? ""}` : name;
}

/**
 * A module started as a worker thread is named by a URL, not imported (`new Worker(new URL("./x.js",
 * import.meta.url))`, Node "Worker threads"): dependency-cruiser does not follow it, so its entries are found here.
 */
export function workerEntriesOf(module: string, source: string): string[] {
  const found = [...source.matchAll(/new URL\("(\.{1,2}\/[^"]+\.js)", import\.meta\.url\)/g)].map((match) => match[1] as string);
  return found.map((relativePath) => join(dirname(module), relativePath).split(sep).join("/"));
}

/**
 * The entry's module graph: every compiled module reached (static and dynamic imports, and the worker threads
 * they start) and the packages they import.
 */
export async function reachedFrom(entry = ENTRY, root = ROOT): Promise<{ modules: string[]; packages: string[] }> {
  const cwd = process.cwd();
  process.chdir(root);
  try {
    const entries = [entry];
    for (;;) {
      const reporting = await cruise(entries, { doNotFollow: { path: "node_modules" }, moduleSystems: ["es6", "cjs"], exclude: { path: "^node_modules/.*/node_modules/" } });
      const result = reporting.output as ICruiseResult;
      const modules = result.modules.filter((module) => !module.coreModule && !module.source.includes("node_modules/")).map((module) => module.source);
      const workers = modules.flatMap((module) => workerEntriesOf(module, readFileSync(module, "utf8"))).filter((worker) => !entries.includes(worker));
      if (workers.length > 0) {
        entries.push(...new Set(workers));
        continue;
      }
      const unresolved = result.modules.flatMap((module) => module.dependencies.filter((dependency) => dependency.couldNotResolve).map((dependency) => `${module.source} → ${dependency.module}`));
      if (unresolved.length > 0) throw new Error(`the entry's imports do not resolve: ${unresolved.join(", ")}`);
      const packages = new Set<string>();
      for (const module of result.modules.filter((candidate) => modules.includes(candidate.source))) {
        for (const dependency of module.dependencies) {
          const name = dependency.coreModule ? undefined : packageOf(dependency.resolved);
          if (name) packages.add(name);
        }
      }
      return { modules: modules.sort(), packages: [...packages].sort() };
    }
  } finally {
    process.chdir(cwd);
  }
}

/** What the installed packages carry that Node never loads: types, source maps, docs, browser and React Native builds. */
export function neverLoaded(path: string): boolean {
  const name = path.slice(path.lastIndexOf(sep) + 1);
  if (/\.(map|ts|mts|cts)$/.test(name)) return true;
  if (/\.(md|markdown)$/i.test(name) && !/^(licen[cs]e|notice)/i.test(name)) return true;
  return /[/\\](dist[/\\](browser|react-native)|build[/\\]esnext)([/\\]|$)/.test(path);
}

function prune(directory: string): void {
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (neverLoaded(path)) rmSync(path, { recursive: true, force: true });
    else if (entry.isDirectory()) prune(path);
  }
}

/** Files and bytes below a directory, and the bytes deflated (what the zip azd uploads weighs, give or take its headers). */
export function measure(directory: string): { files: number; bytes: number; deflated: number } {
  let files = 0;
  let bytes = 0;
  let deflated = 0;
  const walk = (path: string): void => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) {
        const content = readFileSync(child);
        files += 1;
        bytes += content.length;
        deflated += deflateRawSync(content).length;
      }
    }
  };
  walk(directory);
  return { files, bytes, deflated };
}

/** Stages the package; `install: false` stops before `npm ci` (the tests check what would be installed). */
export async function packageApp(options: { directory?: string; install?: boolean } = {}): Promise<AppPackage> {
  const directory = options.directory ?? join(ROOT, ".deploy");
  if (!existsSync(join(ROOT, ENTRY))) throw new Error(`${ENTRY} is missing: run npm run build first`);
  const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Manifest;
  const { modules, packages } = await reachedFrom();
  const dependencies: Record<string, string> = {};
  for (const name of packages) {
    const range = manifest.dependencies[name];
    if (range === undefined) throw new Error(`the Function App imports ${name}, which is not in package.json "dependencies"${name in manifest.devDependencies ? " (only in devDependencies)" : ""}`);
    dependencies[name] = range;
  }
  rmSync(directory, { recursive: true, force: true });
  for (const module of modules) {
    mkdirSync(dirname(join(directory, module)), { recursive: true });
    copyFileSync(join(ROOT, module), join(directory, module));
  }
  copyFileSync(join(ROOT, "host.json"), join(directory, "host.json"));
  copyFileSync(join(ROOT, "package-lock.json"), join(directory, "package-lock.json"));
  const { name, version, type, main, engines } = manifest;
  writeFileSync(join(directory, "package.json"), `${JSON.stringify({ name, version, private: true, type, main, engines, dependencies }, null, 2)}\n`);
  // A .funcignore that keeps node_modules tells azd to upload this folder as built (no remote build).
  writeFileSync(join(directory, ".funcignore"), "# Staged by npm run package: everything here ships.\n.funcignore\n");
  if (options.install !== false) {
    execFileSync("npm", ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: directory, stdio: ["ignore", "ignore", "inherit"] });
    prune(join(directory, "node_modules"));
    // The staged entry, the telemetry adapter (imported on demand) and the federated credential listing's worker
    // (which does nothing outside a worker thread) must load from the package alone.
    execFileSync(process.execPath, ["--input-type=module", "-e", `await import("./${ENTRY}"); await import("./dist/shared/azure/telemetry.js"); await import("./dist/shared/azure/federatedCredentialsWorker.js");`], { cwd: directory, stdio: ["ignore", "ignore", "pipe"] });
  }
  return { directory, modules, dependencies };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const staged = await packageApp();
  const size = measure(staged.directory);
  const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);
  process.stdout.write(
    `${relative(process.cwd(), staged.directory) || "."}: ${staged.modules.length} modules, ${Object.keys(staged.dependencies).length} direct dependencies; ` +
      `${size.files} files, ${mb(size.bytes)} MB (≈ ${mb(size.deflated)} MB zipped)\n`,
  );
  if (!statSync(join(staged.directory, "node_modules")).isDirectory()) process.exitCode = 1;
}
