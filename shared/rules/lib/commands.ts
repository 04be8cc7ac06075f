/** Builders for the `az` commands a finding's remediation shows. Values are shell-quoted when needed. */

export function sh(value: string): string {
  return /^[A-Za-z0-9_./:=@,+-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}

export function deleteRoleAssignment(assignmentId: string): string {
  return `az role assignment delete --ids ${sh(assignmentId)}`;
}

export function listAssignmentsOf(principalId: string): string {
  return `az role assignment list --assignee ${sh(principalId)} --all --output table`;
}

/** The service-specific command that removes one user-assigned identity from a resource. */
export function detachIdentity(resourceId: string, resourceType: string, identityId: string): string {
  const type = resourceType.toLowerCase();
  const ids = `--ids ${sh(resourceId)}`;
  const identity = sh(identityId);
  if (type === "microsoft.compute/virtualmachines") return `az vm identity remove ${ids} --identities ${identity}`;
  if (type === "microsoft.compute/virtualmachinescalesets") return `az vmss identity remove ${ids} --identities ${identity}`;
  if (type === "microsoft.web/sites" || type === "microsoft.web/sites/slots") return `az webapp identity remove ${ids} --identities ${identity}`;
  if (type === "microsoft.app/containerapps") return `az containerapp identity remove ${ids} --user-assigned ${identity}`;
  return `az resource patch ${ids} --properties '{}' --set identity.userAssignedIdentities.${sh(identityId)}=null`;
}

export function tagIdentity(identityId: string, tags: string[]): string {
  return `az tag update --resource-id ${sh(identityId)} --operation merge --tags ${tags.map((tag) => `${tag}=<value>`).join(" ")}`;
}

export function showIdentity(identityId: string): string {
  return `az identity show --ids ${sh(identityId)}`;
}

/** `az identity federated-credential` commands take the identity's name and resource group, not ids. */
function credentialArgs(credentialId: string): string {
  const at = credentialId.toLowerCase().lastIndexOf("/federatedidentitycredentials/");
  const identityId = at < 0 ? "" : credentialId.slice(0, at);
  const name = at < 0 ? "<name>" : credentialId.slice(at + "/federatedIdentityCredentials/".length);
  const identityName = identityId ? identityId.slice(identityId.lastIndexOf("/") + 1) : "<identity name>";
  const resourceGroup = /\/resourceGroups\/([^/]+)/i.exec(identityId)?.[1] ?? "<resource group>";
  return `--name ${sh(name)} --identity-name ${sh(identityName)} --resource-group ${sh(resourceGroup)}`;
}

export function deleteFederatedCredential(credentialId: string): string {
  return `az identity federated-credential delete ${credentialArgs(credentialId)} --yes`;
}

export function showFederatedCredential(credentialId: string): string {
  return `az identity federated-credential show ${credentialArgs(credentialId)}`;
}
