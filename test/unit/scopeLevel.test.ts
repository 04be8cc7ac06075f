import { describe, expect, it } from "vitest";
import { scopeLevel, type ScopeLevel } from "../../shared/model.js";

/** The definition scopeLevel reads in place: the scope's non-empty segments, compared without case. */
function reference(scope: string): ScopeLevel {
  const parts = scope.split("/").filter((part) => part.length > 0);
  if (parts.length === 0) return "root";
  if (parts[0]?.toLowerCase() === "providers" && parts[1]?.toLowerCase() === "microsoft.management") return "managementGroup";
  if (parts[0]?.toLowerCase() !== "subscriptions") return "resource";
  if (parts.length === 2) return "subscription";
  if (parts.length === 4 && parts[2]?.toLowerCase() === "resourcegroups") return "resourceGroup";
  return "resource";
}

const S = "/subscriptions/11111111-1111-1111-1111-111111111111";
const cases: Array<[string, ScopeLevel]> = [
  ["/", "root"],
  ["", "root"],
  ["//", "root"],
  [S, "subscription"],
  [`${S}/`, "subscription"],
  [S.toUpperCase(), "subscription"],
  [`${S}/resourceGroups/rg-app`, "resourceGroup"],
  [`${S}/RESOURCEGROUPS/rg-app/`, "resourceGroup"],
  [`${S}//resourceGroups//rg-app`, "resourceGroup"],
  [`${S}/resourceGroup/rg-app`, "resource"],
  [`${S}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm1`, "resource"],
  [`${S}/providers/Microsoft.Authorization/roleAssignments/x`, "resource"],
  ["/providers/Microsoft.Management/managementGroups/mg-corp", "managementGroup"],
  ["/PROVIDERS/microsoft.MANAGEMENT/managementGroups/mg-corp", "managementGroup"],
  ["/providers", "resource"],
  ["/providers/Microsoft.Managementx/x", "resource"],
  ["/subscriptions", "resource"],
  ["subscriptions/x", "subscription"],
];

describe("scopeLevel", () => {
  it.each(cases)("%s is %s", (scope, level) => {
    expect(scopeLevel(scope)).toBe(level);
    expect(reference(scope)).toBe(level);
  });

  it("agrees with the segment definition on generated scopes", () => {
    const words = ["", "subscriptions", "SUBSCRIPTIONS", "s1", "resourceGroups", "resourcegroup", "rg", "providers", "Microsoft.Management", "managementGroups", "x"];
    let seed = 7;
    const next = (below: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % below;
    };
    for (let n = 0; n < 5000; n += 1) {
      const scope = (n % 3 === 0 ? "" : "/") + Array.from({ length: next(7) }, () => words[next(words.length)]).join("/");
      expect(scopeLevel(scope), scope).toBe(reference(scope));
    }
  });
});
