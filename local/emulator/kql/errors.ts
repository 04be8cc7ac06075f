/**
 * Why a query is refused, in the parts Resource Graph's error details carry (azure-powershell issue
 * #13762 and grafana issue #35225 show real answers: `ParserFailure` with line, characterPositionInLine
 * and token for a syntax error; `InvalidQueryLanguage` with the token for an operator Resource Graph
 * does not support).
 */
export class QueryError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly token?: string,
    /** Offset in the query text, when the problem has a place. */
    readonly position?: number,
  ) {
    super(message);
  }
}

/** `position` as Resource Graph reports it: 1-based line, 0-based character in that line. */
export function lineAndColumn(text: string, position: number): { line: number; characterPositionInLine: number } {
  const before = text.slice(0, Math.max(0, position));
  const lines = before.split("\n");
  return { line: lines.length, characterPositionInLine: (lines[lines.length - 1] ?? "").length };
}
