import { SingleBar } from "cli-progress";
import { Log } from "./log.js";

/** A step shorter than this says nothing when stderr is not a terminal. */
const SUMMARY_AFTER_MS = 1_000;

/**
 * Progress on stderr (never stdout, which carries only the result). On a terminal a live line
 * (`cli-progress`) for the step under way; elsewhere (CI logs, pipes) one summary line per step that
 * took more than a second, so a long run is never silent and a short one adds no noise.
 */
export class Progress {
  private readonly counts = new Map<string, number>();
  /** Reads are timed from the run's start (or the last summary): they run in parallel, not one after another. */
  private started = Date.now();
  private bar: SingleBar | undefined;
  /** `--verbose`: when the run began and when the last step ended, so each step says how long it took. */
  private readonly began = Date.now();
  private lastStep = this.began;
  private step: { name: string; total: number; done: number; started: number } | undefined;

  constructor(private readonly log: Log = new Log(), private readonly live: boolean = log.tty && log.at("normal")) {}

  /** A Resource Graph page (or any counted read) arrived. */
  page(query: string, rows: number): void {
    this.counts.set(query, (this.counts.get(query) ?? 0) + rows);
    this.log.debug(`${query}: +${rows} rows`);
    if (!this.live) return;
    const text = `reading ${[...this.counts].map(([name, count]) => `${name} ${count.toLocaleString("en-US")}`).join(" · ")}`;
    this.draw(text, 0, 0);
  }

  /** A step with a known size (events to replay): a bar on a terminal, a summary line elsewhere. */
  begin(name: string, total: number): void {
    this.finishReads();
    this.step = { name, total, done: 0, started: Date.now() };
    this.log.verbose(`${name}: ${total.toLocaleString("en-US")} to do`);
    if (this.live) this.draw(name, 0, total);
  }

  advance(count = 1): void {
    if (!this.step) return;
    this.step.done += count;
    if (this.live) this.bar?.update(this.step.done, { text: this.step.name });
  }

  end(): void {
    const step = this.step;
    this.step = undefined;
    this.stopBar();
    if (!step) return;
    const elapsed = Date.now() - step.started;
    if (elapsed >= SUMMARY_AFTER_MS || this.log.at("verbose")) this.log.note(`${step.name}: ${step.done.toLocaleString("en-US")} of ${step.total.toLocaleString("en-US")} in ${seconds(elapsed)}`);
  }

  /** `--verbose`: one step of the run done, with the time it took (since the step before it ended). */
  completed(message: string): void {
    const now = Date.now();
    this.verbose(`${message} (${seconds(now - this.lastStep)})`);
    this.lastStep = now;
  }

  /** `--verbose`: the run's last line, with its whole time. */
  done(message = "done"): void {
    this.clear();
    this.verbose(`${message} in ${seconds(Date.now() - this.began)} (${seconds(process.uptime() * 1000)} since the process started, loading included)`);
  }

  /** A detail for --verbose, between the live line's redraws. */
  verbose(message: string): void {
    if (!this.log.at("verbose")) return;
    this.stopBar();
    this.log.verbose(message);
    if (this.step && this.live) this.draw(this.step.name, this.step.done, this.step.total);
  }

  note(message: string): void {
    const step = this.step;
    this.stopBar();
    if (!step) this.finishReads();
    this.log.note(message);
    if (step && this.live) this.draw(step.name, step.done, step.total);
  }

  /** Called before the result is printed: the last reads get their summary line. */
  clear(): void {
    this.finishReads();
    this.stopBar();
  }

  private finishReads(): void {
    if (this.counts.size === 0) return;
    const elapsed = Date.now() - this.started;
    const text = [...this.counts].map(([name, count]) => `${name} ${count.toLocaleString("en-US")}`).join(", ");
    this.counts.clear();
    this.started = Date.now();
    this.stopBar();
    if (elapsed >= SUMMARY_AFTER_MS || this.log.at("verbose")) this.log.note(`read ${text} in ${seconds(elapsed)}`);
    this.lastStep = Date.now();
  }

  private draw(text: string, value: number, total: number): void {
    if (!this.bar) {
      const format = total > 0 ? "{text} [{bar}] {value}/{total} {duration_formatted}" : "{text} {duration_formatted}";
      this.bar = new SingleBar({ format, stream: process.stderr, clearOnComplete: true, hideCursor: null, barsize: 30, fps: 5, linewrap: false });
      this.bar.start(total, value, { text });
    } else {
      this.bar.update(value, { text });
    }
  }

  private stopBar(): void {
    if (!this.bar) return;
    this.bar.stop();
    this.bar = undefined;
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
