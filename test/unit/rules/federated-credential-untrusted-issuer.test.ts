import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/federated-credential-untrusted-issuer.js";
import { identity, index, keys, policy, runRule } from "../../helpers/sweep.js";

const uami = identity("id-deploy-prod");
const credential = (issuer: string) => ({ id: `${uami.id}/federatedIdentityCredentials/fic1`, name: "fic1", identityId: uami.id, issuer, subject: "repo:contoso/app:environment:prod", audiences: ["api://AzureADTokenExchange"] });

describe("federated-credential-untrusted-issuer", () => {
  // [issuer, trustedIssuers (undefined: the default list), trusted?]
  const cases: Array<[string, string[] | undefined, boolean]> = [
    ["https://token.actions.githubusercontent.com", undefined, true],
    ["https://token.actions.githubusercontent.com/", undefined, true],
    ["HTTPS://TOKEN.ACTIONS.GITHUBUSERCONTENT.COM", undefined, true],
    ["https://token.actions.githubusercontent.com//", undefined, false],
    ["https://token.actions.githubusercontent.com.evil.example", undefined, false],
    ["https://token.actions.githubusercontent.com/contoso-enterprise", undefined, false],
    ["https://evil.example/token.actions.githubusercontent.com", undefined, false],
    ["https://uksouth.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/4d1a0d2f-1111-2222-3333-444455556666/", undefined, true],
    ["https://evil.example.oic.prod-aks.azure.com/tenant/", undefined, false],
    ["https://evil/x.oic.prod-aks.azure.com/", undefined, false],
    ["https://.oic.prod-aks.azure.com/x", undefined, false],
    ["https://oic.prod-aks.azure.com/x", undefined, false],
    ["https://vstoken.dev.azure.com/2f1f4ab1-aaaa-bbbb-cccc-0123456789ab", undefined, true],
    ["https://vstoken.dev.azure.com.evil.example/x", undefined, false],
    ["https://vstoken.dev.azure.com", undefined, false],
    ["https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0", undefined, true],
    ["https://gitlab.com", undefined, true],
    ["https://gitlab.com/", undefined, true],
    ["https://gitlab.com.evil.example", undefined, false],
    ["https://gitlab.example.com", undefined, false],
    ["https://app.terraform.io", undefined, true],
    ["https://attacker.example/oidc", undefined, false],
    ["", undefined, false],
    ["https://token.actions.githubusercontent.com", [], false],
    ["https://gitlab.contoso.com", ["https://gitlab.contoso.com"], true],
    ["https://gitlab.contoso.com/", ["https://gitlab.contoso.com"], true],
    ["https://a.gitlab.contoso.com", ["https://*.gitlab.contoso.com"], true],
    ["https://a.b.gitlab.contoso.com", ["https://*.gitlab.contoso.com"], false],
    ["https://gitlab.contoso.com", ["https://*.gitlab.contoso.com"], false],
    ["https://idp.contoso.com/tenants/7", ["https://idp.contoso.com/tenants/"], true],
    ["https://idp.contoso.com/tenants", ["https://idp.contoso.com/tenants/"], false],
  ];
  it.each(cases)("%s (trusted: %j) → trusted %s", (issuer, trustedIssuers, trusted) => {
    const drafts = runRule(rule, index({ identities: [uami], federatedCredentials: [credential(issuer)] }), policy(trustedIssuers ? { federation: { trustedIssuers } } : {}));
    expect(keys(drafts)).toEqual(trusted ? [] : [["federated-credential-untrusted-issuer", `${uami.id}/federatedIdentityCredentials/fic1`, uami.id, "high"]]);
  });

  it("rejects a trusted issuer that is not an https URL at startup", () => {
    expect(() => policy({ federation: { trustedIssuers: ["token.actions.githubusercontent.com"] } })).toThrow();
  });
});
