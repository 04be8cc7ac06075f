import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/federated-credential-risky-subject.js";
import type { FederatedCredential } from "../../../shared/model.js";
import { identity, index, keys, policy, runRule } from "../../helpers/sweep.js";

const uami = identity("id-deploy-prod");
const GITHUB = "https://token.actions.githubusercontent.com";
const credential = (issuer: string, subject: string, claimsMatchingExpression?: string): FederatedCredential => ({
  id: `${uami.id}/federatedIdentityCredentials/fic1`,
  name: "fic1",
  identityId: uami.id,
  issuer,
  subject,
  audiences: ["api://AzureADTokenExchange"],
  ...(claimsMatchingExpression ? { claimsMatchingExpression: { value: claimsMatchingExpression, languageVersion: 1 } } : {}),
});

describe("federated-credential-risky-subject", () => {
  const cases: Array<[string, FederatedCredential, string | undefined]> = [
    ["GitHub pull_request subject", credential(GITHUB, "repo:contoso/app:pull_request"), "high"],
    ["GitHub pull_request subject, issuer with a trailing slash and other casing", credential(`${GITHUB.toUpperCase()}/`, "REPO:Contoso/App:PULL_REQUEST"), "high"],
    ["flexible credential", credential(GITHUB, "", "claims['sub'] matches 'repo:contoso/*'"), "medium"],
    ["flexible credential and pull_request: high", credential(GITHUB, "repo:contoso/app:pull_request", "claims['sub'] matches 'repo:contoso/*'"), "high"],
    ["GitHub environment subject", credential(GITHUB, "repo:contoso/app:environment:prod"), undefined],
    ["GitHub branch subject", credential(GITHUB, "repo:contoso/app:ref:refs/heads/main"), undefined],
    ["pull_request on another issuer is not GitHub's claim", credential("https://gitlab.com", "repo:contoso/app:pull_request"), undefined],
    ["look-alike host is not GitHub", credential("https://token.actions.githubusercontent.com.evil.example", "repo:contoso/app:pull_request"), undefined],
    ["pull_request with an environment suffix is one workload", credential(GITHUB, "repo:contoso/app:pull_request:environment:x"), undefined],
  ];
  it.each(cases)("%s", (_name, item, severity) => {
    const drafts = runRule(rule, index({ identities: [uami], federatedCredentials: [item] }), policy());
    expect(keys(drafts)).toEqual(severity ? [["federated-credential-risky-subject", item.id, uami.id, severity]] : []);
  });
});
