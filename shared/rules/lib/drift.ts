import { z } from "zod";
import type { DriftEntry, DriftKind } from "../../desiredState/compare.js";
import type { FindingDraft } from "../types.js";
import type { Severity } from "../../config/policyCore.js";
import type { SweepIndex } from "./sweepIndex.js";
import { roleDefinitionGuid } from "../../model.js";
import { deleteFederatedCredential, deleteRoleAssignment, detachIdentity, sh } from "./commands.js";

/** What the drift rules share: their policy section, and the entries of one kind from the sweep's comparison as finding drafts. */

/**
 * Blob endpoints of Azure's clouds (Learn "Storage account overview", endpoints; Azure DNS zone endpoints
 * `<account>.zNN.blob.storage.azure.net`): the app's token goes to no other host.
 */
const BLOB_URL = /^https:\/\/[a-z0-9]{3,24}\.(blob\.core\.windows\.net|blob\.core\.usgovcloudapi\.net|blob\.core\.chinacloudapi\.cn|z\d{1,2}\.blob\.storage\.azure\.net)\/[^?#]+$/i;

/**
 * A desired-state source: a local file or directory, or an https blob (or container) URL the app reads with
 * its identity; http only to a loopback storage emulator (Azurite).
 */
const desiredStatePath = z
  .string()
  .min(1)
  .refine((path) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(path) || BLOB_URL.test(path) || /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//i.test(path), "must be a file or directory path, or an https:// Azure Blob Storage URL (<account>.blob.core.windows.net/<container>[/<blob>])");

const desiredStateSourceSchema = z.strictObject({
  path: desiredStatePath,
  /** Told by each document when absent (`format_version`: terraform; `changes`: what-if). */
  format: z.enum(["terraform", "what-if"]).optional(),
  /** What the source governs; default everything the sweep reads. */
  scopes: z.array(z.string().startsWith("/", "must be an ARM scope starting with /")).min(1).default(["/"]),
});

/** The `desiredState` policy key, owned by the three drift rules together (the event path's approvals and the cleanup's guard read it too). */
export const desiredStateOptions = z
  .strictObject({
    sources: z.array(desiredStateSourceSchema).default([]),
    approves: z.boolean().default(false),
  })
  .default({ sources: [], approves: false });

export const DRIFT_OPTIONS = { desiredState: desiredStateOptions };

const lastSegment = (id: string): string => id.slice(id.lastIndexOf("/") + 1);

const THING_LABEL: Record<DriftEntry["thing"], string> = {
  identity: "identity",
  attachment: "attachment",
  "role-assignment": "role assignment",
  "federated-credential": "federated credential",
};

function describe(entry: DriftEntry, index: SweepIndex): string {
  switch (entry.thing) {
    case "identity":
      return `identity ${lastSegment(entry.subjectId)}`;
    case "attachment":
      return `identity ${lastSegment(entry.relatedId ?? "")} on ${lastSegment(entry.subjectId)}`;
    case "federated-credential":
      return `federated credential ${lastSegment(entry.subjectId)} of ${lastSegment(entry.identityId ?? "")}`;
    case "role-assignment": {
      const facts = entry.actual ?? entry.declared ?? {};
      const guid = roleDefinitionGuid(String(facts["roleDefinitionId"] ?? ""));
      const role = String(facts["roleName"] ?? index.roleDefinitionByGuid.get(guid)?.roleName ?? guid);
      const principal = String(facts["principalId"] ?? "");
      const holder = index.identityByPrincipal.get(principal.toLowerCase())?.name ?? principal;
      return `role assignment ${role || "?"} for ${holder || "?"} at ${String(facts["scope"] ?? "")}`;
    }
  }
}

const PHRASE: Record<DriftKind, string> = {
  "not-in-code": "exists in Azure but in no desired-state source",
  "missing-in-azure": "is declared but Azure does not have it",
  changed: "differs from its declaration",
};

export function driftDrafts(index: SweepIndex, kind: DriftKind, ruleId: string, severity: Severity): FindingDraft[] {
  const entries = index.inventory.drift?.entries ?? [];
  return entries
    .filter((entry) => entry.kind === kind)
    .map((entry) => {
      const what = describe(entry, index);
      const where = entry.sources.join(", ");
      const differences = entry.differences?.length ? ` (${entry.differences.join(", ")})` : "";
      return {
        ruleId,
        severity,
        subjectId: entry.subjectId,
        ...(entry.relatedId !== undefined ? { relatedId: entry.relatedId } : {}),
        title: `${capitalise(what)} ${PHRASE[kind]}${differences}`,
        message: `The ${THING_LABEL[entry.thing]} ${entry.subjectId}${entry.relatedId ? ` (${entry.relatedId})` : ""} ${PHRASE[kind]}${differences}; source: ${where}${entry.address ? `, ${entry.address}` : ""}.`,
        evidence: {
          thing: entry.thing,
          source: entry.sources[0] ?? "",
          sources: entry.sources,
          ...(entry.address ? { address: entry.address } : {}),
          ...(entry.identityId ? { identityId: entry.identityId } : {}),
          ...(entry.declared ? { declared: entry.declared } : {}),
          ...(entry.actual ? { actual: entry.actual } : {}),
          ...(entry.differences ? { differences: entry.differences } : {}),
        },
      };
    });
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The `az` command that removes what exists outside the code (after deciding it should not be imported into it). */
export function removeCommand(subjectId: string, relatedId: string | undefined, thing: unknown, resourceType: unknown): string {
  switch (thing) {
    case "role-assignment":
      return deleteRoleAssignment(subjectId);
    case "attachment":
      return detachIdentity(subjectId, typeof resourceType === "string" ? resourceType : "", relatedId ?? "<identity id>");
    case "federated-credential":
      return deleteFederatedCredential(subjectId);
    default:
      return `az identity delete --ids ${sh(subjectId)}`;
  }
}
