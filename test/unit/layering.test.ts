import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, imports, sources } from "../helpers/sources.js";

describe("layering", () => {
  it("rules are pure: no node built-ins for I/O, no Azure SDK, no @azure/functions, no adapters", () => {
    for (const file of sources("shared/rules")) {
      for (const target of imports(file)) {
        expect(target, `${file} imports ${target}`).not.toMatch(/^(node:|fs|http|https|net|child_process|@azure|@azure-rest|p-limit)/);
        expect(target, `${file} imports ${target}`).not.toMatch(/\/(azure|engine|state|notify|cleanup)\//);
      }
    }
  });

  it("the desired-state readers and comparison are pure: no I/O, no SDK, no engine", () => {
    for (const file of sources("shared/desiredState")) {
      for (const target of imports(file)) {
        expect(target, `${file} imports ${target}`).not.toMatch(/^(node:|fs|http|https|net|child_process|@azure|@azure-rest|p-limit)/);
        expect(target, `${file} imports ${target}`).not.toMatch(/\/(azure|engine|state|notify|cleanup|rules)\//);
      }
    }
  });

  it("nothing in shared/ imports @azure/functions, cli/ or local/", () => {
    for (const file of sources("shared")) {
      for (const target of imports(file)) {
        expect(target, `${relative(ROOT, file)} imports ${target}`).not.toMatch(/^@azure\/functions$|\/cli\/|\/local\//);
      }
    }
  });

  it("Azure SDK packages are imported only by adapters in shared/azure/ (and the notify/state adapters)", () => {
    for (const file of sources("shared")) {
      if (/^shared\/(azure|notify|state|cleanup)\//.test(file)) continue;
      for (const target of imports(file)) {
        expect(target, `${file} imports ${target}`).not.toMatch(/^@azure(-rest)?\/(arm-|identity|data-tables|storage-|monitor-|eventgrid|core-client)/);
      }
    }
  });

  it("the telemetry SDK is imported only by its adapter (shared/azure/telemetry.ts); the engine reports through the port", () => {
    for (const directory of ["shared", "functions", "cli", "local"]) {
      for (const file of sources(directory)) {
        if (file === join("shared", "azure", "telemetry.ts")) continue;
        for (const target of imports(file)) expect(target, `${file} imports ${target}`).not.toMatch(/^(applicationinsights|@opentelemetry\/|@azure\/monitor-opentelemetry)/);
      }
    }
  });

  it("triggers in functions/ stay thin (no file over 120 lines)", () => {
    for (const file of sources("functions")) {
      const lines = readFileSync(join(ROOT, file), "utf8").split("\n").length;
      expect(lines, file).toBeLessThanOrEqual(120);
    }
  });
});
