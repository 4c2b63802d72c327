// Text lines written into Buffers of about `chunkBytes` each, cut at line
// ends, so a large payload never becomes one large string: a string of many
// MB lives in V8's large-object space, and making one cost more than
// encoding the lines (measured: 0.2 GB/s for one 650 KB toString vs 6 GB/s
// for 100 KB ones). Used for batch frames (./batch.ts) and TSV rows
// (./tap-row.ts).

export class LineChunks {
  readonly #chunkBytes: number;
  readonly #out: Buffer[] = [];
  #buf: Buffer;
  #at = 0;

  constructor(chunkBytes: number) {
    this.#chunkBytes = chunkBytes;
    this.#buf = Buffer.allocUnsafe(chunkBytes);
  }

  /** Appends `text` (UTF-8), then "\n" when `newline`. */
  put(text: string, newline: boolean): void {
    // A UTF-16 code unit is at most 3 bytes of UTF-8.
    const worst = text.length * 3 + (newline ? 1 : 0);
    if (this.#at + worst > this.#buf.length) {
      if (this.#at > 0) this.#out.push(this.#buf.subarray(0, this.#at));
      this.#buf = Buffer.allocUnsafe(Math.max(this.#chunkBytes, worst));
      this.#at = 0;
    }
    this.#at += this.#buf.write(text, this.#at);
    if (newline) this.#buf[this.#at++] = 0x0a;
  }

  /** The chunks written so far; the writer is done after this. */
  chunks(): Buffer[] {
    if (this.#at > 0) this.#out.push(this.#buf.subarray(0, this.#at));
    this.#at = 0;
    return this.#out;
  }
}
