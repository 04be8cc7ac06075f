import { AsyncLocalStorage } from "node:async_hooks";
import { RestError, type PipelinePolicy } from "@azure/core-rest-pipeline";

/**
 * Every outgoing call has a deadline (docs/guarantees.md "Every call has a deadline": a request that does not answer is an
 * outcome unknown, never a hang), and a run as a whole has one too. Both are the SDK's own
 * mechanisms: the pipeline request's `timeout` (per attempt) and its `abortSignal` (the call, its
 * retries included), set by one pipeline policy that every client of this project carries.
 */
export interface Deadlines {
  /** One call, its SDK retries included. */
  callMs: number;
  /** One run (a sweep, an event, a work item, a CLI command): no call starts or continues past it. */
  runMs: number;
}

export const DEFAULT_DEADLINES: Deadlines = { callMs: 30_000, runMs: 25 * 60_000 };

/** Code of the RestError a call that ran out of time throws: no status, so callers treat it as unknown/transient. */
export const DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED";

const runScope = new AsyncLocalStorage<{ signal: AbortSignal; ms: number }>();

/** Runs `work` with a deadline for the whole run; calls made inside it (awaited or not) share it. */
export function withRunDeadline<T>(runMs: number, work: () => Promise<T>): Promise<T> {
  const outer = runScope.getStore();
  // A nested run (e.g. a CLI command calling the sweep) keeps the earlier, outer deadline.
  if (outer) return work();
  return runScope.run({ signal: AbortSignal.timeout(runMs), ms: runMs }, work);
}

/** The pipeline policy; `withRun` false for storage, so a journal entry can still be finished after a run's deadline. */
export function deadlinePolicy(callMs: number, options: { withRun: boolean } = { withRun: true }): PipelinePolicy {
  return {
    name: "uamiGuardDeadline",
    async sendRequest(request, next) {
      const call = AbortSignal.timeout(callMs);
      const run = options.withRun ? runScope.getStore() : undefined;
      const signals: AbortSignal[] = [call];
      if (run) signals.push(run.signal);
      const given = request.abortSignal;
      if (given instanceof AbortSignal) signals.push(given);
      else if (given) {
        const relay = new AbortController();
        if (given.aborted) relay.abort();
        else given.addEventListener("abort", () => relay.abort());
        signals.push(relay.signal);
      }
      request.abortSignal = AbortSignal.any(signals);
      if (!(request.timeout > 0) || request.timeout > callMs) request.timeout = callMs;
      try {
        return await next(request);
      } catch (error) {
        if (call.aborted || run?.signal.aborted) {
          const what = call.aborted ? `no answer within the ${callMs} ms call deadline` : `the run's ${run?.ms ?? 0} ms deadline passed`;
          throw new RestError(`${request.method} ${new URL(request.url).pathname}: ${what} (outcome unknown)`, { code: DEADLINE_EXCEEDED, request });
        }
        throw error;
      }
    },
  };
}
