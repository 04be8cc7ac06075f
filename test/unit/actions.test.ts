import { describe, expect, it } from "vitest";
import { actionMatches, grantsAction } from "../../shared/rules/lib/actions.js";
import { ScopeTree } from "../../shared/rules/lib/scopes.js";

describe("action matcher", () => {
  const cases: Array<[string, string, boolean]> = [
    ["*", "Microsoft.Compute/virtualMachines/write", true],
    ["Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action", true],
    ["Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "microsoft.managedidentity/userassignedidentities/x/y/assign/action", true],
    ["Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "Microsoft.ManagedIdentity/userAssignedIdentitiesX/assign/action", false],
    ["Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/write", true],
    ["Microsoft.Authorization/*", "Microsoft.Authorization/roleAssignments/write", true],
    ["*/read", "Microsoft.Compute/virtualMachines/read", true],
    ["*/read", "Microsoft.Compute/virtualMachines/write", false],
    ["Microsoft.Compute/*", "Microsoft.Compute/virtualMachines/runCommand/action", true],
    ["Microsoft.Web/sites/*", "Microsoft.Web/sites/write", true],
    ["Microsoft.Web/sites/*", "Microsoft.Web/sitesX/write", false],
    ["Microsoft.Web/sites/*", "Microsoft.Web/sites", false],
    ["Microsoft.Compute/virtualMachines/write", "Microsoft.Compute/virtualMachines/write", true],
    ["Microsoft.Compute/virtualMachines/write", "Microsoft.Compute/virtualMachines/writeX", false],
    ["a/*/*/b", "a/b", true],
    ["a.b/c", "aXb/c", false],
    ["Microsoft.*/write", "Microsoft.Web/sites/write", true],
  ];
  it.each(cases)("%s matches %s: %s", (pattern, action, expected) => {
    expect(actionMatches(pattern, action)).toBe(expected);
  });

  it("notActions apply to their own entry only", () => {
    const action = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action";
    expect(grantsAction([{ actions: ["*"], notActions: ["Microsoft.ManagedIdentity/*"] }], action)).toBe(false);
    expect(grantsAction([{ actions: ["*"], notActions: ["Microsoft.ManagedIdentity/*"] }, { actions: ["Microsoft.ManagedIdentity/*"], notActions: [] }], action)).toBe(true);
    expect(grantsAction([], action)).toBe(false);
  });
});

describe("scope tree", () => {
  const S = "/subscriptions/11111111-1111-1111-1111-111111111111";
  const tree = new ScopeTree([{ subscriptionId: "11111111-1111-1111-1111-111111111111", managementGroups: ["mg-app", "mg-corp", "root"] }]);
  const MG = (name: string) => `/providers/Microsoft.Management/managementGroups/${name}`;
  const cases: Array<[string, string, boolean]> = [
    ["/", `${S}/resourceGroups/rg`, true],
    [S, `${S}/resourceGroups/rg`, true],
    [`${S}/resourcegroups/RG`, `${S}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm`, true],
    [`${S}/resourceGroups/rg`, `${S}/resourceGroups/rg2`, false],
    [`${S}/resourceGroups/rg`, S, false],
    [MG("mg-corp"), `${S}/resourceGroups/rg`, true],
    [MG("MG-CORP"), S, true],
    [MG("mg-other"), S, false],
    [MG("root"), MG("mg-app"), true],
    [MG("mg-app"), MG("root"), false],
    [S, MG("mg-app"), false],
  ];
  it.each(cases)("%s contains %s: %s", (outer, inner, expected) => {
    expect(tree.contains(outer, inner)).toBe(expected);
  });

  it("lists every containing scope key of a resource", () => {
    expect(tree.ancestorsOf(`${S}/resourceGroups/rg/providers/Microsoft.Web/sites/app/slots/staging`)).toEqual([
      `${S}/resourcegroups/rg/providers/microsoft.web/sites/app/slots/staging`,
      S,
      `${S}/resourcegroups/rg`,
      `${S}/resourcegroups/rg/providers/microsoft.web`,
      `${S}/resourcegroups/rg/providers/microsoft.web/sites/app`,
      MG("mg-app").toLowerCase(),
      MG("mg-corp").toLowerCase(),
      MG("root").toLowerCase(),
      "/",
    ]);
  });
});
