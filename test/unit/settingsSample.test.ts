import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { APP_SETTING_NAMES } from "../../shared/config/settings.js";

describe("local.settings.sample.json", () => {
  it("shows every app setting the app reads", () => {
    const sample = JSON.parse(readFileSync(new URL("../../local.settings.sample.json", import.meta.url), "utf8")) as { Values: Record<string, string> };
    for (const name of APP_SETTING_NAMES) expect(Object.keys(sample.Values), name).toContain(name);
  });
});
