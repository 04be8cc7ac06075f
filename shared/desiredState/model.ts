/**
 * What a desired-state source (Terraform JSON, ARM/Bicep what-if JSON) declares about user-assigned
 * identities, as plain data. A field left `undefined` is one the tool did not know (a plan's
 * `after_unknown`, an unevaluated what-if expression): it is never compared.
 */

/** Where a declaration comes from: a Terraform address (`module.app.azurerm_role_assignment.reader`) or a what-if `resourceId`. */
export interface Declared {
  address: string;
}

export interface DeclaredIdentity extends Declared {
  id?: string;
  name?: string;
  resourceGroup?: string;
  principalId?: string;
}

/** The user-assigned identities a resource's `identity` block names. */
export interface DeclaredAttachments extends Declared {
  resourceId: string;
  identityIds: string[];
  /** False when some of the identities were not known (a plan's unknown list element): no identity of this resource is called "not in code". */
  complete: boolean;
}

export interface DeclaredRoleAssignment extends Declared {
  id?: string;
  scope?: string;
  /** The full role definition id as declared; compared by its trailing GUID. */
  roleDefinitionId?: string;
  /** `role_definition_name`: resolved through the role definitions the sweep read. */
  roleName?: string;
  principalId?: string;
  /** `""` is "no condition"; undefined is unknown. */
  condition?: string;
}

export interface DeclaredCredential extends Declared {
  id?: string;
  identityId?: string;
  name?: string;
  issuer?: string;
  subject?: string;
  audiences?: string[];
}

export interface DesiredState {
  identities: DeclaredIdentity[];
  attachments: DeclaredAttachments[];
  roleAssignments: DeclaredRoleAssignment[];
  federatedCredentials: DeclaredCredential[];
  /** Ids the source lists without a desired value (what-if `Ignore`/`Unsupported`): nothing is said about them. */
  notCompared: string[];
}

export const DESIRED_STATE_FORMATS = ["terraform", "what-if"] as const;
export type DesiredStateFormat = (typeof DESIRED_STATE_FORMATS)[number];

/** A source as read: its declarations, or why it could not be read (then nothing under its scopes is reported). */
export type SourceRead =
  | { path: string; format: DesiredStateFormat; scopes: string[]; ok: true; files: string[]; state: DesiredState }
  | { path: string; format: DesiredStateFormat; scopes: string[]; ok: false; reason: string };

/** A document that is not what its format says: the source is unreadable. */
export class DesiredStateFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DesiredStateFormatError";
  }
}

export function emptyDesiredState(): DesiredState {
  return { identities: [], attachments: [], roleAssignments: [], federatedCredentials: [], notCompared: [] };
}

export function mergeDesiredStates(states: DesiredState[]): DesiredState {
  const merged = emptyDesiredState();
  for (const state of states) {
    merged.identities.push(...state.identities);
    merged.attachments.push(...state.attachments);
    merged.roleAssignments.push(...state.roleAssignments);
    merged.federatedCredentials.push(...state.federatedCredentials);
    merged.notCompared.push(...state.notCompared);
  }
  return merged;
}
