import { deleteFederatedCredential, deleteRoleAssignment, sh } from "./commands.js";
import { MICROSOFT_GRAPH_APP_ID } from "./entraRoles.js";

/**
 * docs/output.md "Fix first": one grant whose removal clears findings. A finding names the targets that alone clear it
 * (`FindingDraft.fixes`); the engine ranks the targets by the findings they clear.
 */
export type FixKind = "role-assignment" | "role-eligibility" | "federated-credential" | "app-role-assignment" | "directory-role-assignment" | "directory-role-eligibility";

export interface FixTarget {
  kind: FixKind;
  /** The id of what is removed: role assignment, eligibility instance, credential, app role or directory role assignment. */
  target: string;
  title: string;
  /** The command that removes it. */
  az: string;
}

const GRAPH = "https://graph.microsoft.com/v1.0";

export function roleAssignmentFix(id: string, roleName: string, holder: string, scope: string): FixTarget {
  return { kind: "role-assignment", target: id, title: `Remove ${roleName} of ${holder} at ${scope}`, az: deleteRoleAssignment(id) };
}

/**
 * PIM eligibility is removed with a schedule request (Learn REST "Role Eligibility Schedule Requests - Create",
 * requestType AdminRemove); Azure CLI has no command of its own for it, so `az rest` sends the request.
 */
export function roleEligibilityFix(eligibility: { id: string; scope: string; roleDefinitionId: string; principalId: string }, roleName: string, holder: string): FixTarget {
  const body = JSON.stringify({ properties: { principalId: eligibility.principalId, roleDefinitionId: eligibility.roleDefinitionId, requestType: "AdminRemove" } });
  const url = `https://management.azure.com${eligibility.scope}/providers/Microsoft.Authorization/roleEligibilityScheduleRequests/$(uuidgen)?api-version=2020-10-01`;
  return {
    kind: "role-eligibility",
    target: eligibility.id,
    title: `Remove the eligibility for ${roleName} of ${holder} at ${eligibility.scope}`,
    az: `az rest --method put --url "${url}" --body ${sh(body)}`,
  };
}

export function federatedCredentialFix(credentialId: string, identityName: string): FixTarget {
  const name = credentialId.slice(credentialId.lastIndexOf("/") + 1);
  return { kind: "federated-credential", target: credentialId, title: `Delete federated credential ${name} of ${identityName}`, az: deleteFederatedCredential(credentialId) };
}

/** Learn "Delete appRoleAssignedTo": DELETE /servicePrincipals/{resource}/appRoleAssignedTo/{id}. */
export function appRoleAssignmentFix(grant: { id: string; resourceId: string }, permission: string, holder: string): FixTarget {
  const resource = grant.resourceId || `(appId='${MICROSOFT_GRAPH_APP_ID}')`;
  const path = grant.resourceId ? `/servicePrincipals/${resource}` : `/servicePrincipals${resource}`;
  return {
    kind: "app-role-assignment",
    target: grant.id,
    title: `Remove Microsoft Graph ${permission} from ${holder}`,
    az: `az rest --method delete --url ${sh(`${GRAPH}${path}/appRoleAssignedTo/${grant.id}`)}`,
  };
}

/** Learn "Delete unifiedRoleAssignment", and for eligibility a schedule request with action adminRemove. */
export function directoryRoleFix(grant: { id: string; principalId: string; roleDefinitionId: string; directoryScopeId: string; eligible: boolean }, roleName: string, holder: string): FixTarget {
  if (!grant.eligible) {
    return {
      kind: "directory-role-assignment",
      target: grant.id,
      title: `Remove ${roleName} of ${holder} at ${grant.directoryScopeId}`,
      az: `az rest --method delete --url ${sh(`${GRAPH}/roleManagement/directory/roleAssignments/${grant.id}`)}`,
    };
  }
  const body = JSON.stringify({ action: "adminRemove", principalId: grant.principalId, roleDefinitionId: grant.roleDefinitionId, directoryScopeId: grant.directoryScopeId });
  return {
    kind: "directory-role-eligibility",
    target: grant.id,
    title: `Remove the eligibility for ${roleName} of ${holder} at ${grant.directoryScopeId}`,
    az: `az rest --method post --url ${GRAPH}/roleManagement/directory/roleEligibilityScheduleRequests --body ${sh(body)}`,
  };
}
