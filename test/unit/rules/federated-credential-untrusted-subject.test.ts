import { describe, expect, it } from "vitest";
import { rule } from "../../../shared/rules/federated-credential-untrusted-subject.js";
import { BUILT_IN_ROLES } from "../../../shared/rules/lib/roles.js";
import type { FederatedCredential } from "../../../shared/model.js";
import { assignment, exposureIndex, FOUND_MI, identity, keys, policy, runRule, S } from "../../helpers/sweep.js";

const OWN_TENANT = "4f8c2b1a-6d3e-4a59-9b7c-2e1f0a3d5c68";
const OTHER_TENANT = "99999999-0000-4000-8000-000000000000";
const ADO_ORG = "a3c1e2f4-0000-4000-8000-000000000123";
const CLUSTER = `https://uksouth.oic.prod-aks.azure.com/${OWN_TENANT}/11111111-0000-4000-8000-00000000aaaa/`;
const id = identity("id-x", { tenantId: OWN_TENANT });
const GITHUB = "https://token.actions.githubusercontent.com";

const credential = (issuer: string, subject: string, expression?: string): FederatedCredential => ({
  id: `${id.id}/federatedIdentityCredentials/fic`,
  name: "fic",
  identityId: id.id,
  issuer,
  subject: expression ? "" : subject,
  audiences: ["api://AzureADTokenExchange"],
  ...(expression ? { claimsMatchingExpression: { value: expression, languageVersion: 1 } } : {}),
});

const SUBJECTS = { githubOwners: ["contoso", "123456"], azureDevOpsOrganizations: [ADO_ORG], gitlabGroups: ["contoso-group"], terraformOrganizations: ["contoso-tf"], aksIssuers: [] as string[] };

type Case = [name: string, credential: FederatedCredential, untrusted: string | undefined, extra?: Record<string, unknown>];
const cases: Case[] = [
  ["GitHub: an owner of the organisation", credential(GITHUB, "repo:contoso/app:environment:prod"), undefined],
  ["GitHub: the owner in another case", credential(GITHUB, "repo:Contoso/app:ref:refs/heads/main"), undefined],
  ["GitHub: someone else's repository", credential(GITHUB, "repo:mallory/evil:ref:refs/heads/main"), "mallory"],
  ["GitHub Enterprise issuer: the owner is still read from the subject", credential(`${GITHUB}/contoso-enterprise`, "repo:mallory/evil:environment:prod"), "mallory"],
  ["GitHub: a customised subject with repository_owner", credential(GITHUB, "repository_owner:contoso:environment:prod"), undefined],
  ["GitHub: a customised subject with repository_owner_id", credential(GITHUB, "repository_owner_id:123456:repository_id:42"), undefined],
  ["GitHub: an unknown repository_owner_id", credential(GITHUB, "repository_owner_id:999"), "999"],
  ["GitHub: a subject that names no owner", credential(GITHUB, "environment:prod"), "(unreadable)"],
  ["GitHub flexible: every alternative the organisation's", credential(GITHUB, "", "claims['sub'] matches 'repo:contoso/app:ref:refs/heads/*' or claims['sub'] eq 'repo:contoso/lib:environment:prod'"), undefined],
  ["GitHub flexible: one alternative someone else's", credential(GITHUB, "", "claims['sub'] matches 'repo:contoso/app:*' or claims['sub'] eq 'repo:mallory/x:environment:prod'"), "mallory"],
  ["GitHub flexible: a wildcard in the owner matches anyone's", credential(GITHUB, "", "claims['sub'] matches 'repo:*/app:ref:refs/heads/main'"), "*"],
  ["GitHub flexible: an expression that cannot be read", credential(GITHUB, "", "claims['job_workflow_ref'] matches 'contoso/*'"), "(unreadable)"],
  ["Entra ID: the estate's own tenant (default)", credential(`https://login.microsoftonline.com/${OWN_TENANT}/v2.0`, "app"), undefined],
  ["Entra ID: another tenant", credential(`https://login.microsoftonline.com/${OTHER_TENANT}/v2.0`, "app"), OTHER_TENANT],
  ["Entra ID v1 issuer: another tenant", credential(`https://sts.windows.net/${OTHER_TENANT}/`, "app"), OTHER_TENANT],
  ["Azure DevOps: a listed organization", credential(`https://vstoken.dev.azure.com/${ADO_ORG}`, "sc://contoso/project/connection"), undefined],
  ["Azure DevOps: an unknown organization", credential("https://vstoken.dev.azure.com/b0000000-0000-4000-8000-000000000bad", "sc://x/y/z"), "b0000000-0000-4000-8000-000000000bad"],
  ["AKS: a cluster of the estate", credential(CLUSTER, "system:serviceaccount:app:app"), undefined],
  ["AKS: a cluster of the estate, issuer without its trailing slash", credential(CLUSTER.slice(0, -1), "system:serviceaccount:app:app"), undefined],
  ["AKS: another cluster", credential(`https://westeurope.oic.prod-aks.azure.com/${OTHER_TENANT}/22222222-0000-4000-8000-00000000bbbb/`, "system:serviceaccount:x:y"), `https://westeurope.oic.prod-aks.azure.com/${OTHER_TENANT}/22222222-0000-4000-8000-00000000bbbb/`],
  ["GitLab: a group of the organisation", credential("https://gitlab.com", "project_path:contoso-group/app:ref_type:branch:ref:main"), undefined],
  ["GitLab: another group", credential("https://gitlab.com", "project_path:mallory/app:ref_type:branch:ref:main"), "mallory"],
  ["GitLab flexible: a wildcard below the group is still the group's", credential("https://gitlab.com", "", "claims['sub'] matches 'project_path:contoso-group/*'"), undefined],
  ["Terraform Cloud: an organization of the organisation", credential("https://app.terraform.io", "organization:contoso-tf:project:p:workspace:w:run_phase:apply"), undefined],
  ["Terraform Cloud: another organization", credential("https://app.terraform.io", "organization:mallory:project:p:workspace:w:run_phase:apply"), "mallory"],
  ["an issuer of no known platform (the organisation's own) is not judged", credential("https://issuer.contoso.example", "anything"), undefined],
];

describe("federated-credential-untrusted-subject", () => {
  const trusted = [GITHUB, "https://token.actions.githubusercontent.com/", "https://*.oic.prod-aks.azure.com/", "https://vstoken.dev.azure.com/", "https://login.microsoftonline.com/", "https://sts.windows.net/", "https://gitlab.com", "https://app.terraform.io", "https://issuer.contoso.example"];
  it.each(cases)("%s", (_name, item, untrusted) => {
    const sweepIndex = exposureIndex({ identities: [id], federatedCredentials: [item] }, [], { aksClusters: [{ id: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks", issuerUrl: CLUSTER }] });
    const drafts = runRule(rule, sweepIndex, policy({ federation: { trustedIssuers: trusted, subjects: SUBJECTS } }));
    if (untrusted === undefined) {
      expect(drafts).toEqual([]);
      return;
    }
    expect(keys(drafts)).toEqual([["federated-credential-untrusted-subject", item.id, id.id, "medium"]]);
    expect(drafts[0]?.evidence["untrusted"]).toContain(untrusted);
  });

  it("an untrusted issuer is left to federated-credential-untrusted-issuer", () => {
    const sweepIndex = exposureIndex({ identities: [id], federatedCredentials: [credential("https://token.actions.githubusercontent.com.evil.example", "repo:mallory/x:ref:refs/heads/main")] }, []);
    expect(runRule(rule, sweepIndex, policy())).toEqual([]);
  });

  it("severity follows the identity's grade; evidence names platform, owner and the policy key", () => {
    const item = credential(GITHUB, "repo:mallory/evil:ref:refs/heads/main");
    const critical = exposureIndex({ identities: [id], federatedCredentials: [item] }, [[assignment("own", BUILT_IN_ROLES.owner, id.principalId, S), FOUND_MI]]);
    const [draft] = runRule(rule, critical, policy());
    expect(draft?.severity).toBe("critical");
    expect(draft?.evidence).toMatchObject({ platform: "GitHub", owner: "mallory", policyKey: "federation.subjects.githubOwners", grade: "critical" });
    expect(draft?.fixes).toEqual([expect.objectContaining({ kind: "federated-credential", target: item.id })]);
    const high = exposureIndex({ identities: [id], federatedCredentials: [item] }, [[assignment("own", BUILT_IN_ROLES.contributor, id.principalId, S), FOUND_MI]]);
    expect(runRule(rule, high, policy())[0]?.severity).toBe("high");
  });

  it("entraTenants, when set, replaces the estate's own tenant; AKS clusters not read leave AKS credentials unjudged", () => {
    const own = credential(`https://login.microsoftonline.com/${OWN_TENANT}/v2.0`, "app");
    const listed = exposureIndex({ identities: [id], federatedCredentials: [own] }, []);
    expect(runRule(rule, listed, policy({ federation: { subjects: { entraTenants: [OTHER_TENANT] } } }))).toHaveLength(1);
    const aks = exposureIndex({ identities: [id], federatedCredentials: [credential(CLUSTER, "system:serviceaccount:a:b")] }, []);
    expect(runRule(rule, aks, policy())).toEqual([]);
  });
});
