import { describe, expect, it } from "vitest";
import { parseEstate } from "../../local/emulator/estate.js";

describe("estate file", () => {
  it.each([
    [{}, /estate x\.json: tenantId missing/],
    [{ tenantId: "t", resources: [{ id: "no-slash", name: "a", type: "b" }] }, /resources\[0\]\.id = "no-slash": must be an ARM id/],
    [{ tenantId: "t", roleAssignments: [{ id: "/x", name: "n", properties: { scope: "/", principalId: "p" } }] }, /roleAssignments\[0\]\.properties\.roleDefinitionId missing/],
    [{ tenantId: "t", emulator: { faults: [{ service: "dns", status: 500 }] } }, /emulator\.faults\[0\]\.service = "dns"/],
    [{ tenantId: "t", emulator: { latency: 5 } }, /unknown key "emulator\.latency"/],
    [
      { tenantId: "t", resources: [{ id: "/a", name: "a", type: "t" }, { id: "/A", name: "a", type: "t" }] },
      /resources\[1\]\.id = "\/A": duplicate id/,
    ],
  ])("names what is wrong and where (%#)", (raw, message) => {
    expect(() => parseEstate(raw, "estate x.json")).toThrow(message);
  });

  it("keeps ARM fields it does not know", () => {
    const estate = parseEstate(
      { tenantId: "t", resources: [{ id: "/r", name: "r", type: "Microsoft.Web/sites", kind: "functionapp", sku: { name: "Y1" } }] },
      "e",
    );
    expect(estate.resources[0]).toMatchObject({ sku: { name: "Y1" } });
  });
});
