import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The product documents itself: code, CLI help, docs and infra cite only documents this repository has
 * (docs/, README.md, ARCHITECTURE.md, infra/DEPLOY.md, …), and a cited section is a heading of that document.
 * Markdown links that leave the repository are checked in docs.test.ts.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SKIP_DIRS = new Set(["node_modules", "dist", ".git", "coverage"]);
const TEXT = new Set([".ts", ".js", ".mjs", ".md", ".json", ".jsonc", ".bicep", ".yaml", ".yml", ".sh", ".html", ""]);
const SKIP_FILES = new Set(["package-lock.json"]);

function textFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((entry) => {
    const path = join(directory, entry);
    if (SKIP_DIRS.has(entry)) return [];
    if (statSync(path).isDirectory()) return textFiles(path);
    return TEXT.has(extname(entry)) && !SKIP_FILES.has(entry) ? [path] : [];
  });
}

/** Documents that exist outside this repository only (the project's working notes), by any spelling. */
const OUTSIDE = /\b(?:RULES|DESIGN|STYLE|HELPERS)(?:\.md\b|\s+(?:§|\\?"))|\/work\/(?:shared|wt|main)\b/g;
/** A repository path of a markdown document, as code and docs cite it. */
const DOC_PATH = /(?<![\w/.-])((?:docs|infra|bench|local|test|shared|cli|functions|\.ci)\/[\w./<>-]*?\.md|(?:README|ARCHITECTURE)\.md)\b(?:\s+\\?"([^"\\]+)\\?")?/g;

function headings(path: string): Set<string> {
  return new Set([...readFileSync(path, "utf8").matchAll(/^#{1,6} (.+)$/gm)].map((match) => (match[1] ?? "").trim().toLowerCase()));
}

/** Problems of one file's text: references to documents the repository lacks, or to sections they lack. */
export function referenceProblems(text: string, root = ROOT): string[] {
  const problems: string[] = [];
  for (const match of text.matchAll(OUTSIDE)) problems.push(`"${match[0]}" names a document outside the repository`);
  for (const match of text.matchAll(DOC_PATH)) {
    const [, path = "", section] = match;
    // A template (docs/rules/<id>.md) names a folder that must exist.
    const target = path.includes("<") ? join(root, path.slice(0, path.lastIndexOf("/"))) : join(root, path);
    if (!existsSync(target)) {
      problems.push(`${path} does not exist`);
      continue;
    }
    if (section && !path.includes("<") && !headings(target).has(section.toLowerCase())) problems.push(`${path} has no heading "${section}"`);
  }
  return problems;
}

describe("references to documents", () => {
  it("finds what it should (the check itself)", () => {
    // Built, so that this file does not itself name the documents it forbids.
    const rules = ["RULES", "md"].join(".");
    expect(referenceProblems(`see ${rules} "Actions" and DESIGN "Telemetry"`)).toHaveLength(2);
    expect(referenceProblems(`defaults of ${rules}`)).toHaveLength(1);
    expect(referenceProblems("/work/shared/azure-facts/x.json")).toHaveLength(1);
    expect(referenceProblems("docs/nothing-here.md")).toEqual(["docs/nothing-here.md does not exist"]);
    expect(referenceProblems('docs/guarantees.md "No such section"')).toEqual(['docs/guarantees.md has no heading "No such section"']);
    expect(referenceProblems('docs/guarantees.md "Exit codes", docs/rules/<id>.md, README.md, const RULES = new Map()')).toEqual([]);
  });

  it.each(textFiles(ROOT).map((path) => [relative(ROOT, path), path] as const))("%s cites only this repository's documents", (name, path) => {
    // This file spells the forbidden names to test the check.
    if (name === relative(ROOT, fileURLToPath(import.meta.url))) return;
    expect(referenceProblems(readFileSync(path, "utf8"))).toEqual([]);
  });
});
