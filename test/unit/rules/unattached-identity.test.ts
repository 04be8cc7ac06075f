import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/unattached-identity.js";
import { identity, index, keys, policy, resource, runRule } from "../../helpers/sweep.js";

const free = identity("id-free");
const holder = identity("id-holder");
const attached = identity("id-attached");
const federated = identity("id-federated");

describe("unattached-identity", () => {
  it("reports identities attached nowhere without federated credentials; medium when they hold roles", () => {
    const drafts = runRule(
      rule,
      index({
        identities: [free, holder, attached, federated],
        attachments: [resource("vm1", [attached.id.toLowerCase()])],
        federatedCredentials: [{ id: `${federated.id}/federatedIdentityCredentials/gh`, name: "gh", identityId: federated.id, issuer: "i", subject: "s", audiences: [] }],
        assignmentsByPrincipal: { [holder.principalId]: 2 },
      }),
      policy(),
    );
    expect(keys(drafts)).toEqual([
      ["unattached-identity", free.id, undefined, "low"],
      ["unattached-identity", holder.id, undefined, "medium"],
    ]);
  });
});
