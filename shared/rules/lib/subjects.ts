/**
 * docs/rules/federated-credential-untrusted-subject.md: a trusted issuer is not enough — GitHub, Entra ID, Azure DevOps, AKS, GitLab and
 * Terraform Cloud issue tokens to anyone's workloads, so the credential's subject (or the issuer's tenant or
 * organisation part) must name one of the organisation's own. Formats:
 * - GitHub (Learn "Workload identity federation"; GitHub docs "About security hardening with OpenID Connect"): issuer
 *   `https://token.actions.githubusercontent.com` (GitHub Enterprise Cloud adds `/<enterprise>`), subject
 *   `repo:<owner>/<repo>:…`, or a customised subject starting `repository_owner:<owner>` / `repository_owner_id:<id>`;
 * - Entra ID: `https://login.microsoftonline.com/<tenant>/v2.0`, `https://sts.windows.net/<tenant>/`;
 * - Azure DevOps: `https://vstoken.dev.azure.com/<organization id>` (Learn "Connect to Azure with an Azure Resource
 *   Manager service connection", workload identity federation);
 * - AKS: `https://<region>.oic.prod-aks.azure.com/<tenant>/<guid>/`, one per cluster (its `oidcIssuerProfile.issuerURL`);
 * - GitLab: `https://gitlab.com` or a self-managed host, subject `project_path:<group>/<project>:…`;
 * - HCP Terraform: `https://app.terraform.io`, subject `organization:<org>:project:…:workspace:…:run_phase:…`.
 * A flexible credential (Learn "Flexible federated identity credentials") is judged on every subject its expression can
 * match; one this cannot read is untrusted.
 */

export type Platform = "GitHub" | "Entra ID" | "Azure DevOps" | "AKS" | "GitLab" | "Terraform Cloud";

export interface SubjectAllowLists {
  githubOwners: readonly string[];
  entraTenants: readonly string[];
  azureDevOpsOrganizations: readonly string[];
  aksIssuers: readonly string[];
  gitlabGroups: readonly string[];
  terraformOrganizations: readonly string[];
}

export interface SubjectVerdict {
  platform: Platform;
  /** What the value is: a GitHub owner, an Entra tenant, an organisation, an AKS issuer, a GitLab group. */
  what: "owner" | "tenant" | "organization" | "issuer" | "group";
  /** The policy key that would allow it. */
  policyKey: string;
  /** What the credential names that no allow-list entry covers ("*" when an expression matches any; "(unreadable)"). */
  untrusted: string[];
}

const GITHUB = /^https:\/\/token\.actions\.githubusercontent\.com(\/[^/]+)?\/?$/i;
const ENTRA = /^https:\/\/(?:login\.microsoftonline\.com\/([^/]+)(?:\/v2\.0)?|sts\.windows\.net\/([^/]+))\/?$/i;
const AZURE_DEVOPS = /^https:\/\/vstoken\.dev\.azure\.com\/([^/]+)\/?$/i;
const AKS = /^https:\/\/[^/]+\.oic\.prod-aks\.azure\.com\//i;
const GITLAB_COM = /^https:\/\/gitlab\.com\/?$/i;
const TERRAFORM = /^https:\/\/app\.terraform\.io\/?$/i;

export function isAksIssuer(issuer: string): boolean {
  return AKS.test(issuer);
}

const UNREADABLE = "(unreadable)";
const ANY = "*";

/**
 * Whether a credential (whose issuer the policy trusts) names only the organisation's own: undefined when it does, or
 * when the issuer is none of the six platforms (an issuer of the organisation's own). `aksIssuers` already holds the
 * estate's clusters; `entraTenants` the estate's own tenant unless the policy lists others.
 */
export function untrustedSubject(credential: { issuer: string; subject: string; claimsMatchingExpression?: { value: string } }, allow: SubjectAllowLists): SubjectVerdict | undefined {
  const issuer = credential.issuer.trim();
  const entra = ENTRA.exec(issuer);
  if (entra) return judge("Entra ID", "tenant", "federation.subjects.entraTenants", [entra[1] ?? entra[2] ?? ""], allow.entraTenants);
  const devops = AZURE_DEVOPS.exec(issuer);
  if (devops) return judge("Azure DevOps", "organization", "federation.subjects.azureDevOpsOrganizations", [devops[1] ?? ""], allow.azureDevOpsOrganizations);
  if (AKS.test(issuer)) return judge("AKS", "issuer", "federation.subjects.aksIssuers", [issuer], allow.aksIssuers, normaliseIssuer);
  const subjects = subjectsOf(credential);
  if (GITHUB.test(issuer)) return judge("GitHub", "owner", "federation.subjects.githubOwners", subjects.map(githubOwner), allow.githubOwners);
  if (TERRAFORM.test(issuer)) return judge("Terraform Cloud", "organization", "federation.subjects.terraformOrganizations", subjects.map(terraformOrganization), allow.terraformOrganizations);
  if (GITLAB_COM.test(issuer) || subjects.some((subject) => subject.toLowerCase().startsWith("project_path:"))) {
    return judge("GitLab", "group", "federation.subjects.gitlabGroups", subjects.map(gitlabGroup), allow.gitlabGroups);
  }
  return undefined;
}

function judge(platform: Platform, what: SubjectVerdict["what"], policyKey: string, values: string[], allowed: readonly string[], normalise: (value: string) => string = (value) => value.toLowerCase()): SubjectVerdict | undefined {
  const known = new Set(allowed.map(normalise));
  const untrusted = [...new Set(values.filter((value) => value === ANY || value === UNREADABLE || value === "" || !known.has(normalise(value))).map((value) => value || UNREADABLE))];
  return untrusted.length === 0 ? undefined : { platform, what, policyKey, untrusted };
}

function normaliseIssuer(issuer: string): string {
  return issuer.trim().replace(/\/+$/, "").toLowerCase();
}

/**
 * The subjects a credential can be satisfied by: its one subject, or each `claims['sub'] matches|eq '…'` alternative
 * of a flexible credential's expression (an alternative without one can match any subject: unreadable).
 */
function subjectsOf(credential: { subject: string; claimsMatchingExpression?: { value: string } }): string[] {
  const expression = credential.claimsMatchingExpression?.value;
  if (expression === undefined) return [credential.subject.trim()];
  return expression.split(/\s+or\s+/i).map((alternative) => {
    const match = /claims\s*\[\s*'sub'\s*\]\s+(?:matches|eq)\s+'([^']*)'/i.exec(alternative);
    return match ? `\u0000${match[1] ?? ""}` : UNREADABLE;
  });
}

/** A subject, or a flexible credential's pattern (marked with a leading NUL): a wildcard in a pattern's part means any value. */
function read(subject: string): { text: string; pattern: boolean } | undefined {
  if (subject === UNREADABLE) return undefined;
  return subject.startsWith("\u0000") ? { text: subject.slice(1), pattern: true } : { text: subject, pattern: false };
}

function settle(value: string | undefined, pattern: boolean, text: string): string {
  if (value === undefined) return pattern && /^[*?]/.test(text) ? ANY : UNREADABLE;
  if (pattern && /[*?]/.test(value)) return ANY;
  return value || UNREADABLE;
}

/** The owner in `repo:<owner>/<repo>:…`, `repository_owner:<owner>:…` or `repository_owner_id:<id>:…`. */
function githubOwner(subject: string): string {
  const subjectRead = read(subject);
  if (!subjectRead) return UNREADABLE;
  const { text, pattern } = subjectRead;
  const value = /^repo:([^/:]*)\//i.exec(text)?.[1] ?? /^repository_owner(?:_id)?:([^:]*)/i.exec(text)?.[1];
  return settle(value, pattern, text);
}

/** Terraform's organization: `organization:<org>:…`. */
function terraformOrganization(subject: string): string {
  const subjectRead = read(subject);
  if (!subjectRead) return UNREADABLE;
  return settle(/^organization:([^:]*)/i.exec(subjectRead.text)?.[1], subjectRead.pattern, subjectRead.text);
}

/** GitLab's top-level group: the first segment of `project_path:<group>/…`. */
function gitlabGroup(subject: string): string {
  const subjectRead = read(subject);
  if (!subjectRead) return UNREADABLE;
  const path = /^project_path:([^:]*)/i.exec(subjectRead.text)?.[1];
  return settle(path === undefined ? undefined : path.split("/")[0], subjectRead.pattern, subjectRead.text);
}
