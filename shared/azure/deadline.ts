import { AsyncLocalStorage } from "node:async_hooks";
import { setMaxListeners } from "node:events";
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
  const signal = AbortSignal.timeout(runMs);
  // Each call in flight listens to the run's signal until it ends (deadlinePolicy removes its listener), and a sweep
  // has more than Node's default 10 calls in flight: that is not a leak, so no MaxListenersExceededWarning.
  setMaxListeners(0, signal);
  return runScope.run({ signal, ms: runMs }, work);
}

/** The run deadline the caller runs under, if any (a worker thread doing part of the run is bound to it). */
export function currentRunDeadline(): { signal: AbortSignal; ms: number } | undefined {
  return runScope.getStore();
}

/**
 * Runs `work` under a run deadline kept elsewhere: in a worker thread, the signal another thread aborts when its
 * run's deadline passes, so the calls made here end with the same "run's deadline passed" error as the run's own.
 */
export function underRunDeadline<T>(run: { signal: AbortSignal; ms: number }, work: () => Promise<T>): Promise<T> {
  setMaxListeners(0, run.signal);
  return runScope.run(run, work);
}

/**
 * The pipeline policy; `withRun` false for storage, so a journal entry can still be finished after a run's deadline.
 * One AbortController per call, aborted by its timer, the run's signal or the caller's: `AbortSignal.timeout` and
 * `AbortSignal.any` cost more CPU per call (weak references, a finalization registry) than the rest of a lean
 * pipeline, and the sweep makes one call per identity.
 */
export function deadlinePolicy(callMs: number, options: { withRun: boolean } = { withRun: true }): PipelinePolicy {
  return {
    name: "uamiGuardDeadline",
    async sendRequest(request, next) {
      const controller = new AbortController();
      let expired = false;
      const timer = setTimeout(() => {
        expired = true;
        controller.abort();
      }, callMs);
      timer.unref();
      const run = options.withRun ? runScope.getStore() : undefined;
      const sources = [run?.signal, request.abortSignal].filter((source) => source !== undefined);
      const relay = (): void => controller.abort();
      for (const source of sources) {
        if (source.aborted) controller.abort();
        else source.addEventListener("abort", relay);
      }
      request.abortSignal = controller.signal;
      if (!(request.timeout > 0) || request.timeout > callMs) request.timeout = callMs;
      let streaming = false;
      const release = (): void => {
        clearTimeout(timer);
        for (const source of sources) source.removeEventListener("abort", relay);
      };
      try {
        const response = await next(request);
        // A streamed body is still being read: the deadline goes on covering it until the stream closes.
        const body = response.readableStreamBody;
        streaming = body !== undefined || response.browserStreamBody !== undefined;
        if (body && "once" in body && typeof body.once === "function") body.once("close", release);
        return response;
      } catch (error) {
        if (expired || run?.signal.aborted) {
          const what = expired ? `no answer within the ${callMs} ms call deadline` : `the run's ${run?.ms ?? 0} ms deadline passed`;
          throw new RestError(`${request.method} ${new URL(request.url).pathname}: ${what} (outcome unknown)`, { code: DEADLINE_EXCEEDED, request });
        }
        throw error;
      } finally {
        if (!streaming) release();
      }
    },
  };
}
