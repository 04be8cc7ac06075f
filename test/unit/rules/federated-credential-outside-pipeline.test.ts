import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/federated-credential-outside-pipeline.js";
import { APPROVED, facts, NOT_APPROVED, resourceEvent } from "../../helpers/events.js";
import { keys, policy, RG } from "../../helpers/sweep.js";

const IDENTITY = `${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-a`;
const FIC = `${IDENTITY}/federatedIdentityCredentials/gh`;

describe("federated-credential-outside-pipeline", () => {
  it.each([
    ["by a user", false, [["federated-credential-outside-pipeline", FIC, IDENTITY, "high"]]],
    ["by an approved pipeline", true, []],
  ])("%s", (_name, approved, expected) => {
    const event = resourceEvent("Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write", FIC);
    const drafts = rule.evaluate(facts("federated-credential-write", event, approved ? APPROVED : NOT_APPROVED, { federatedCredential: { issuer: "https://token.actions.githubusercontent.com", subject: "repo:x/y:ref:refs/heads/main" } }), policy());
    expect(keys(drafts)).toEqual(expected);
  });
});
