import type { ChangeKind } from "../../shared/events/operations.js";
import type { Caller, ResourceEvent } from "../../shared/events/resourceEvent.js";
import type { EventFacts } from "../../shared/rules/types.js";

export const USER: Caller = { appId: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", objectId: "dddddddd-0000-0000-0000-0000000000bb", upn: "someone@contoso.example", delegated: true };
export const APPROVED = { approved: true, reason: "pipeline deploy" };
export const NOT_APPROVED = { approved: false, reason: "a user, not an approved pipeline" };

export function resourceEvent(operationName: string, resourceUri: string, caller: Caller = USER): ResourceEvent {
  return { id: "e1", eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: "2026-11-20T10:00:00Z", operationName, resourceUri, status: "Succeeded", subscriptionId: "s", caller };
}

export function facts(change: ChangeKind, event: ResourceEvent, approval: { approved: boolean; reason: string }, extra: Partial<EventFacts> = {}): EventFacts {
  return { event, change, approval, ...extra };
}
