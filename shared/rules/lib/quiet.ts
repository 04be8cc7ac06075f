import type { CorePolicy } from "../../config/policyCore.js";
import { idKey } from "../../model.js";
import type { EventFacts } from "../types.js";

/**
 * Why an event that was handled gave no finding, in the words of what was read back (pure): the caller
 * was approved, ARM no longer has the thing, the assignee is not a managed identity, every identity was
 * already known… `replay --verbose` prints it, so a documented example that shows nothing says why.
 * `enabled` are the event rules enabled for this change.
 */
export function whyNoFinding(facts: EventFacts, policy: CorePolicy & { watchAllPrincipals?: boolean }, enabled: string[]): string {
  if (enabled.length === 0) return `no rule for ${facts.change} is enabled in the policy`;
  const id = facts.event.resourceUri;
  const approved = facts.approval.approved ? `the caller is approved (${facts.approval.reason})` : undefined;
  switch (facts.change) {
    case "role-assignment-write": {
      if (approved) return `${approved}, and the write is not on one of the guard's own resources`;
      const assignment = facts.roleAssignment;
      if (!assignment) return `ARM has no role assignment ${id} now (deleted since the event, or never created): nothing to judge`;
      const principal = facts.principal;
      if (!principal || principal.state === "unknown") return `the assignee ${assignment.principalId} could not be looked up in the directory (see incomplete): not judged`;
      if (principal.state === "missing") return `the assignee ${assignment.principalId} is not in the directory (deleted?): the sweep reports it as an orphan`;
      const managed = principal.object.servicePrincipalType?.toLowerCase() === "managedidentity";
      const type = principal.object.odataType.replace(/^#microsoft\.graph\./i, "");
      const who = `${principal.object.displayName ?? assignment.principalId} (${type.charAt(0).toUpperCase()}${type.slice(1)})`;
      if (!managed && !policy.watchAllPrincipals) return `the assignee ${who} is not a managed identity, and the policy's watchAllPrincipals is false`;
      return `the grant to ${who} gives no right over a critical or high identity of the last sweep, and no rule's conditions held`;
    }
    case "attachment-write": {
      const resource = facts.resource;
      if (!resource) return `ARM has no resource ${id} now (deleted since the event): nothing to judge`;
      if (resource.userAssignedIdentityIds.length === 0) return `${resource.id} has no user-assigned identity attached`;
      if (approved) return `${approved}; the attachment baseline now holds what it attached`;
      const known = new Set((facts.baseline ?? []).map(idKey));
      if (resource.userAssignedIdentityIds.every((identity) => known.has(idKey(identity)))) return `every identity attached to ${resource.id} was already in the attachment baseline`;
      return "no rule's conditions held";
    }
    case "federated-credential-write":
      if (approved) return approved;
      if (!facts.federatedCredential) return `ARM has no federated credential ${id} now (deleted since the event): nothing to judge`;
      return "no rule's conditions held";
    case "identity-delete":
      if (facts.usage && facts.usage.resources.length === 0 && facts.usage.roleAssignments.length === 0) {
        return `nothing used the identity any more (no attached resource, no role assignment)${approved ? `, and ${approved}` : ""}`;
      }
      return approved ?? "no rule's conditions held";
    case "identity-write":
      return approved ?? "no rule's conditions held";
    case "role-assignment-delete":
    case "federated-credential-delete":
      return `a delete resolves the open findings about ${id}${facts.deleted === false ? " (ARM still has it: nothing resolved)" : ""}; it raises none unless it touches the guard itself`;
    case "resource-change":
    case "guard-scope-write":
    case "role-definition-change":
      return `the change touches the guard, but the caller is the guard's own identity or one of self.deployers, or nothing of the guard is under ${id}`;
  }
}
