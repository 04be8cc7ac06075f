import { DesiredStateFormatError, emptyDesiredState, type DesiredState } from "./model.js";

/**
 * ARM/Bicep what-if JSON, as `az deployment group|sub what-if --no-pretty-print` prints it (the
 * WhatIfOperationResult: `status`, `changes[]`) or as the REST API answers it (`properties.changes[]`;
 * azure-rest-api-specs Microsoft.Resources 2024-03-01 examples/PostDeploymentWhatIfOnResourceGroup.json).
 * Learn "ARM template deployment what-if operation": `Create`, `Deploy`, `Modify`, `NoChange` carry the
 * resource as it will be (`after`); `Delete` (complete mode) means the template does not want it;
 * `Ignore` (not in the template, or past what-if's expansion limits) and `Unsupported` say nothing.
 * What-if cannot resolve `reference()`: such a property comes back as the unevaluated expression
 * (`"[reference(...).principalId]"`), which is unknown here, never compared.
 */

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);

const DESIRED = new Set(["create", "deploy", "modify", "nochange"]);
const NOT_COMPARED = new Set(["ignore", "unsupported"]);
const KNOWN_CHANGE_TYPES = new Set([...DESIRED, ...NOT_COMPARED, "delete"]);

const IDENTITY_TYPE = "microsoft.managedidentity/userassignedidentities";
const CREDENTIAL_TYPE = "microsoft.managedidentity/userassignedidentities/federatedidentitycredentials";
const ROLE_ASSIGNMENT_TYPE = "microsoft.authorization/roleassignments";

/** An unevaluated template expression: `[` … `]` (a literal starting with `[` is written `[[` in a template). */
function evaluated(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  return /^\[(?!\[)[\s\S]*\]$/.test(value.trim()) ? undefined : value;
}

export function readWhatIfJson(document: unknown): DesiredState {
  if (!isObject(document)) throw new DesiredStateFormatError("not a JSON object");
  const properties = isObject(document["properties"]) ? document["properties"] : undefined;
  const changes = document["changes"] ?? properties?.["changes"];
  const status = typeof document["status"] === "string" ? document["status"] : undefined;
  if (status && status.toLowerCase() !== "succeeded") {
    const error = document["error"] ?? properties?.["error"];
    const message = isObject(error) && typeof error["message"] === "string" ? `: ${error["message"].slice(0, 200)}` : "";
    throw new DesiredStateFormatError(`the what-if operation did not succeed (status ${status.slice(0, 40)})${message}`);
  }
  if (!Array.isArray(changes)) throw new DesiredStateFormatError("no changes[]: not what-if output (az deployment … what-if --no-pretty-print)");
  const state = emptyDesiredState();
  for (const [index, change] of changes.entries()) {
    if (!isObject(change) || typeof change["resourceId"] !== "string" || typeof change["changeType"] !== "string") {
      throw new DesiredStateFormatError(`changes[${index}] has no resourceId or changeType`);
    }
    const resourceId = change["resourceId"];
    const changeType = change["changeType"].toLowerCase();
    if (!KNOWN_CHANGE_TYPES.has(changeType)) throw new DesiredStateFormatError(`changes[${index}].changeType ${change["changeType"].slice(0, 40)} is not a what-if change type`);
    if (NOT_COMPARED.has(changeType)) {
      state.notCompared.push(resourceId);
      continue;
    }
    if (!DESIRED.has(changeType)) continue;
    const after = change["after"];
    declare(state, resourceId, isObject(after) ? after : undefined);
  }
  return state;
}

function typeOf(resourceId: string, after: Json | undefined): string {
  const declared = typeof after?.["type"] === "string" ? after["type"] : undefined;
  if (declared) return declared.toLowerCase();
  const parts = resourceId.split("/").filter(Boolean);
  const at = parts.map((part) => part.toLowerCase()).lastIndexOf("providers");
  if (at < 0) return "";
  return [parts[at + 1], ...parts.slice(at + 2).filter((_, position) => position % 2 === 0)].join("/").toLowerCase();
}

function declare(state: DesiredState, resourceId: string, after: Json | undefined): void {
  const address = resourceId;
  const type = typeOf(resourceId, after);
  const properties = isObject(after?.["properties"]) ? after["properties"] : {};
  if (type === IDENTITY_TYPE) {
    const principalId = evaluated(properties["principalId"]);
    state.identities.push({ address, id: resourceId, ...(principalId ? { principalId } : {}) });
    return;
  }
  if (type === ROLE_ASSIGNMENT_TYPE) {
    const at = resourceId.toLowerCase().lastIndexOf("/providers/microsoft.authorization/roleassignments/");
    const scope = evaluated(properties["scope"]) ?? (at >= 0 ? resourceId.slice(0, at) || "/" : undefined);
    const roleDefinitionId = evaluated(properties["roleDefinitionId"]);
    const principalId = evaluated(properties["principalId"]);
    const condition = properties["condition"] === undefined || properties["condition"] === null ? "" : evaluated(properties["condition"]);
    state.roleAssignments.push({
      address,
      id: resourceId,
      ...(scope !== undefined ? { scope } : {}),
      ...(roleDefinitionId ? { roleDefinitionId } : {}),
      ...(principalId ? { principalId } : {}),
      ...(condition !== undefined ? { condition } : {}),
    });
    return;
  }
  if (type === CREDENTIAL_TYPE) {
    const at = resourceId.toLowerCase().lastIndexOf("/federatedidentitycredentials/");
    const issuer = evaluated(properties["issuer"]);
    const subject = evaluated(properties["subject"]);
    const audiences = Array.isArray(properties["audiences"]) ? properties["audiences"].map(evaluated) : undefined;
    state.federatedCredentials.push({
      address,
      id: resourceId,
      ...(at >= 0 ? { identityId: resourceId.slice(0, at), name: resourceId.slice(at + "/federatedIdentityCredentials/".length) } : {}),
      ...(issuer !== undefined ? { issuer } : {}),
      ...(subject !== undefined ? { subject } : {}),
      ...(audiences && audiences.every((audience) => audience !== undefined) ? { audiences } : {}),
    });
    return;
  }
  const identity = after?.["identity"];
  if (!isObject(identity)) return;
  const assigned = identity["userAssignedIdentities"];
  const keys = isObject(assigned) ? Object.keys(assigned) : [];
  const identityIds = keys.flatMap((key) => evaluated(key) ?? []);
  // An identity block that is itself an expression, or keys what-if could not evaluate: the set is not known whole.
  const complete = (assigned === undefined || assigned === null || isObject(assigned)) && identityIds.length === keys.length && evaluated(identity["type"]) !== undefined;
  state.attachments.push({ address, resourceId, identityIds, complete });
}
