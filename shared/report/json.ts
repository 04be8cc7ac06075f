/** JSON.stringify as it behaves: undefined (and functions) give no text. */
const stringify = (value: unknown, indent: number): string | undefined => JSON.stringify(value, null, indent);

/**
 * A report model's JSON a piece at a time: the keys of the top-level object one by one, the items of its arrays one
 * by one. The whole text of a large model is hundreds of megabytes (a 10,000-identity model is ~250 MB of JSON: every
 * holder's rights, every finding's evidence) and would sit in the heap beside the model; its pieces are each a few
 * kilobytes, written or compressed as they are made. Joined, the pieces are exactly `JSON.stringify(value, null, indent)`.
 */
export function* jsonParts(value: object, indent = 0): Generator<string> {
  const pad = " ".repeat(indent);
  const newline = indent > 0 ? "\n" : "";
  const colon = indent > 0 ? ": " : ":";
  // Nested text is indented as deep as it sits: one level for a key's value, two for an array's item.
  const nest = (text: string, depth: number): string => (indent > 0 ? text.replace(/\n/g, `\n${pad.repeat(depth)}`) : text);
  let first = true;
  yield "{";
  for (const [key, item] of Object.entries(value)) {
    // As JSON.stringify: a key whose value is undefined (or a function) is left out.
    const whole: string | undefined = Array.isArray(item) ? undefined : stringify(item, indent);
    if (!Array.isArray(item) && whole === undefined) continue;
    yield `${first ? "" : ","}${newline}${pad}${JSON.stringify(key)}${colon}`;
    first = false;
    if (!Array.isArray(item)) {
      yield nest(whole ?? "null", 1);
      continue;
    }
    if (item.length === 0) {
      yield "[]";
      continue;
    }
    yield "[";
    for (let at = 0; at < item.length; at += 1) {
      yield `${at > 0 ? "," : ""}${newline}${pad.repeat(2)}${nest(stringify(item[at], indent) ?? "null", 2)}`;
    }
    yield `${newline}${pad}]`;
  }
  yield first ? "}" : `${newline}}`;
}

/**
 * Pieces joined into runs of at least `size` characters (the last may be shorter): one write, compression step or Blob
 * each, instead of one per piece of a few bytes.
 */
export function* gathered(parts: Iterable<string>, size: number): Generator<string> {
  let batch = "";
  for (const part of parts) {
    batch += part;
    if (batch.length >= size) {
      yield batch;
      batch = "";
    }
  }
  if (batch) yield batch;
}

/** Pieces gathered to at least this many characters before they leave the heap. */
const BLOB_CHUNK = 256 * 1024;

/**
 * The JSON as a Blob, made a piece at a time: a Blob keeps its bytes outside the JavaScript heap, so a large model's
 * text never counts against the worker's `--max-old-space-size` (the answer of `GET /api/report?output=json`).
 * Undefined once it would pass `maxBytes`: what was made so far is let go at once.
 */
export function jsonBlob(value: object, maxBytes = Infinity): Blob | undefined {
  const chunks: Blob[] = [];
  let size = 0;
  for (const batch of gathered(jsonParts(value), BLOB_CHUNK)) {
    const chunk = new Blob([batch]);
    size += chunk.size;
    if (size > maxBytes) return undefined;
    chunks.push(chunk);
  }
  return new Blob(chunks, { type: "application/json" });
}
