import { app, type InvocationContext } from "@azure/functions";
import { handleResourceEvent, type EventDependencies, type EventOutcome } from "../shared/engine/eventProcessor.js";
import { appCleanup, eventDependencies } from "../shared/composition.js";
import { actingIdentity } from "../shared/azure/caller.js";
import { telemetry } from "../shared/telemetry.js";
import { appDependencies, type DependencyProvider } from "./dependencies.js";

/**
 * Subscription system-topic events (Event Grid schema or CloudEvents 1.0). Malformed events are
 * logged with their id and acknowledged; a failure to read state throws so Event Grid redelivers
 * (bounded by the subscription's retry policy, then dead-lettered).
 */
export function onResourceEventHandler(dependencies: DependencyProvider, options: { notify: boolean } = { notify: true }) {
  let events: EventDependencies | undefined;
  return async (event: unknown, context: InvocationContext): Promise<EventOutcome> => {
    const { clients, policy } = await dependencies();
    events ??= { ...eventDependencies(clients, policy, options), cleanup: appCleanup(clients, policy, await actingIdentity(clients), { reconcile: false }) };
    const deps = events;
    const outcome = await telemetry().span("onResourceEvent", { "uamiguard.runId": `event-${eventIdOf(event) ?? context.invocationId}` }, () => handleResourceEvent(event, deps));
    switch (outcome.status) {
      case "malformed":
        context.warn(`event ${outcome.eventId}: malformed, dropped: ${outcome.reason ?? ""}`);
        break;
      case "failed":
        context.error(`event ${outcome.eventId}: failed, will be redelivered: ${outcome.reason ?? ""}`);
        throw new Error(`event ${outcome.eventId} failed: ${outcome.reason ?? "unknown"}`);
      case "processed":
        for (const finding of outcome.findings) context.log(`event ${outcome.eventId}: ${finding.severity} ${finding.ruleId} ${finding.subjectId}`);
        for (const action of outcome.actions ?? []) context.log(`event ${outcome.eventId}: cleanup ${action.status}: ${action.change}${action.reason ? ` (${action.reason})` : ""}`);
        break;
      default:
        context.debug(`event ${outcome.eventId}: ${outcome.status}${outcome.reason ? ` (${outcome.reason})` : ""}`);
    }
    return outcome;
  };
}

/** The id as delivered, for the span only (parsing, with its checks, is the engine's). */
function eventIdOf(event: unknown): string | undefined {
  const id = (event as { id?: unknown } | null)?.id;
  return typeof id === "string" && id.length <= 128 ? id : undefined;
}

export const onResourceEvent = onResourceEventHandler(appDependencies);

app.eventGrid("onResourceEvent", { handler: onResourceEvent });
