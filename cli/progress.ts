/** Progress on stderr (never stdout, which carries only the result); redrawn in place on a terminal. */
export class Progress {
  private readonly counts = new Map<string, number>();
  private lastDraw = 0;
  private drawn = false;

  constructor(private readonly enabled: boolean = Boolean(process.stderr.isTTY)) {}

  page(query: string, rows: number): void {
    this.counts.set(query, (this.counts.get(query) ?? 0) + rows);
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < 200) return;
    this.lastDraw = now;
    const text = [...this.counts].map(([name, count]) => `${name} ${count.toLocaleString("en-US")}`).join(" · ");
    process.stderr.write(`\r\x1b[2Kreading ${text}`);
    this.drawn = true;
  }

  note(message: string): void {
    this.clear();
    process.stderr.write(`${message}\n`);
  }

  clear(): void {
    if (this.drawn) process.stderr.write("\r\x1b[2K");
    this.drawn = false;
  }
}
