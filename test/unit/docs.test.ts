import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { allRules, eventRules, noticeRules, sweepRules } from "../../shared/rules/index.js";
import { ruleIds } from "../../shared/rules/index.js";
import { loadPolicy, policySchema } from "../../shared/config/policy.js";
import { emulatorSettingsSchema, estateSchema, parseEstate } from "../../local/emulator/estate.js";
import { parseResourceEvent } from "../../shared/events/resourceEvent.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DOCS = join(ROOT, "docs");
const RULE_DOCS = join(DOCS, "rules");
const read = (path: string): string => readFileSync(path, "utf8");

/** Every key path a zod schema accepts: `orphans.minAgeMinutes`, `suppressions[].expires`, `rules.<ruleId>.mode`. */
function keyPaths(schema: z.ZodType, prefix = "", recordKey = "<ruleId>"): string[] {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
  switch (def.type) {
    case "default":
    case "prefault":
    case "optional":
    case "nullable":
      return keyPaths(def["innerType"] as z.ZodType, prefix, recordKey);
    case "pipe":
      return keyPaths(def["in"] as z.ZodType, prefix, recordKey);
    case "array":
      return keyPaths(def["element"] as z.ZodType, `${prefix}[]`, recordKey);
    case "record":
      return keyPaths(def["valueType"] as z.ZodType, `${prefix}.${recordKey}`, recordKey);
    case "object":
      return Object.entries(def["shape"] as Record<string, z.ZodType>).flatMap(([key, value]) => {
        const path = prefix ? `${prefix}.${key}` : key;
        return [path, ...keyPaths(value, path, recordKey)];
      });
    default:
      return [];
  }
}

function codeBlocks(markdown: string, language: string): string[] {
  return [...markdown.matchAll(new RegExp("^```" + language + "\\n([\\s\\S]*?)^```", "gm"))].map((match) => match[1] ?? "");
}

/** `| Field | Value |` rows of a rule page, by field. */
function fields(markdown: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const match of markdown.matchAll(/^\| ([^|]+?) \| (.+?) \|$/gm)) rows.set(match[1] ?? "", match[2] ?? "");
  return rows;
}

function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) return "";
  const end = markdown.indexOf("\n## ", start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

const SECTIONS = ["What it reports", "Why it matters", "How to fix", "False positives", "Policy knobs"];
const rules = allRules;
const allIds = allRules.map((rule) => rule.meta.id);

describe("rule pages (docs/rules/<rule-id>.md, checked against each rule's meta)", () => {
  const pages = readdirSync(RULE_DOCS).filter((file) => file.endsWith(".md") && file !== "README.md").map((file) => file.replace(/\.md$/, ""));

  it("has a page for every rule and a rule for every page", () => {
    expect(pages.filter((page) => !allIds.includes(page))).toEqual([]);
    expect(allIds.filter((id) => !pages.includes(id))).toEqual([]);
  });

  it.each(rules.map((rule) => [rule.meta.id, rule] as const))("%s: the page agrees with meta", (id, rule) => {
    const path = join(RULE_DOCS, `${id}.md`);
    if (!existsSync(path)) throw new Error(`docs/rules/${id}.md is missing: see docs/rules/README.md "Writing a rule page"`);
    const page = read(path);
    expect(page.split("\n")[0]).toBe(`# ${id}`);
    const row = fields(page);
    expect(row.get("Title")).toBe(rule.meta.title);
    expect(row.get("Kind")).toBe(rule.kind === "event" || rule.kind === "notice" ? rule.kind : "sweep");
    expect(row.get("Severity")?.startsWith(rule.meta.severity)).toBe(true);
    expect(row.get("Category")).toBe(rule.meta.category);
    for (const field of ["Subject (`subjectId`)", "Related (`relatedId`)", "Cleanup action"]) expect(row.get(field), field).toBeTruthy();
    const positions = SECTIONS.map((heading) => page.indexOf(`\n## ${heading}\n`));
    expect(positions.every((position) => position > 0), `sections ${SECTIONS.join(", ")}`).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    const fix = codeBlocks(section(page, "How to fix"), "sh").join("\n");
    const remediation = rule.meta.remediation({ ruleId: id, severity: rule.meta.severity, subjectId: "/subscriptions/s/x", relatedId: "/subscriptions/s/y", title: "", message: "", evidence: {} });
    for (const command of remediation.cli) {
      // The command group and verb (`az role assignment delete`), up to the first option.
      const verb = command.split(" --")[0] ?? command;
      expect(fix, `"How to fix" shows ${verb}`).toContain(verb);
    }
  });

  it("lists every rule in the index with a link, under the right heading", () => {
    const index = read(join(RULE_DOCS, "README.md"));
    const ids = (part: string) => [...part.matchAll(/^\| \[`([a-z-]+)`\]\(([a-z-]+)\.md\) \|/gm)].map((match) => { expect(match[2]).toBe(match[1]); return match[1]; }).sort();
    const sweep = index.slice(index.indexOf("## Sweep rules"), index.indexOf("## Event rules"));
    const events = index.slice(index.indexOf("## Event rules"), index.indexOf("## Notices"));
    const notices = index.slice(index.indexOf("## Notices"), index.indexOf("## Writing a rule"));
    expect(ids(sweep)).toEqual(sweepRules.map((rule) => rule.meta.id).sort());
    expect(ids(events)).toEqual(eventRules.map((rule) => rule.meta.id).sort());
    expect(ids(notices)).toEqual(noticeRules.map((rule) => rule.meta.id).sort());
  });
});

describe("docs/policy.md", () => {
  const page = read(join(DOCS, "policy.md"));

  it("lists every key of the policy schema", () => {
    const missing = keyPaths(policySchema).filter((path) => !page.includes(`| \`${path}\` |`));
    expect(missing, "keys missing from the table in docs/policy.md").toEqual([]);
  });

  it("its example is a valid policy", () => {
    const [example] = codeBlocks(page, "json");
    expect(() => loadPolicy(example, ruleIds)).not.toThrow();
  });
});

describe("docs/estate-format.md", () => {
  const page = read(join(DOCS, "estate-format.md"));

  it("lists every top-level and emulator key of the estate schema", () => {
    const top = Object.keys(estateSchema.shape);
    const emulator = keyPaths(emulatorSettingsSchema, "emulator");
    const missing = [...top, ...emulator].filter((path) => !page.includes(`| \`${path}\` |`));
    expect(missing, "keys missing from the table in docs/estate-format.md").toEqual([]);
  });

  it("its example is a valid estate", () => {
    const [example] = codeBlocks(page, "json");
    expect(parseEstate(JSON.parse(example ?? ""), "docs/estate-format.md").resources.length).toBeGreaterThan(0);
  });
});

describe("docs/events.md", () => {
  it("every example parses as an event the handler accepts", () => {
    const blocks = codeBlocks(read(join(DOCS, "events.md")), "json");
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    for (const block of blocks) expect(parseResourceEvent(JSON.parse(block))).toMatchObject({ ok: true });
  });

  it("every example block is the file in docs/examples it names, so what is replayed is what is shown", () => {
    const page = read(join(DOCS, "events.md"));
    const files = readdirSync(join(DOCS, "examples")).filter((file) => /^(event|cloudevent)-.*\.json$/.test(file));
    const blocks = codeBlocks(page, "json").map((block) => JSON.parse(block) as unknown);
    expect(blocks).toHaveLength(files.length);
    for (const file of files) {
      expect(page, file).toContain(`](examples/${file})`);
      expect(blocks, file).toContainEqual(JSON.parse(read(join(DOCS, "examples", file))));
    }
  });
});

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  const found = new Set<string>();
  for (const match of markdown.matchAll(/^#{1,6} (.+)$/gm)) {
    found.add((match[1] ?? "").trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-"));
  }
  return found;
}

function markdownFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((entry) => {
    const path = join(directory, entry);
    if (["node_modules", "dist", ".git"].includes(entry)) return [];
    if (statSync(path).isDirectory()) return markdownFiles(path);
    return entry.endsWith(".md") ? [path] : [];
  });
}

describe("links in the repository's markdown", () => {
  it.each(markdownFiles(ROOT).map((path) => [relative(ROOT, path), path] as const))("%s links only to files inside the repo that exist", (_name, path) => {
    const text = read(path).replace(/^```[\s\S]*?^```/gm, "");
    for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const link = match[1] ?? "";
      if (/^(https?:|mailto:)/.test(link)) continue;
      const [file = "", anchor] = link.split("#");
      // A link that starts with / is relative to the repository root (GitHub Docs, "About the repository
      // README file": "Links starting with / will be relative to the repository root").
      const target = file === "" ? path : file.startsWith("/") ? join(ROOT, file) : resolve(dirname(path), file);
      expect(relative(ROOT, target).startsWith(".."), `${link} leaves the repository`).toBe(false);
      expect(existsSync(target), `${link} exists`).toBe(true);
      if (anchor && target.endsWith(".md")) expect(anchors(read(target)).has(anchor), `${link}: heading #${anchor}`).toBe(true);
    }
  });
});
