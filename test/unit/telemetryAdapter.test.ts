import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { ManagedIdentityCredential } from "@azure/identity";
import { credentialFor, instrumentationKeyOf, startTelemetry } from "../../shared/azure/telemetry.js";

describe("the Application Insights adapter", () => {
  it.each([
    ["unset", undefined, "none"],
    ["a user-assigned identity, as infra sets it", "ClientId=00000000-0000-0000-0000-0000000000aa;Authorization=AAD", "managed identity"],
    ["the system-assigned identity", "Authorization=AAD", "managed identity"],
  ] as const)("authentication string %s", (_name, value, expected) => {
    const credential = credentialFor(value);
    expect(credential === undefined ? "none" : credential instanceof ManagedIdentityCredential ? "managed identity" : "other").toBe(expected);
  });

  it("rejects an authentication string that is not AAD, naming the setting", () => {
    expect(() => credentialFor("ClientId=x")).toThrow(/APPLICATIONINSIGHTS_AUTHENTICATION_STRING/);
  });

  it("keeps the instrumentation key of a connection string", () => {
    expect(instrumentationKeyOf("InstrumentationKey=00000000-0000-4000-8000-00000000a1a1;IngestionEndpoint=https://x/")).toBe("00000000-0000-4000-8000-00000000a1a1");
    expect(instrumentationKeyOf("IngestionEndpoint=https://x/")).toBeUndefined();
  });

  it("refuses a connection string without an instrumentation key, naming the setting", () => {
    expect(() => startTelemetry({ connectionString: "IngestionEndpoint=https://127.0.0.1:9/" })).toThrow(/APPLICATIONINSIGHTS_CONNECTION_STRING/);
  });

  it("starts once, with statsbeat off and the exporter's OneSettings poller stopped", () => {
    const first = startTelemetry({ connectionString: "InstrumentationKey=00000000-0000-4000-8000-000000000001;IngestionEndpoint=https://127.0.0.1:9/" });
    expect(startTelemetry({ connectionString: "InstrumentationKey=00000000-0000-4000-8000-000000000002;IngestionEndpoint=https://127.0.0.1:9/" })).toBe(first);
    expect(process.env["APPLICATION_INSIGHTS_NO_STATSBEAT"]).toBe("true");
    expect(process.env["APPLICATIONINSIGHTS_STATSBEAT_DISABLED"]).toBe("true");
    // The manager the SDK itself uses (the exporter's CommonJS build): it polls nothing once stopped.
    const require = createRequire(import.meta.url);
    const entry = require.resolve("@azure/monitor-opentelemetry-exporter", { paths: [dirname(require.resolve("applicationinsights"))] });
    const { ConfigurationManager } = require(join(dirname(entry), "_configuration", "configurationManager.js")) as { ConfigurationManager: { getInstance(): { worker?: unknown } } };
    expect(ConfigurationManager.getInstance().worker).toBeUndefined();
  });
});
