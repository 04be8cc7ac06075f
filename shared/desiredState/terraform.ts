import { DesiredStateFormatError, emptyDesiredState, type DesiredState } from "./model.js";

/**
 * `terraform show -json` of a state or of a saved plan, as HashiCorp documents it ("JSON Output Format",
 * developer.hashicorp.com/terraform/internals/json-format): `format_version` (major 1), a state's
 * `values.root_module`, a plan's `planned_values.root_module`, each with `resources[]` (`address`, `mode`,
 * `type`, `values`) and `child_modules[]` recursively; in a plan, `resource_changes[].change.after_unknown`
 * marks what Terraform will only know after apply ("values ... unknown values are omitted or set to null").
 * Pure: the document in, the declarations out; a document that is not this format throws.
 */

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);

interface TerraformResource {
  address: string;
  mode: string;
  type: string;
  values: Json;
}

/** Unknown-value marks of one resource: `true` for a whole attribute, or the same shape as the value. */
type UnknownMarks = unknown;

export function readTerraformJson(document: unknown): DesiredState {
  if (!isObject(document)) throw new DesiredStateFormatError("not a JSON object");
  if (typeof document["version"] === "number" && Array.isArray(document["resources"]) && document["format_version"] === undefined) {
    throw new DesiredStateFormatError("a raw state file (terraform.tfstate), not `terraform show -json` output: publish `terraform show -json` of it instead");
  }
  const version = document["format_version"];
  if (typeof version !== "string") throw new DesiredStateFormatError("no format_version: not `terraform show -json` output");
  if (!/^1\.\d+$/.test(version)) throw new DesiredStateFormatError(`format_version ${version.slice(0, 20)} is not supported (major version 1 only)`);
  const plan = document["planned_values"] !== undefined || document["resource_changes"] !== undefined;
  const values = plan ? document["planned_values"] : document["values"];
  const state = emptyDesiredState();
  // A state with no resources prints `{"format_version":"1.0"}` alone.
  if (values === undefined || values === null) return state;
  if (!isObject(values)) throw new DesiredStateFormatError(`${plan ? "planned_values" : "values"} is not an object`);
  const unknown = plan ? unknownMarksByAddress(document["resource_changes"]) : new Map<string, UnknownMarks>();
  const root = values["root_module"];
  if (root === undefined) return state;
  for (const resource of moduleResources(root, plan ? "planned_values.root_module" : "values.root_module")) {
    if (resource.mode !== "managed") continue;
    declare(state, resource, unknown.get(resource.address));
  }
  return state;
}

function* moduleResources(module: unknown, where: string, depth = 0): Generator<TerraformResource> {
  if (!isObject(module)) throw new DesiredStateFormatError(`${where} is not an object`);
  if (depth > 64) throw new DesiredStateFormatError(`${where}: modules nested more than 64 deep`);
  const resources = module["resources"] ?? [];
  if (!Array.isArray(resources)) throw new DesiredStateFormatError(`${where}.resources is not an array`);
  for (const [index, resource] of resources.entries()) {
    if (!isObject(resource) || typeof resource["address"] !== "string" || typeof resource["type"] !== "string") {
      throw new DesiredStateFormatError(`${where}.resources[${index}] has no address or type`);
    }
    const values = resource["values"] ?? {};
    if (!isObject(values)) throw new DesiredStateFormatError(`${where}.resources[${index}].values is not an object`);
    yield { address: resource["address"], mode: typeof resource["mode"] === "string" ? resource["mode"] : "managed", type: resource["type"], values };
  }
  const children = module["child_modules"] ?? [];
  if (!Array.isArray(children)) throw new DesiredStateFormatError(`${where}.child_modules is not an array`);
  for (const [index, child] of children.entries()) yield* moduleResources(child, `${where}.child_modules[${index}]`, depth + 1);
}

function unknownMarksByAddress(changes: unknown): Map<string, UnknownMarks> {
  const marks = new Map<string, UnknownMarks>();
  if (changes === undefined || changes === null) return marks;
  if (!Array.isArray(changes)) throw new DesiredStateFormatError("resource_changes is not an array");
  for (const change of changes) {
    if (!isObject(change) || typeof change["address"] !== "string") continue;
    const after = isObject(change["change"]) ? change["change"]["after_unknown"] : undefined;
    if (after !== undefined) marks.set(change["address"], after);
  }
  return marks;
}

/** The marks under `key` (`true`: all of it unknown). */
function marksAt(marks: UnknownMarks, key: string | number): UnknownMarks {
  if (marks === true) return true;
  if (Array.isArray(marks) && typeof key === "number") return marks[key];
  if (isObject(marks) && typeof key === "string") return marks[key];
  return undefined;
}

/** A string attribute Terraform knows (null and absent are `""`: not set), or undefined when it did not know it. */
function knownString(values: Json, marks: UnknownMarks, key: string): string | undefined {
  if (marksAt(marks, key) === true) return undefined;
  const value = values[key];
  if (typeof value === "string") return value;
  return "";
}

/** As knownString, but an unset attribute is undefined too (ids, names: nothing to compare). */
function knownValue(values: Json, marks: UnknownMarks, key: string): string | undefined {
  const value = knownString(values, marks, key);
  return value === "" ? undefined : value;
}

function declare(state: DesiredState, resource: TerraformResource, marks: UnknownMarks): void {
  const { address, values } = resource;
  switch (resource.type) {
    case "azurerm_user_assigned_identity": {
      state.identities.push(
        strip({
          address,
          id: knownValue(values, marks, "id"),
          name: knownValue(values, marks, "name"),
          resourceGroup: knownValue(values, marks, "resource_group_name"),
          principalId: knownValue(values, marks, "principal_id"),
        }),
      );
      return;
    }
    case "azurerm_role_assignment": {
      const scope = knownValue(values, marks, "scope");
      const name = knownValue(values, marks, "name");
      const id = knownValue(values, marks, "id") ?? (scope && name ? `${scope.replace(/\/+$/, "")}/providers/Microsoft.Authorization/roleAssignments/${name}` : undefined);
      state.roleAssignments.push(
        strip({
          address,
          id,
          scope,
          roleDefinitionId: knownValue(values, marks, "role_definition_id"),
          roleName: knownValue(values, marks, "role_definition_name"),
          principalId: knownValue(values, marks, "principal_id"),
          condition: knownString(values, marks, "condition"),
        }),
      );
      return;
    }
    case "azurerm_federated_identity_credential": {
      // azurerm 3.x/4.x name the identity `parent_id`; 5.x `user_assigned_identity_id` (provider docs, r/federated_identity_credential).
      const identityId = knownValue(values, marks, "user_assigned_identity_id") ?? knownValue(values, marks, "parent_id");
      const name = knownValue(values, marks, "name");
      const audienceMarks = marksAt(marks, "audience");
      const audience = values["audience"];
      state.federatedCredentials.push(
        strip({
          address,
          id: knownValue(values, marks, "id") ?? (identityId && name ? `${identityId}/federatedIdentityCredentials/${name}` : undefined),
          identityId,
          name,
          issuer: knownValue(values, marks, "issuer"),
          subject: knownValue(values, marks, "subject"),
          audiences: audienceMarks === true || (Array.isArray(audienceMarks) && audienceMarks.includes(true)) || !Array.isArray(audience) ? undefined : audience.filter((item): item is string => typeof item === "string"),
        }),
      );
      return;
    }
    default:
      declareAttachments(state, resource, marks);
  }
}

/**
 * The `identity` block of any resource that has one (VMs, scale sets, web and function apps and slots,
 * container apps, …): azurerm writes blocks as lists, `identity[0].identity_ids` the user-assigned ones.
 * A resource whose schema has the block but leaves it empty declares no user-assigned identity.
 */
function declareAttachments(state: DesiredState, resource: TerraformResource, marks: UnknownMarks): void {
  if (!("identity" in resource.values) && marksAt(marks, "identity") === undefined) return;
  const resourceId = knownValue(resource.values, marks, "id");
  if (!resourceId) return;
  const blockMarks = marksAt(marks, "identity");
  const blocks = resource.values["identity"];
  if (blockMarks === true) {
    state.attachments.push({ address: resource.address, resourceId, identityIds: [], complete: false });
    return;
  }
  const identityIds: string[] = [];
  let complete = true;
  for (const [index, block] of (Array.isArray(blocks) ? blocks : []).entries()) {
    const listMarks = marksAt(marksAt(blockMarks, index), "identity_ids");
    const ids = isObject(block) ? block["identity_ids"] : undefined;
    if (listMarks === true) complete = false;
    for (const [position, id] of (Array.isArray(ids) ? ids : []).entries()) {
      if (typeof id === "string" && marksAt(listMarks, position) !== true) identityIds.push(id);
      else complete = false;
    }
    if (Array.isArray(listMarks) && listMarks.length > (Array.isArray(ids) ? ids.length : 0)) complete = false;
  }
  state.attachments.push({ address: resource.address, resourceId, identityIds, complete });
}

/** Drops the keys whose value is undefined (exactOptionalPropertyTypes-friendly literals). */
function strip<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}
