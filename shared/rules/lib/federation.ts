import { z } from "zod";

/** docs/policy.md `federation.trustedIssuers`: the issuers of GitHub Actions, AKS, Azure DevOps, Entra ID, GitLab and HCP Terraform. */
export const DEFAULT_TRUSTED_ISSUERS: readonly string[] = [
  "https://token.actions.githubusercontent.com",
  "https://*.oic.prod-aks.azure.com/",
  "https://vstoken.dev.azure.com/",
  "https://login.microsoftonline.com/",
  "https://gitlab.com",
  "https://app.terraform.io",
];

const trustedIssuerSchema = z
  .string()
  .regex(/^https:\/\/[^\s]+$/i, "must be an https:// issuer URL (a * stands for one host label part; a trailing / matches every issuer that begins with it)");

/** The `federation` policy key, owned by every federation rule together (each names this one schema in its `meta.options`). */
export const federationOptions = z
  .strictObject({ trustedIssuers: z.array(trustedIssuerSchema).default([...DEFAULT_TRUSTED_ISSUERS]) })
  .default({ trustedIssuers: [...DEFAULT_TRUSTED_ISSUERS] });

/**
 * docs/rules/federated-credential-untrusted-issuer.md: an issuer is trusted when an entry of `federation.trustedIssuers` matches it,
 * case-insensitively. In an entry `*` stands for one or more characters other than `/` and `.` (so
 * `https://*.oic.prod-aks.azure.com/` names one AKS OIDC host, never `evil.example/x.oic…`); an entry
 * ending in `/` matches every issuer that begins with it; any other entry must equal the issuer, one
 * trailing `/` of the issuer ignored (so `https://token.actions.githubusercontent.com.evil.example` is not
 * GitHub's issuer).
 */
export function issuerPattern(entry: string): RegExp {
  const body = entry
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, "\\$&"))
    .join("[^/.]+");
  return entry.endsWith("/") ? new RegExp(`^${body}`, "i") : new RegExp(`^${body}/?$`, "i");
}

export function trustedIssuer(issuer: string, trustedIssuers: readonly string[]): string | undefined {
  return trustedIssuers.find((entry) => issuerPattern(entry).test(issuer));
}

/** GitHub Actions' OIDC issuer (github.com; GitHub Enterprise Cloud adds `/<enterprise>`). Learn "Workload identity federation", GitHub docs "About security hardening with OpenID Connect". */
const GITHUB_ISSUER = /^https:\/\/token\.actions\.githubusercontent\.com(\/[^/]+)?\/?$/i;

/** `repo:<owner>/<repo>:pull_request`: any pull request's workflow run, forks included, gets a token. */
const PULL_REQUEST_SUBJECT = /^repo:[^/:\s]+\/[^/:\s]+:pull_request$/i;

export interface RiskyReason {
  severity: "high" | "medium";
  reason: string;
}

/** Why a credential trusts more than one protected workload (docs/rules/federated-credential-risky-subject.md). */
export function riskyReasons(credential: { issuer: string; subject: string; claimsMatchingExpression?: { value: string } }): RiskyReason[] {
  const reasons: RiskyReason[] = [];
  if (GITHUB_ISSUER.test(credential.issuer) && PULL_REQUEST_SUBJECT.test(credential.subject.trim())) {
    reasons.push({ severity: "high", reason: `subject ${credential.subject} gives a token to the workflow run of any pull request` });
  }
  if (credential.claimsMatchingExpression !== undefined) {
    reasons.push({ severity: "medium", reason: `flexible credential: claims matching expression ${credential.claimsMatchingExpression.value} can match more than one workload` });
  }
  return reasons;
}
