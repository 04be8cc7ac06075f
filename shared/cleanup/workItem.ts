import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { ACTION_KINDS } from "../model.js";
import type { PlannedAction } from "./types.js";

const findingSchema = z.strictObject({
  ruleId: z.string().min(1),
  severity: z.enum(["critical", "high", "medium", "low"]),
  subjectId: z.string().min(1),
  relatedId: z.string().optional(),
  fingerprint: z.string().min(1),
  title: z.string(),
  evidence: z.record(z.string(), z.unknown()),
});

const actionSchema = z.strictObject({
  actionId: z.string().min(1),
  kind: z.enum(ACTION_KINDS),
  targetId: z.string().startsWith("/"),
  identityId: z.string().optional(),
  principalId: z.string().optional(),
  tagValue: z.string().optional(),
  finding: findingSchema,
});

const workItemSchema = z.strictObject({
  version: z.literal(2),
  runId: z.string().min(1),
  caller: z.string(),
  /** The finding-state partition of the finding the action answers (the executor checks it is open there). */
  scope: z.string().min(1),
  action: actionSchema,
  /** The base of maxDeletePercent of the run that queued the item, used when no complete sweep gives one. */
  roleAssignmentsSeen: z.number().int().min(0).optional(),
  /** When a budget first deferred the item (it expires 24 hours later). */
  deferredSince: z.string().optional(),
  /** HMAC-SHA256 (base64url) over the item's canonical JSON without this field, with UAMI_GUARD_WORK_ITEM_KEY. */
  seal: z.string().min(1),
});

/** A cleanup work item on the cleanup queue: one action of one run, sealed by the app (the schema is the type). */
export type WorkItem = z.infer<typeof workItemSchema>;
export type UnsealedWorkItem = Omit<WorkItem, "seal">;

/** The schema and PlannedAction describe one shape: this fails to compile when they drift apart. */
const sameShape: [WorkItem["action"], PlannedAction] extends [PlannedAction, WorkItem["action"]] ? true : never = true;
void sameShape;

/** JSON with object keys sorted at every level: the bytes the seal is over, whatever order a writer used. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function sealOf(item: UnsealedWorkItem, key: Buffer): string {
  return createHmac("sha256", key).update(canonicalJson(item)).digest("base64url");
}

/**
 * docs/guarantees.md "Work items are sealed": the app's HMAC over the item, so that write access to the queue is not the
 * enforcer's delete and detach rights. The key is the app setting UAMI_GUARD_WORK_ITEM_KEY (a Key Vault
 * reference in infra).
 */
export function sealWorkItem(item: UnsealedWorkItem, key: Buffer): WorkItem {
  return { ...item, seal: sealOf(item, key) };
}

export function sealIsValid(item: WorkItem, key: Buffer): boolean {
  const { seal, ...rest } = item;
  const expected = Buffer.from(sealOf(rest, key));
  const given = Buffer.from(seal);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export function encodeWorkItem(item: WorkItem): string {
  // The Functions queue trigger expects base64 message text by default (host.json messageEncoding).
  return Buffer.from(JSON.stringify(item), "utf8").toString("base64");
}

/** A short hash of a message as received, to name it in a notice without repeating what an attacker wrote. */
export function messageHash(message: unknown): string {
  const text = Buffer.isBuffer(message) ? message.toString("utf8") : typeof message === "string" ? message : JSON.stringify(message ?? null);
  return createHash("sha256").update(text ?? "").digest("hex").slice(0, 24);
}

/**
 * The queue trigger hands over the decoded message: parsed JSON, a string, or a Buffer. Anything that is not
 * a well-formed work item is a reason string; `target` is what it named, if anything, for the notice.
 */
export function parseWorkItem(message: unknown): { ok: true; item: WorkItem } | { ok: false; reason: string; target?: string } {
  let value = message;
  if (Buffer.isBuffer(value)) value = value.toString("utf8");
  if (typeof value === "string") {
    const text = value;
    try {
      value = JSON.parse(text);
    } catch {
      try {
        value = JSON.parse(Buffer.from(text, "base64").toString("utf8"));
      } catch {
        return { ok: false, reason: "not JSON" };
      }
    }
  }
  const parsed = workItemSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const target = (value as { action?: { targetId?: unknown } } | null)?.action?.targetId;
    // Only a plain ARM-looking id becomes a notice's subject: no spaces, no control characters.
    const named = typeof target === "string" && /^\/[\x21-\x7e]{1,2047}$/.test(target) ? { target } : {};
    return { ok: false, reason: `${issue?.path.join(".") || "message"}: ${issue?.message ?? "invalid"}`, ...named };
  }
  return { ok: true, item: parsed.data };
}
