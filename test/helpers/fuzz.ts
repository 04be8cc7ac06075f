import { mulberry32 } from "../../local/random.js";
import { SUB } from "./estate.js";

/**
 * A poison corpus for docs/guarantees.md "Poison never loops", as JSON text (JSON.stringify itself overflows on
 * the deepest events): nesting to ~6,000 levels, 32K-character ids, prototype keys, wrong types,
 * unicode and control characters, non-canonical ids, and well-formed events for resources that do not
 * exist. Deterministic per seed.
 */
export function poisonCorpus(count: number, seed = 13): string[] {
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const vm = (name: string) => `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/${name}`;
  const deep = (levels: number, leaf = "1") => `${'{"a":'.repeat(levels)}${leaf}${"}".repeat(levels)}`;
  const deepArray = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;
  const unicode = ["vm-\u00e9\u00e8", "\u{1f600}", "\u202eevil", "\ud800", "\u0000", "\u001b[31m", "\n", "\u2028", "\uffff", "名前", "\u0301"];
  const operations = [
    "Microsoft.Compute/virtualMachines/write",
    "Microsoft.Authorization/roleAssignments/write",
    "Microsoft.ManagedIdentity/userAssignedIdentities/delete",
    "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
  ];
  const ids = [
    () => `${vm("vm-1")}/../../../../${SUB}/resourceGroups/rg-x/providers/Microsoft.Compute/virtualMachines/vm-2`,
    () => vm("vm-1").replace("/providers", "/%2e%2e/providers"),
    () => vm("vm-1").replace("/providers", "//providers"),
    () => `${vm("vm-1")}/`,
    () => `${vm("x".repeat(32 * 1024))}`,
    () => vm(pick(unicode)),
    () => `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${"i".repeat(3000)}`,
    () => "not-an-id",
    () => "",
  ];
  const text = (value: unknown) => JSON.stringify(value);
  const event = (fields: Record<string, unknown>, data: Record<string, unknown>) =>
    text({ id: `fuzz-${Math.floor(random() * 1e9)}`, eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: "2026-11-20T10:00:00Z", ...fields, data: { operationName: pick(operations), status: "Succeeded", ...data } });
  // Deep nesting (~30 KB each): at the root, in data, in claims, in an unknown key, as arrays.
  const deepMakers: Array<() => string> = [
    () => deep(5_000 + Math.floor(random() * 1_000)),
    () => `{"id":"deep-data","eventType":"Microsoft.Resources.ResourceWriteSuccess","eventTime":"t","data":${deep(5_000)}}`,
    () => `{"id":"deep-claims","eventType":"Microsoft.Resources.ResourceWriteSuccess","eventTime":"t","data":{"operationName":"Microsoft.Compute/virtualMachines/write","resourceUri":${text(vm("vm-1"))},"claims":${deep(5_000)}}}`,
    () => `{"id":"deep-extra","eventType":"Microsoft.Resources.ResourceWriteSuccess","eventTime":"t","extra":${deepArray(5_000)},"data":{"operationName":"Microsoft.Compute/virtualMachines/write","resourceUri":${text(vm("vm-1"))}}}`,
  ];
  const makers: Array<() => string> = [
    () => deep(40 + Math.floor(random() * 100)),
    // Long ids.
    () => event({ id: "x".repeat(32 * 1024) }, { operationName: "Microsoft.ManagedIdentity/userAssignedIdentities/delete", resourceUri: `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-app` }),
    () => event({ subject: "y".repeat(32 * 1024) }, { resourceUri: vm("vm-1") }),
    // Non-canonical and odd resource ids.
    () => event({}, { resourceUri: pick(ids)() }),
    () => event({ subject: pick(ids)() }, { resourceUri: vm("vm-1") }),
    // Prototype keys.
    () => `{"__proto__":{"id":"p","eventType":"Microsoft.Resources.ResourceWriteSuccess"},"data":{"operationName":"Microsoft.Compute/virtualMachines/write","resourceUri":${text(vm("vm-1"))}}}`,
    () => `{"id":"proto-data","eventType":"Microsoft.Resources.ResourceWriteSuccess","eventTime":"t","data":{"__proto__":{"operationName":"Microsoft.Compute/virtualMachines/write","resourceUri":${text(vm("vm-1"))}}}}`,
    () => event({ constructor: { prototype: { polluted: true } } }, { resourceUri: vm("vm-1"), claims: { __proto__: 1, constructor: "x", hasOwnProperty: 5 } }),
    // Wrong types.
    () => text(pick([null, 0, -1, true, "event", [], [null], {}, 1e308])),
    () => event({ id: pick([0, null, true, [], {}, 1.5]) }, { resourceUri: vm("vm-1") }),
    () => event({ eventType: pick([0, null, [], {}]) }, { resourceUri: vm("vm-1") }),
    () => event({}, { resourceUri: pick([0, null, [], {}, true]) }),
    () => event({}, { operationName: pick([0, null, [], {}, ""]), resourceUri: vm("vm-1") }),
    () => event({}, { resourceUri: vm("vm-1"), claims: pick([0, "claims", [], null, { appid: 5, idtyp: [] }]) }),
    () => text({ specversion: pick(["1.0", 1, null, "2.0"]), id: "ce", type: "Microsoft.Resources.ResourceWriteSuccess", data: pick([null, "x", { resourceUri: vm("vm-1") }]) }),
    // Unicode and control characters in ids and names.
    () => event({ id: `id-${pick(unicode)}-${pick(unicode)}` }, { resourceUri: vm(`vm-${pick(unicode)}`) }),
    () => event({ eventType: `Microsoft.Resources.${pick(unicode)}` }, { resourceUri: vm("vm-1") }),
    // Well-formed, for resources that do not exist (ARM 404: nothing to report, acknowledged).
    () => event({}, { resourceUri: vm(`ghost-${Math.floor(random() * 1e6)}`), operationName: "Microsoft.Compute/virtualMachines/write" }),
  ];
  return Array.from({ length: count }, () => (random() < 0.03 ? pick(deepMakers) : pick(makers))());
}
