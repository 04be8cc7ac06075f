import { describe, expect, it } from "vitest";
import { approvalOf } from "../../shared/rules/lib/approval.js";
import { policySchema } from "../../shared/config/policy.js";

const APP = "99999999-0000-4000-8000-000000000042";
const OBJ = "ffffffff-0000-0000-0000-0000000000dd";
const USER = "dddddddd-0000-0000-0000-0000000000bb";
const SELF = "eeeeeeee-0000-0000-0000-0000000000ee";
const S1 = "/subscriptions/11111111-1111-1111-1111-111111111111";
const policy = policySchema.parse({
  approvedPipelines: [
    { name: "deploy-prod", appId: APP, scopes: [`${S1}/resourceGroups/rg-app`] },
    { name: "break-glass-user", objectId: USER },
  ],
  self: { objectId: SELF },
});
const VM = `${S1}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm1`;

describe("approvalOf", () => {
  it.each([
    ["pipeline app inside its scope", { appId: APP, objectId: OBJ, delegated: false }, VM, true],
    ["scope match is case-insensitive", { appId: APP.toUpperCase(), delegated: false }, VM.toUpperCase(), true],
    ["pipeline outside its scopes", { appId: APP, delegated: false }, `${S1}/resourceGroups/rg-other/providers/Microsoft.Compute/virtualMachines/vm2`, false],
    ["scope prefix must end at a segment", { appId: APP, delegated: false }, `${S1}/resourceGroups/rg-app2/providers/x/y/z`, false],
    ["a user using the pipeline's app id is not the pipeline", { appId: APP, objectId: USER.replace("b", "c"), delegated: true }, VM, false],
    ["a user listed by object id", { appId: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", objectId: USER, delegated: true }, VM, true],
    ["object ids compare without dashes", { objectId: USER.replace(/-/g, ""), delegated: true }, VM, true],
    ["the app itself", { objectId: SELF, delegated: false }, VM, true],
    ["no claims", { delegated: false }, VM, false],
    ["a .. segment climbing out of the scope", { appId: APP, delegated: false }, `${S1}/resourceGroups/rg-app/../../../22222222-2222-2222-2222-222222222222/resourceGroups/rg-x`, false],
    ["a %2e%2e segment", { appId: APP, delegated: false }, `${S1}/resourceGroups/rg-app/%2e%2e/rg-x/providers/Microsoft.Compute/virtualMachines/vm2`, false],
    ["a . segment", { appId: APP, delegated: false }, `${S1}/resourceGroups/rg-app/./providers/Microsoft.Compute/virtualMachines/vm1`, false],
    ["a double slash", { appId: APP, delegated: false }, `${S1}/resourceGroups/rg-app//providers/Microsoft.Compute/virtualMachines/vm1`, false],
  ])("%s", (_name, caller, uri, approved) => {
    expect(approvalOf(caller, uri, policy).approved).toBe(approved);
  });

  it("says when a pipeline acted outside its scopes", () => {
    expect(approvalOf({ appId: APP, delegated: false }, `${S1}/resourceGroups/rg-x`, policy).reason).toMatch(/deploy-prod acted outside its scopes/);
  });
});
