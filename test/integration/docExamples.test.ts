import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunReport } from "../../shared/findings.js";
import { runCli } from "../helpers/cli.js";
import { ROOT } from "../helpers/sources.js";

const EXAMPLES = "docs/examples";

/** Run from the repository root, with the paths exactly as docs/events.md writes them. */
const cli = (args: string[]) => runCli(args);

const S = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-app/providers";
const IDENTITY = `${S}/Microsoft.ManagedIdentity/userAssignedIdentities/id-app-prod-uks-01`;

/** What each example's paragraph in docs/events.md says it shows on the estate beside it. */
const SHOWS: Array<{ file: string; findings: Array<[string, string, string, string | undefined]>; verbose?: RegExp; evidence?: Record<string, unknown> }> = [
  {
    file: "event-role-assignment-write.json",
    findings: [["role-assignment-outside-pipeline", "high", `${S}/Microsoft.Authorization/roleAssignments/aaaaaaaa-0000-0000-0000-000000000001`, "aaaaaaaa-0000-0000-0000-000000000001"]],
  },
  {
    file: "event-vm-write-by-pipeline.json",
    findings: [],
    verbose: /no finding: the caller is approved \(pipeline github-deploy-prod\); the attachment baseline now holds what it attached/,
  },
  {
    file: "cloudevent-federated-credential-write.json",
    findings: [["federated-credential-outside-pipeline", "high", `${IDENTITY}/federatedIdentityCredentials/github-main`, IDENTITY]],
    // Its issuer and subject as ARM returns them (the credential exists in the estate beside it).
    evidence: { issuer: "https://token.actions.githubusercontent.com", subject: "repo:contoso/app:ref:refs/heads/main" },
  },
];

describe("every example of docs/events.md runs as written and shows what its text says", () => {
  const page = readFileSync(join(ROOT, "docs", "events.md"), "utf8");

  it.each(SHOWS)("$file", ({ file, findings, verbose, evidence }) => {
    const result = cli(["replay", "--estate", `${EXAMPLES}/estate.json`, "--policy", `${EXAMPLES}/policy.json`, "--events", `${EXAMPLES}/${file}`, "--verbose", "-o", "json"]);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as RunReport & { events: Record<string, number> };
    expect(report.events).toMatchObject({ received: 1, processed: 1 });
    expect(report.incomplete).toEqual([]);
    expect(report.findings.map((finding) => [finding.ruleId, finding.severity, finding.subjectId, finding.relatedId])).toEqual(findings);
    // The paragraph names what the replay shows.
    const paragraph = page.slice(page.lastIndexOf("\n\n", page.indexOf(`](examples/${file})`)), page.indexOf("```json", page.indexOf(`](examples/${file})`)));
    for (const [ruleId, severity] of findings) expect(paragraph).toContain(`\`${ruleId}\` (${severity})`);
    if (findings.length === 0) expect(paragraph).toMatch(/no finding/);
    if (verbose) expect(result.stderr).toMatch(verbose);
    // --verbose: each step with its time, and the whole run's.
    expect(result.stderr).toMatch(/^estate docs\/examples\/estate\.json: \d+ resources, .* \(\d+\.\d s\)$/m);
    expect(result.stderr).toMatch(/^replay: 1 events, .* \(\d+\.\d s\)$/m);
    expect(result.stderr).toMatch(/^done in \d+\.\d s/m);
    if (evidence) expect(report.findings[0]?.evidence).toMatchObject(evidence);
  });

  it("the demo batch of 'Trying it' runs as written", () => {
    const command = /```sh\n(npx uami-guard replay --estate local\/demo\/estate\.json [^\n]*)\n```/.exec(page.slice(page.indexOf("## Trying it")))?.[1] ?? "";
    expect(command).not.toBe("");
    const result = cli(command.replace(/^npx uami-guard /, "").split(/\s+/));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/6 events: 3 processed, 1 duplicate, 1 ignored, 1 malformed, 0 failed/);
    expect(result.stderr).toMatch(/duplicate, no finding: its id was handled before/);
    // A storage account write is an operation only the guard's own resources make matter (governance-tampering).
    expect(result.stderr).toMatch(/ignored, no finding: Microsoft.Storage\/storageAccounts\/write outside the guard's resources/);
  });
});
