import { performance } from "node:perf_hooks";
import { DriftComparison } from "../shared/desiredState/compare.js";
import { readTerraformJson } from "../shared/desiredState/terraform.js";
import type { SourceRead } from "../shared/desiredState/model.js";
import type { AttachedResource, Identity, PrincipalStatus, RoleAssignment, RoleDefinition } from "../shared/model.js";

/**
 * The desired-state path alone, in memory (no I/O): reading a `terraform show -json` state that declares 90 %
 * of an estate, and comparing the estate with it (every role assignment observed as a sweep streams it).
 *   node --expose-gc dist/bench/drift.js [--size N]... [--repeat R]
 */

const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const MI: PrincipalStatus = { state: "found", object: { id: "x", odataType: "#microsoft.graph.servicePrincipal", servicePrincipalType: "ManagedIdentity" } };

function estate(assignments: number) {
  const subscriptions = Math.max(1, Math.ceil(assignments / 3000));
  const identities: Identity[] = [];
  const attachments: AttachedResource[] = [];
  const grants: RoleAssignment[] = [];
  const resources: Array<Record<string, unknown>> = [];
  const identityCount = Math.max(1, Math.floor(assignments / 10));
  for (let i = 0; i < identityCount; i += 1) {
    const subscription = `${String(i % subscriptions).padStart(8, "0")}-0000-4000-8000-000000000000`;
    const id = `/subscriptions/${subscription}/resourceGroups/rg-${i % 50}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-${i}`;
    identities.push({ id, name: `id-${i}`, subscriptionId: subscription, resourceGroup: `rg-${i % 50}`, location: "uksouth", tags: {}, principalId: `p-${i}`, clientId: `c-${i}`, tenantId: "t" });
    const vm = `/subscriptions/${subscription}/resourceGroups/rg-${i % 50}/providers/Microsoft.Compute/virtualMachines/vm-${i}`;
    attachments.push({ id: vm, name: `vm-${i}`, type: "Microsoft.Compute/virtualMachines", subscriptionId: subscription, resourceGroup: `rg-${i % 50}`, tags: {}, identityType: "UserAssigned", userAssignedIdentityIds: [id] });
    if (i % 10 !== 0) {
      resources.push({ address: `module.m${i % 20}.azurerm_user_assigned_identity.id[${i}]`, mode: "managed", type: "azurerm_user_assigned_identity", values: { id, name: `id-${i}`, resource_group_name: `rg-${i % 50}`, principal_id: `p-${i}` } });
      resources.push({ address: `module.m${i % 20}.azurerm_linux_virtual_machine.vm[${i}]`, mode: "managed", type: "azurerm_linux_virtual_machine", values: { id: vm, identity: [{ type: "UserAssigned", identity_ids: [id] }] } });
    }
  }
  for (let n = 0; n < assignments; n += 1) {
    const identity = identities[n % identityCount] as Identity;
    const scope = `/subscriptions/${identity.subscriptionId}/resourceGroups/rg-${n % 50}`;
    const id = `${scope}/providers/Microsoft.Authorization/roleAssignments/${n.toString(16).padStart(8, "0")}-0000-4000-8000-000000000000`;
    grants.push({ id, scope, roleDefinitionId: `/subscriptions/${identity.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${READER}`, principalId: identity.principalId, principalType: "ServicePrincipal" });
    if (n % 10 !== 0) {
      resources.push({ address: `module.m${n % 20}.azurerm_role_assignment.r[${n}]`, mode: "managed", type: "azurerm_role_assignment", values: { id, scope, role_definition_name: "Reader", principal_id: identity.principalId, condition: "" } });
    }
  }
  const document = JSON.stringify({ format_version: "1.0", values: { root_module: { resources } } });
  return { identities, attachments, grants, document };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function run(size: number, repeat: number): Record<string, number> {
  const { identities, attachments, grants, document } = estate(size);
  const definitions = new Map<string, RoleDefinition>([[READER, { id: `/providers/Microsoft.Authorization/roleDefinitions/${READER}`, name: READER, roleName: "Reader", roleType: "BuiltInRole", permissions: [] }]]);
  const parse: number[] = [];
  const compare: number[] = [];
  let entries = 0;
  // Run with --expose-gc: the estate built above is garbage-heavy, and its collection is not the path's cost.
  const collect = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  for (let round = 0; round < repeat; round += 1) {
    collect();
    const started = performance.now();
    const state = readTerraformJson(JSON.parse(document));
    parse.push(performance.now() - started);
    const sources: SourceRead[] = [{ path: "state.json", format: "terraform", scopes: ["/"], ok: true, files: ["state.json"], state }];
    collect();
    const begun = performance.now();
    const comparison = new DriftComparison(sources, identities, definitions);
    const built = performance.now();
    for (const grant of grants) comparison.observeRoleAssignment(grant, MI);
    const observed = performance.now();
    entries = comparison.finish({ attachments, federatedCredentials: [], credentialsUnknown: new Set(), read: () => true }).entries.length;
    compare.push(performance.now() - begun);
    if (process.env["DRIFT_PHASES"]) process.stderr.write(`build ${Math.round(built - begun)} ms, observe ${Math.round(observed - built)} ms, finish ${Math.round(performance.now() - observed)} ms\n`);
  }
  return { size, documentMB: Math.round(document.length / 1024 / 102.4) / 10, parseMs: Math.round(median(parse)), compareMs: Math.round(median(compare)), assignmentsPerSecond: Math.round(size / (median(compare) / 1000)), driftEntries: entries };
}

const args = process.argv.slice(2);
const sizes = args.flatMap((arg, index) => (arg === "--size" ? [Number(args[index + 1])] : []));
const repeat = Number(args[args.indexOf("--repeat") + 1] ?? 5) || 5;
for (const size of sizes.length > 0 ? sizes : [10_000, 100_000]) process.stdout.write(`${JSON.stringify(run(size, repeat))}\n`);
