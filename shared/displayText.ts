/**
 * Characters that change how text is shown without being seen themselves: C0 controls but tab and line
 * feed (a table cell turns those into spaces itself; a log message may span lines), DEL and the C1 controls
 * (0x9b is a CSI on its own), the soft hyphen, the bidirectional marks, embeddings, overrides and isolates
 * (U+061C, U+200E/F, U+202A–E, U+2066–9: CVE-2021-42574, "Trojan Source"), zero-width and other invisible
 * format characters (U+180E, U+200B–D, U+2060–4, U+206A–F, U+FEFF, U+FFF9–B), the line and paragraph
 * separators, and the Unicode tag characters (U+E0000–E007F, invisible text that some tools still read).
 * The CLI and the access-review page show each as an escape: a name from Azure can then neither drive a
 * terminal nor reorder or hide what a reader sees.
 */
export const INVISIBLE_PATTERN =
  "[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f\\u00ad\\u061c\\u180e\\u200b-\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb\\u{e0000}-\\u{e007f}]";

const INVISIBLE = new RegExp(INVISIBLE_PATTERN, "gu");

/** `\x1b`, `\u202e`, `\u{e0041}`: how an escaped character is written (the page's script writes the same). */
function escapeOf(character: string): string {
  const code = character.codePointAt(0) ?? 0;
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, "0")}`;
  if (code <= 0xffff) return `\\u${code.toString(16).padStart(4, "0")}`;
  return `\\u{${code.toString(16)}}`;
}

/** The text with every invisible or reordering character shown as its escape. */
export function showInvisible(text: string): string {
  return text.replace(INVISIBLE, escapeOf);
}
