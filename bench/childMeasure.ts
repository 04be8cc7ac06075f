/** What a measurement child (sweepChild, sweepJobChild) says of its own process around the work it measures. */
export interface ChildMeasure {
  wallMs: number;
  /** Epoch ms (high resolution) when the work was started and when it returned. */
  startedAt: number;
  finishedAt: number;
  /** Peak resident set of this process (bytes), from process.resourceUsage().maxRSS. */
  maxRssBytes: number;
  /** RSS just before the work started (modules loaded, clients built). */
  rssBeforeBytes: number;
  heapUsedAfterBytes: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  /**
   * Time the main thread's event loop was not waiting (`performance.eventLoopUtilization().active`, Node "Performance
   * measurement APIs"): what the main thread was busy for, worker threads apart; on a loaded machine it includes time
   * the thread was ready but not scheduled.
   */
  mainThreadActiveMs?: number;
}

/**
 * Starts the clock: `stop()` as the work returns; `result()` as the child reports — CPU, peak RSS and heap are read
 * then, so whatever the child does in between (a probe's GC) counts as it did.
 */
export function measuring(): { stop(): void; result(): ChildMeasure } {
  const rssBeforeBytes = process.memoryUsage().rss;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const loopBefore = performance.eventLoopUtilization();
  let finished: number | undefined;
  let loop: ReturnType<typeof performance.eventLoopUtilization> | undefined;
  return {
    stop: () => {
      finished ??= performance.now();
      loop ??= performance.eventLoopUtilization(loopBefore);
    },
    result() {
      const end = finished ?? performance.now();
      const cpu = process.cpuUsage(cpuBefore);
      return {
        wallMs: end - started,
        startedAt: performance.timeOrigin + started,
        finishedAt: performance.timeOrigin + end,
        maxRssBytes: process.resourceUsage().maxRSS * 1024,
        rssBeforeBytes,
        heapUsedAfterBytes: process.memoryUsage().heapUsed,
        cpuUserMs: cpu.user / 1000,
        cpuSystemMs: cpu.system / 1000,
        mainThreadActiveMs: (loop ?? performance.eventLoopUtilization(loopBefore)).active,
      };
    },
  };
}
