import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readTerraformJson } from "../../../shared/desiredState/terraform.js";

const FILTER = fileURLToPath(new URL("../../../infra/desired-state.jq", import.meta.url));
const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/desired-state/${name}`, import.meta.url));
const jq = spawnSync("jq", ["--version"], { encoding: "utf8" });

/** infra/desired-state.jq (DEPLOY.md "Publish the desired state") drops every attribute uami-guard does not compare, and nothing it does. */
describe.skipIf(jq.status !== 0)("infra/desired-state.jq", () => {
  it.each(["tfstate/prod.json", "plan-rg-plan.json"])("%s: the filtered document declares exactly what the full one does", (name) => {
    const filtered = spawnSync("jq", ["-f", FILTER, fixture(name)], { encoding: "utf8" });
    expect(filtered.status, filtered.stderr).toBe(0);
    expect(readTerraformJson(JSON.parse(filtered.stdout))).toEqual(readTerraformJson(JSON.parse(readFileSync(fixture(name), "utf8"))));
    expect(filtered.stdout).not.toContain("admin_username");
  });
});
