/**
 * Number storage for the exposure collector: a million assignments stream through a sweep, so what it keeps is
 * numbers in typed arrays, not an object per assignment.
 */

const NO_NEXT = -1;

/** An Int32Array that grows. */
export class Int32List {
  data: Int32Array;
  length = 0;
  constructor(capacity = 1024, private readonly fill = 0) {
    this.data = new Int32Array(capacity).fill(fill);
  }
  push(value: number): number {
    if (this.length === this.data.length) this.grow(this.length * 2);
    this.data[this.length] = value;
    return this.length++;
  }
  /** Make `at` addressable (new slots hold the fill value). */
  ensure(at: number): void {
    if (at >= this.data.length) this.grow(Math.max(at + 1, this.data.length * 2));
    if (at >= this.length) this.length = at + 1;
  }
  get(at: number): number {
    return this.data[at] ?? this.fill;
  }
  private grow(capacity: number): void {
    const data = new Int32Array(capacity).fill(this.fill);
    data.set(this.data);
    this.data = data;
  }
}

/** Linked lists of numbers keyed by a number (a scope, a principal), newest entry first, all in Int32Arrays. */
export class Chains {
  private readonly head = new Int32List(1024, NO_NEXT);
  private readonly next = new Int32List(1024);
  private readonly value = new Int32List(1024);

  add(key: number, value: number): void {
    this.head.ensure(key);
    const entry = this.next.push(this.head.data[key] ?? NO_NEXT);
    this.value.push(value);
    this.head.data[key] = entry;
  }

  /** Calls `visit` with each value of `key`, newest first. */
  forEach(key: number, visit: (value: number) => void): void {
    if (key >= this.head.length) return;
    for (let entry = this.head.data[key] ?? NO_NEXT; entry !== NO_NEXT; entry = this.next.data[entry] ?? NO_NEXT) visit(this.value.data[entry] ?? 0);
  }

  /** The values of `key`, in the order they were added. */
  list(key: number): number[] {
    const values: number[] = [];
    this.forEach(key, (value) => values.push(value));
    return values.reverse();
  }
}

/**
 * A role assignment's name is a GUID: four 32-bit numbers instead of a 36-character string. Every streamed
 * assignment that gives a right or a grade passes here: one pass over the characters, no strings made.
 */
export function guidWords(guid: string): [number, number, number, number] | undefined {
  if (guid.length !== 36) return undefined;
  const words: [number, number, number, number] = [0, 0, 0, 0];
  let digits = 0;
  for (let at = 0; at < 36; at += 1) {
    const code = guid.charCodeAt(at);
    if (at === 8 || at === 13 || at === 18 || at === 23) {
      if (code !== 45) return undefined;
      continue;
    }
    // 0-9 and a-f only (ARM's GUIDs are lower-case): anything else is kept as spelled.
    const value = code >= 48 && code <= 57 ? code - 48 : code >= 97 && code <= 102 ? code - 87 : -1;
    if (value < 0) return undefined;
    const word = digits >> 3;
    words[word] = ((words[word] as number) << 4) | value;
    digits += 1;
  }
  return words;
}

export function guidOfWords(words: readonly number[]): string {
  const hex = words.map((word) => (word >>> 0).toString(16).padStart(8, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
