import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The Node 20 the README speaks of (the tests run on it; package.json allows ^20.19.0). */
const NODE_20 = [20, 19, 0] as const;

type Version = readonly [number, number, number];

const compare = (a: Version, b: Version): number => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** One comparator of an npm `engines` range (node-semver syntax: >=, >, <=, <, ^, ~, =, x-ranges). */
function satisfiesComparator(version: Version, comparator: string): boolean {
  const match = /^(>=|<=|>|<|\^|~|=)?v?(\d+|[x*])(?:\.(\d+|[x*]))?(?:\.(\d+|[x*]))?/.exec(comparator);
  if (!match) return true;
  const [, op = "", ...parts] = match;
  const numbers = parts.map((part) => (part === undefined || part === "x" || part === "*" ? undefined : Number(part)));
  const [major, minor, patch] = numbers;
  if (major === undefined) return true;
  const low: Version = [major, minor ?? 0, patch ?? 0];
  const c = compare(version, low);
  // An x-range or a partial version (6.*, 20) is a range of its own: >=low <next.
  const next: Version = minor === undefined ? [major + 1, 0, 0] : patch === undefined ? [major, minor + 1, 0] : [major, minor, patch + 1];
  switch (op) {
    case ">=":
      return c >= 0;
    case ">":
      return minor === undefined || patch === undefined ? compare(version, next) >= 0 : c > 0;
    case "<=":
      return minor === undefined || patch === undefined ? compare(version, next) < 0 : c <= 0;
    case "<":
      return c < 0;
    case "^":
      return c >= 0 && compare(version, major > 0 ? [major + 1, 0, 0] : minor !== undefined && minor > 0 ? [0, minor + 1, 0] : next) < 0;
    case "~":
      return c >= 0 && compare(version, minor === undefined ? [major + 1, 0, 0] : [major, minor + 1, 0]) < 0;
    default:
      return c >= 0 && compare(version, next) < 0;
  }
}

export function satisfies(version: Version, range: string): boolean {
  return range.split("||").some((alternative) => {
    const comparators = alternative.trim().replace(/([<>=^~]+)\s+/g, "$1").split(/\s+/).filter(Boolean);
    return comparators.every((comparator) => comparator === "*" || satisfiesComparator(version, comparator));
  });
}

describe("EBADENGINE warnings on Node 20 (README's count)", () => {
  it("the range check reads npm's syntax", () => {
    expect(satisfies(NODE_20, ">=22.0.0")).toBe(false);
    expect(satisfies(NODE_20, "^20.19.0 || >=22.0.0")).toBe(true);
    expect(satisfies(NODE_20, "^18.19.0 || >=20.6.0")).toBe(true);
    expect(satisfies(NODE_20, "6.* || 8.* || >= 10.*")).toBe(true);
    expect(satisfies(NODE_20, "^20.19.0 || ^22.13.0 || >=23.5.0")).toBe(true);
    expect(satisfies(NODE_20, "<=0.11.8 || >0.11.10")).toBe(true);
    expect(satisfies(NODE_20, "^14.21.3 || >=16")).toBe(true);
    expect(satisfies(NODE_20, "^22.12.0")).toBe(false);
  });

  it("README names every installed package whose engines exclude Node 20, and how many", () => {
    const lock = JSON.parse(readFileSync(`${ROOT}package-lock.json`, "utf8")) as { packages: Record<string, { engines?: { node?: string } | string[] }> };
    const excluded = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== "" && !Array.isArray(entry.engines) && entry.engines?.node !== undefined && !satisfies(NODE_20, entry.engines.node))
      .map(([path]) => path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length));
    const readme = readFileSync(`${ROOT}README.md`, "utf8");
    const words = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];
    expect(readme).toContain(`prints ${words[excluded.length] ?? excluded.length} \`EBADENGINE\` warning${excluded.length === 1 ? "" : "s"}`);
    const paragraph = readme.slice(readme.indexOf("EBADENGINE"), readme.indexOf("\n\n", readme.indexOf("EBADENGINE")));
    for (const name of excluded) expect(paragraph, name).toContain(`\`${name}\``);
  });
});
