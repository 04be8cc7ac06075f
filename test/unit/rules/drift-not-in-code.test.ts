import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/drift-not-in-code.js";
import { assignment, FOUND_MI, FOUND_USER, identity, index, keys, policy, resource, runRule, S } from "../../helpers/sweep.js";
import { compare, source, unreadable } from "../../helpers/drift.js";

const app = identity("id-app");
const hand = identity("id-hand");
const credential = { id: `${app.id}/federatedIdentityCredentials/test`, name: "test", identityId: app.id, issuer: "https://token.actions.githubusercontent.com", subject: "repo:x/y:ref:refs/heads/main", audiences: ["api://AzureADTokenExchange"] };
const grant = assignment("g1", "b24988ac-6180-42a0-ab88-20f7382dd24c", app.principalId);

function run(sources: Parameters<typeof compare>[0]) {
  const sweepIndex = index({ identities: [app, hand], attachments: [resource("vm1", [hand.id])], federatedCredentials: [credential] });
  sweepIndex.inventory.drift = compare(sources, {
    identities: [app, hand],
    attachments: [resource("vm1", [hand.id])],
    federatedCredentials: [credential],
    roleAssignments: [[grant, FOUND_MI], [assignment("u1", "b24988ac-6180-42a0-ab88-20f7382dd24c", "user-1"), FOUND_USER]],
  });
  return runRule(rule, sweepIndex, policy());
}

describe("drift-not-in-code", () => {
  it("reports each kind of thing in Azure and in no source, inside the source's scopes (subject, related as fixed)", () => {
    const drafts = run([source("tf", [S], { identities: [{ address: "azurerm_user_assigned_identity.app", id: app.id }] })]);
    expect(keys(drafts).sort()).toEqual(
      [
        ["drift-not-in-code", hand.id, undefined, "high"],
        ["drift-not-in-code", grant.id, undefined, "high"],
        ["drift-not-in-code", credential.id, undefined, "high"],
        ["drift-not-in-code", resource("vm1", []).id, hand.id, "high"],
      ].sort(),
    );
    const attachment = drafts.find((draft) => draft.relatedId === hand.id);
    expect(attachment?.evidence).toMatchObject({ thing: "attachment", source: "tf" });
    expect(rule.meta.remediation(attachment ?? drafts[0]!).cli).toEqual([expect.stringMatching(/^az vm identity remove --ids .*vm1 --identities .*id-hand$/)]);
  });

  it.each([
    ["outside every scope", [source("tf", [`${S}/resourceGroups/rg-elsewhere`])]],
    ["under a source that could not be read", [source("tf", [S]), unreadable("bad", [S])]],
    ["with no source at all", []],
  ])("reports nothing %s", (_, sources) => {
    expect(run(sources)).toEqual([]);
  });
});
