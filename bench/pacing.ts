/**
 * Where a quota-bound sweep's time goes, from the emulator's Resource Graph timeline (answered-at
 * epoch ms and status per request) and the sweep's own start and end.
 */
export interface Pacing {
  /** Sweep start → first Resource Graph answer. */
  headMs: number;
  /** First → last Resource Graph answer. */
  spanMs: number;
  /** Last Resource Graph answer → sweep end (directory lookups still running, inventory rules, sorting). */
  tailMs: number;
  /** Quota windows the requests fell into, as the emulator opens them (a window opens at the first request after the last one expired). */
  windows: number;
  /** The fewest windows the same requests could use. */
  minimumWindows: number;
  /** Windows other than the last that carried fewer requests than the quota allows. */
  underfilledWindows: number;
  /** Mean time from a window's expiry to the next request (the client's reaction to the reset). */
  meanReopenMs: number;
  /** 429s: ms after the sweep started, and which request (1-based) it was. */
  throttled: Array<{ atMs: number; request: number }>;
}

export function pacingOf(requests: Array<[number, number, string]>, quota: { requests: number; windowSeconds: number }, startedAt: number, finishedAt: number): Pacing {
  const timeline = requests.filter(([, , service]) => service === "resourceGraph");
  const windowMs = quota.windowSeconds * 1000;
  const first = timeline[0]?.[0] ?? startedAt;
  const last = timeline[timeline.length - 1]?.[0] ?? startedAt;
  let windows = 0;
  let windowStart = -Infinity;
  let inWindow = 0;
  let underfilled = 0;
  let reopenTotal = 0;
  let reopens = 0;
  const throttled: Pacing["throttled"] = [];
  timeline.forEach(([at, status], index) => {
    if (status === 429) throttled.push({ atMs: Math.round(at - startedAt), request: index + 1 });
    if (at >= windowStart + windowMs) {
      if (windows > 0) {
        if (inWindow < quota.requests) underfilled += 1;
        reopenTotal += at - (windowStart + windowMs);
        reopens += 1;
      }
      windows += 1;
      windowStart = at;
      inWindow = 0;
    }
    if (status !== 429) inWindow += 1;
  });
  const accepted = timeline.filter(([, status]) => status !== 429).length;
  return {
    headMs: first - startedAt,
    spanMs: last - first,
    tailMs: finishedAt - last,
    windows,
    minimumWindows: Math.ceil(accepted / quota.requests),
    underfilledWindows: underfilled,
    meanReopenMs: reopens > 0 ? reopenTotal / reopens : 0,
    throttled,
  };
}
