import { existsSync } from "node:fs";
import { pathToFileURL } from "node:url";
import puppeteer, { type Browser, type Page } from "puppeteer-core";

/** Debian's chromium (`apt-get install -y chromium`; .ci/run installs it); CHROMIUM_PATH overrides. */
export const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";

/** Browser tests run when Chromium is installed, and under CI=true always: there a missing browser fails them. */
export const BROWSER_TESTS = existsSync(CHROMIUM) || process.env["CI"] === "true";

/** Why the browser tests did not run, for the test output (a silent skip looks like a pass). */
export const BROWSER_SKIPPED = `browser tests SKIPPED: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH; under CI=true they fail instead)`;

/** Says so in the test output when the browser tests cannot run: a warning, and a skipped test named for it. */
export function sayWhenBrowserMissing(it: { skip: (name: string, test: () => void) => void }): void {
  if (BROWSER_TESTS) return;
  console.warn(`uami-guard: ${BROWSER_SKIPPED}`);
  it.skip(BROWSER_SKIPPED, () => undefined);
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  // --no-sandbox: CI and the dev machines run as root, where Chromium's sandbox refuses to start.
  return puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--font-render-hinting=none"] });
}

export interface OpenedPage {
  page: Page;
  /** Every request other than the file itself (all are aborted). */
  requests: string[];
  /** console errors and warnings, uncaught exceptions, dialogs. */
  problems: string[];
}

/** Opens a local file with every other request intercepted and refused, and waits until the report has drawn. */
export async function openReport(browser: Browser, path: string, viewport = { width: 1280, height: 900 }): Promise<OpenedPage> {
  const page = await browser.newPage();
  await page.setViewport(viewport);
  const url = pathToFileURL(path).href;
  const requests: string[] = [];
  const problems: string[] = [];
  await page.setRequestInterception(true);
  page.on("request", (request) => {
    if (request.url() === url) void request.continue();
    else {
      requests.push(request.url());
      void request.abort();
    }
  });
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warn") problems.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${String(error)}`));
  page.on("dialog", (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  await page.goto(url, { waitUntil: "load" });
  await page.waitForSelector("body[data-ready]", { timeout: 30_000 });
  return { page, requests, problems };
}
