const CHUNK_ROWS = 1000;
const COMMA = Buffer.from(",");

interface Chunk {
  /** The chunk's elements as JSON, comma-separated, UTF-8. */
  bytes: Buffer;
  /** Where element i starts in `bytes`; entry `count` is one past the end plus the comma that would follow. */
  starts: Uint32Array;
  count: number;
}

/**
 * The rows of a cached query result as JSON bytes, made once per chunk of 1,000 and kept with the
 * result: a page is then a copy of bytes, not a JSON.stringify of up to 1,000 objects and a UTF-8
 * encode of the string (most of the emulator's CPU in a tenant sweep). JSON.stringify of an array
 * joins the JSON of its elements with commas (and writes `null` for one that has none), so
 * `[` + slice(from, to) + `]` is byte for byte JSON.stringify(elements.slice(from, to)). The rows
 * must not change while kept: the cache drops them when the store's generation moves.
 */
export class SerializedRows {
  private readonly chunks: Array<Chunk | undefined> = [];

  constructor(
    private readonly rows: readonly unknown[],
    private readonly element: (row: unknown) => unknown = (row) => row,
  ) {}

  /** The JSON of elements [from, to), comma-separated, as buffers to concatenate. */
  slice(from: number, to: number): Buffer[] {
    const pieces: Buffer[] = [];
    const end = Math.min(to, this.rows.length);
    for (let start = from; start < end; ) {
      const index = Math.floor(start / CHUNK_ROWS);
      const base = index * CHUNK_ROWS;
      const chunk = this.chunk(index);
      const stop = Math.min(end, base + chunk.count);
      if (pieces.length > 0) pieces.push(COMMA);
      pieces.push(chunk.bytes.subarray(chunk.starts[start - base], (chunk.starts[stop - base] as number) - 1));
      start = stop;
    }
    return pieces;
  }

  /** Serializes every chunk now (the bench's warm-up: the measured sweep then only copies bytes). */
  serializeAll(): void {
    for (let index = 0; index * CHUNK_ROWS < this.rows.length; index += 1) this.chunk(index);
  }

  private chunk(index: number): Chunk {
    let chunk = this.chunks[index];
    if (!chunk) {
      const texts = this.rows.slice(index * CHUNK_ROWS, (index + 1) * CHUNK_ROWS).map((row) => JSON.stringify(this.element(row)) ?? "null");
      const starts = new Uint32Array(texts.length + 1);
      let at = 0;
      for (const [n, text] of texts.entries()) {
        starts[n] = at;
        at += Buffer.byteLength(text) + 1;
      }
      starts[texts.length] = at;
      chunk = { bytes: Buffer.from(texts.join(",")), starts, count: texts.length };
      this.chunks[index] = chunk;
    }
    return chunk;
  }
}
