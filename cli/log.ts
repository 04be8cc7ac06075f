import { showInvisible } from "../shared/displayText.js";

/**
 * stderr for everything that is not the result, at az's levels: `--only-show-errors` (errors only),
 * default (notes and warnings), `--verbose` (steps), `--debug` (stacks, every detail). Colour on a
 * terminal unless NO_COLOR is set (https://no-color.org) or the output is not a TTY.
 */
export type Verbosity = "errors" | "normal" | "verbose" | "debug";

const RANK: Record<Verbosity, number> = { errors: 0, normal: 1, verbose: 2, debug: 3 };

export function colourWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env["NO_COLOR"] !== undefined && env["NO_COLOR"] !== "") return false;
  if (env["FORCE_COLOR"] !== undefined && env["FORCE_COLOR"] !== "0") return true;
  return Boolean(stream.isTTY) && env["TERM"] !== "dumb";
}

const STYLES = { red: "31", yellow: "33", cyan: "36", dim: "2", bold: "1", magenta: "35" } as const;
export type Style = keyof typeof STYLES;

/**
 * Text from Azure (names, tags, messages) made safe to print on a terminal: control characters,
 * bidirectional overrides and invisible characters are shown as escapes (shared/displayText.ts), so a
 * name cannot move the cursor, clear the screen, retitle the window (ECMA-48 CSI/OSC) or reorder what
 * is shown (CVE-2021-42574, "Trojan Source").
 */
export function terminalSafe(text: string): string {
  return showInvisible(text);
}

export function paint(text: string, style: Style, enabled: boolean): string {
  return enabled ? `\x1b[${STYLES[style]}m${text}\x1b[0m` : text;
}

export class Log {
  readonly colour: boolean;
  readonly tty: boolean;

  constructor(
    readonly verbosity: Verbosity = "normal",
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = Boolean(stream.isTTY);
    this.colour = colourWanted(stream);
  }

  at(level: Verbosity): boolean {
    return RANK[this.verbosity] >= RANK[level];
  }

  /** What the user should know (a progress summary, what was assumed). */
  note(message: string): void {
    if (this.at("normal")) this.write(terminalSafe(message));
  }

  warn(message: string): void {
    if (this.at("normal")) this.write(paint(`WARNING: ${terminalSafe(message)}`, "yellow", this.colour));
  }

  verbose(message: string): void {
    if (this.at("verbose")) this.write(paint(terminalSafe(message), "dim", this.colour));
  }

  debug(message: string): void {
    if (this.at("debug")) this.write(paint(`DEBUG: ${terminalSafe(message)}`, "dim", this.colour));
  }

  error(message: string): void {
    this.write(paint(terminalSafe(message), "red", this.colour));
  }

  raw(text: string): void {
    this.stream.write(text);
  }

  private write(line: string): void {
    this.stream.write(`${line}\n`);
  }
}
