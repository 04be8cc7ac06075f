import type { InvocationContext } from "@azure/functions";
import { handleResourceEvent, type EventDependencies, type EventOutcome } from "../shared/engine/eventProcessor.js";
import { appCleanup, deliveryPolicyOf, eventDependencies } from "../shared/composition.js";
import { actingIdentity } from "../shared/azure/caller.js";
import { withRunDeadline } from "../shared/azure/deadline.js";
import { telemetry } from "../shared/telemetry.js";
import { appDependencies, workItemKeyFor, type DependencyProvider } from "./dependencies.js";

/**
 * Subscription system-topic events (Event Grid schema or CloudEvents 1.0). Malformed events are logged with
 * their id and acknowledged; a transient failure throws so Event Grid redelivers, until the last delivery
 * (counted by the app against the event subscription's retry policy; see docs/rules/event-undecided.md),
 * which is acknowledged with an `event-undecided` finding.
 */
export function onResourceEventHandler(dependencies: DependencyProvider, options: { notify: boolean } = { notify: true }) {
  let events: EventDependencies | undefined;
  return async (event: unknown, context: InvocationContext): Promise<EventOutcome> => {
    const provided = await dependencies();
    const { clients, policy, settings } = provided;
    events ??= {
      ...eventDependencies(clients, policy, { ...options, delivery: deliveryPolicyOf(settings) }),
      cleanup: appCleanup(clients, policy, await actingIdentity(clients), { reconcile: false, key: workItemKeyFor(provided) }),
    };
    const deps = events;
    // The host tells a function of its last try only through a retry policy's retryContext (not for Event Grid, whose retries are the subscription's).
    const retry = context.retryContext;
    const lastAttempt = retry !== undefined && retry.maxRetryCount >= 0 && retry.retryCount >= retry.maxRetryCount;
    const outcome = await telemetry().span("onResourceEvent", { "uamiguard.runId": `event-${eventIdOf(event) ?? context.invocationId}` }, () =>
      withRunDeadline(clients.deadlines.runMs, () => handleResourceEvent(event, deps, { lastAttempt })),
    );
    switch (outcome.status) {
      case "malformed":
        context.warn(`event ${outcome.eventId}: malformed, dropped: ${outcome.reason ?? ""}`);
        break;
      case "failed":
        context.error(`event ${outcome.eventId}: failed, will be redelivered: ${outcome.reason ?? ""}`);
        throw new Error(`event ${outcome.eventId} failed: ${outcome.reason ?? "unknown"}`);
      case "processed":
        if (outcome.reason) context.error(`event ${outcome.eventId}: ${outcome.reason}`);
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
