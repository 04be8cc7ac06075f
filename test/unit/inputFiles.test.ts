import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readJsonFile } from "../../shared/config/validation.js";
import { resolveState } from "../../cli/preflight.js";

/** Issue 13 point 11: input files and --state values taken as what they are. */
describe("input files", () => {
  it("reads a JSON file saved with a UTF-8 byte-order mark", () => {
    const path = join(mkdtempSync(join(tmpdir(), "uami-guard-bom-")), "estate.json");
    writeFileSync(path, `\uFEFF${JSON.stringify({ tenantId: "t" })}`);
    expect(readJsonFile(path, "estate")).toEqual({ tenantId: "t" });
  });

  it("refuses a device instead of reading it without bound", () => {
    expect(() => readJsonFile("/dev/zero", "estate /dev/zero")).toThrow(/estate \/dev\/zero: not a regular file or a pipe/);
  });
});

describe("--state", () => {
  it.each([
    "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=abc==;EndpointSuffix=core.windows.net",
    "UseDevelopmentStorage=true",
    "BlobEndpoint=https://st.blob.core.windows.net/;TableEndpoint=https://st.table.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=t&sig=abc",
    "TableEndpoint=https://st.table.core.windows.net/;SharedAccessSignature=sv=2022&sig=x",
  ])("%s is a connection string", (state) => {
    expect(resolveState(state).kind).toBe("connection");
  });

  it("takes anything else as a directory", () => {
    const directory = join(mkdtempSync(join(tmpdir(), "uami-guard-state-")), ".uami-guard");
    expect(resolveState(directory)).toEqual({ kind: "directory", directory });
  });
});

describe("bad app settings", () => {
  it("name the setting without echoing a secret in its value", async () => {
    const { readAppSettings } = await import("../../shared/config/settings.js");
    const secret = "s3cr3tSignature";
    let message = "";
    try {
      readAppSettings({ TEAMS_WEBHOOK_URL: `http://x.logic.azure.com/w?sig=${secret}` });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/TEAMS_WEBHOOK_URL/);
    expect(message).not.toContain(secret);
  });
});
