import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const read = (path: string): string => readFileSync(`${ROOT}${path}`, "utf8");

describe("the Function App's entry module", () => {
  const entry = read("functions/index.ts");

  it("is package.json's main, starts telemetry first, then registers every trigger, loading its module on its first invocation", () => {
    expect((JSON.parse(read("package.json")) as { main: string }).main).toBe("dist/functions/index.js");
    expect([...entry.matchAll(/^import .*$/gm)][0]?.[0]).toBe('import "./telemetry.js";');
    const registered = [...entry.matchAll(/^app\.[a-zA-Z]+\("([a-zA-Z]+)",[^]*?handler: loadedOnFirstCall\(async \(\) => \(await import\("\.\/([a-zA-Z]+)\.js"\)\)\.([a-zA-Z]+)\)/gm)];
    for (const [, name, module, handler] of registered) expect([module, handler], `function ${name}`).toEqual([name, name]);
    const triggers = readdirSync(`${ROOT}functions`)
      .filter((file) => file.endsWith(".ts") && /^export const [a-zA-Z]+ = [a-zA-Z]+Handler\(appDependencies\);$/m.test(read(`functions/${file}`)))
      .map((file) => file.replace(/\.ts$/, ""));
    expect(registered.map((match) => match[1]).sort()).toEqual(triggers.sort());
    expect(triggers).toHaveLength(6);
  });
});

describe("host.json", () => {
  const host = JSON.parse(read("host.json")) as { logging: { logLevel: Record<string, string>; applicationInsights: { samplingSettings: { excludedTypes: string } } } };

  it("keeps the lines operators read: function logs at Information, the event trigger's ignored/duplicate lines at Debug", () => {
    // Categories as the Functions host names them: https://learn.microsoft.com/azure/azure-functions/configure-monitoring#configure-categories
    expect(host.logging.logLevel["Function"]).toBe("Information");
    expect(host.logging.logLevel["Function.onResourceEvent.User"]).toBe("Debug");
    expect(host.logging.logLevel["Host.Results"]).toBe("Information");
  });

  it("never samples away requests, log lines or exceptions", () => {
    expect(host.logging.applicationInsights.samplingSettings.excludedTypes.split(";").sort()).toEqual(["Exception", "Request", "Trace"]);
  });
});

describe("the telemetry SDK is loaded only when telemetry is on", () => {
  it("cli/ and functions/ import() the adapter when the connection string is set (no static import: .dependency-cruiser.cjs)", () => {
    expect(read("cli/telemetry.ts")).toContain('await import("../shared/azure/telemetry.js")');
    expect(read("functions/telemetry.ts")).toContain('await import("../shared/azure/telemetry.js")');
  });
});
