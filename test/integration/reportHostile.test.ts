import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INVISIBLE_PATTERN, showInvisible } from "../../shared/displayText.js";
import { modelFromHtml } from "../../shared/report/html.js";
import { BROWSER_TESTS, launchBrowser, openReport, sayWhenBrowserMissing } from "../helpers/browser.js";
import { SUB, TENANT, guid } from "../helpers/estate.js";

const BIN = fileURLToPath(new URL("../../bin/uami-guard.js", import.meta.url));

// Names as Azure allows them or an attacker writes them: a right-to-left override that reorders what follows,
// zero-width and isolate characters that hide text, a 256-character tag value (Azure's maximum) and a
// 512-character tag name, a 128-character name with no space to break at.
const RLO = "\u202e";
const IDENTITY = `id-${RLO}txt.exe-${"x".repeat(100)}`;
const ROLE = `Identity Assigner ${RLO}rotarepO`;
const USER = `Mallory ${RLO}nimda\u200b\u2066`;
const TAG_VALUE = "v".repeat(256);
const TAG_NAME = `k${"e".repeat(510)}y`;
const RG = `/subscriptions/${SUB}/resourceGroups/rg-app`;
const IDENTITY_ID = `${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${IDENTITY}`;
const VM = `vm-${RLO}gnp.ssecorp-${"y".repeat(60)}`;
const CUSTOM_ROLE = `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${guid(7, "cafe")}`;

function hostileEstate(): unknown {
  const principal = guid(1, "a");
  const assignment = (n: number, roleDefinitionId: string, principalId: string, principalType: string) => ({
    id: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments/${guid(n, "0a")}`,
    name: guid(n, "0a"),
    type: "Microsoft.Authorization/roleAssignments",
    properties: { scope: `/subscriptions/${SUB}`, roleDefinitionId, principalId, principalType, createdOn: "2026-01-01T00:00:00Z" },
  });
  return {
    tenantId: TENANT,
    subscriptions: [{ subscriptionId: SUB, displayName: "prod" }],
    resources: [
      {
        id: IDENTITY_ID,
        name: IDENTITY,
        type: "Microsoft.ManagedIdentity/userAssignedIdentities",
        location: "uksouth",
        tags: { owner: `team-${RLO}a`, environment: "prod", [TAG_NAME]: TAG_VALUE, note: `a\u200bb\u2066c\u2069` },
        properties: { principalId: principal, clientId: guid(1, "c"), tenantId: TENANT },
      },
      {
        id: `${RG}/providers/Microsoft.Compute/virtualMachines/${VM}`,
        name: VM,
        type: "Microsoft.Compute/virtualMachines",
        location: "uksouth",
        tags: { environment: "prod" },
        identity: { type: "UserAssigned", userAssignedIdentities: { [IDENTITY_ID]: { principalId: principal, clientId: guid(1, "c") } } },
      },
    ],
    directory: [
      { id: principal, "@odata.type": "#microsoft.graph.servicePrincipal", displayName: IDENTITY, servicePrincipalType: "ManagedIdentity", appId: guid(1, "c") },
      { id: guid(2, "b"), "@odata.type": "#microsoft.graph.user", displayName: USER },
    ],
    roleDefinitions: [
      {
        id: CUSTOM_ROLE,
        name: guid(7, "cafe"),
        properties: { roleName: ROLE, type: "CustomRole", permissions: [{ actions: ["Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"], notActions: [] }], assignableScopes: [`/subscriptions/${SUB}`] },
      },
    ],
    roleAssignments: [
      // Owner at the subscription: the identity is critical, so it gets a picture and exposure.
      assignment(1, `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635`, principal, "ServicePrincipal"),
      assignment(2, CUSTOM_ROLE, guid(2, "b"), "User"),
    ],
    federatedCredentials: [],
    baseline: { attachments: {} },
  };
}

/** Every text the page shows: text nodes (HTML and SVG, <title> tooltips included) and attribute values. */
async function shownText(page: Page): Promise<string[]> {
  // A string, as the other browser tests evaluate: this project compiles without the DOM's types.
  return page.evaluate(`(() => {
    const texts = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.nodeType === Node.TEXT_NODE) {
        if (node.parentElement && node.parentElement.tagName !== "SCRIPT") texts.push(node.textContent || "");
      } else {
        for (const attribute of Array.from(node.attributes)) texts.push(attribute.value);
      }
    }
    texts.push(document.title);
    return texts;
  })()`) as Promise<string[]>;
}

sayWhenBrowserMissing(it);

describe.skipIf(!BROWSER_TESTS)("the report with names Azure allows (and attackers choose)", () => {
  let browser: Browser;
  let path: string;

  beforeAll(async () => {
    const directory = mkdtempSync(join(tmpdir(), "uami-report-hostile-"));
    const estate = join(directory, "estate.json");
    writeFileSync(estate, JSON.stringify(hostileEstate()));
    path = join(directory, "report.html");
    const result = spawnSync(process.execPath, [BIN, "report", "--estate", estate, "--out", path], { encoding: "utf8", timeout: 120_000, env: { ...process.env, UAMI_GUARD_POLICY: "" } });
    expect(result.status, result.stderr).toBe(0);
    browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
  });

  it.each([
    { width: 1280, height: 900 },
    { width: 800, height: 900 },
  ])("is never wider than the window ($width px), and shows the long tag whole in the card", async (viewport) => {
    const { page, problems } = await openReport(browser, path, viewport);
    try {
      expect(problems).toEqual([]);
      const width = (await page.evaluate("({ scroll: document.documentElement.scrollWidth, window: window.innerWidth })")) as { scroll: number; window: number };
      expect(width.scroll, `page ${width.scroll} px wide in a ${width.window} px window`).toBeLessThanOrEqual(width.window);
      const tags = await page.$eval("#identity-list .tags", (list) => list.textContent ?? "");
      expect(tags).toContain(`${TAG_NAME}=${TAG_VALUE}`);
      // No element sticks out of the page either (a scrolled-away overflow would not widen the document).
      const widest = (await page.evaluate('Math.max(...Array.from(document.querySelectorAll("body *")).map((element) => element.getBoundingClientRect().right))')) as number;
      expect(widest).toBeLessThanOrEqual(viewport.width);
    } finally {
      await page.close();
    }
  });

  it("shows bidirectional and invisible characters escaped in every text node, code block, SVG label and tooltip", async () => {
    const { page, problems } = await openReport(browser, path);
    try {
      expect(problems).toEqual([]);
      const invisible = new RegExp(INVISIBLE_PATTERN, "u");
      const offending = (await shownText(page)).filter((text) => invisible.test(text));
      expect(offending.map((text) => JSON.stringify(text).slice(0, 120))).toEqual([]);
      // And escaped where they were: the card's heading, its tags, the role and user names, an az command, the picture.
      const card = await page.$eval("#identity-list article", (article) => article.textContent ?? "");
      expect(card).toContain(showInvisible(IDENTITY));
      expect(card).toContain("team-\\u202ea");
      expect(card).toContain("a\\u200bb\\u2066c\\u2069");
      expect(card).toContain(showInvisible(ROLE));
      const commands = await page.$$eval("pre code", (codes) => codes.map((code) => code.textContent ?? "").join("\n"));
      expect(commands).toContain(`--role '${showInvisible(ROLE)}'`);
      const svg = await page.$$eval("#graphs svg", (svgs) => svgs.map((svg) => svg.textContent ?? "").join("\n"));
      expect(svg).toContain("id-\\u202etxt.exe");
      // The picture cuts a long name; its tooltip (<title>) has it whole.
      expect(svg).toContain(showInvisible(IDENTITY_ID));
      const model = modelFromHtml(readFileSync(path, "utf8"));
      // The data stays what Azure said: only what is shown is escaped.
      expect(model.identities[0]?.name).toBe(IDENTITY);
    } finally {
      await page.close();
    }
  });
});
