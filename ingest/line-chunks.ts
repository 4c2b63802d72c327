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
  /** Where the bytes not yet cut begin in #buf. */
  #from = 0;

  constructor(chunkBytes: number) {
    this.#chunkBytes = chunkBytes;
    this.#buf = Buffer.allocUnsafe(chunkBytes);
  }

  /** Appends `text` (UTF-8), then "\n" when `newline`. */
  put(text: string, newline: boolean): void {
    // A UTF-16 code unit is at most 3 bytes of UTF-8.
    const worst = text.length * 3 + (newline ? 1 : 0);
    if (this.#at + worst > this.#buf.length) {
      if (this.#at > this.#from) this.#out.push(this.#buf.subarray(this.#from, this.#at));
      this.#buf = Buffer.allocUnsafe(Math.max(this.#chunkBytes, worst));
      this.#at = 0;
      this.#from = 0;
    }
    this.#at += this.#buf.write(text, this.#at);
    if (newline) this.#buf[this.#at++] = 0x0a;
  }

  /**
   * For an encoder that writes bytes in place: the current chunk, with at
   * least `bytes` free from `at`; commit() says where its bytes end.
   */
  reserve(bytes: number): Buffer {
    if (this.#at + bytes > this.#buf.length) {
      if (this.#at > this.#from) this.#out.push(this.#buf.subarray(this.#from, this.#at));
      this.#buf = Buffer.allocUnsafe(Math.max(this.#chunkBytes, bytes));
      this.#at = 0;
      this.#from = 0;
    }
    return this.#buf;
  }

  /** Where reserve()'s free bytes start. */
  get at(): number {
    return this.#at;
  }

  /** The bytes up to `at` of the chunk reserve() gave are written. */
  commit(at: number): void {
    this.#at = at;
  }

  /** The chunks written so far; the writer is done after this. */
  chunks(): Buffer[] {
    if (this.#at > this.#from) this.#out.push(this.#buf.subarray(this.#from, this.#at));
    this.#at = 0;
    this.#from = 0;
    return this.#out;
  }

  /** Forgets the bytes written since the last cut (a batch refused halfway through its rows). */
  discard(): void {
    this.#out.length = 0; // only chunks filled since the last cut are here
    this.#at = this.#from;
  }

  /**
   * The bytes written since the last cut (or the start), as views; the
   * writer goes on in the rest of its current chunk. For many small
   * outputs (one per batch) that share chunks instead of each taking one.
   */
  cut(): Buffer[] {
    const out = this.#out.splice(0);
    if (this.#at > this.#from) out.push(this.#buf.subarray(this.#from, this.#at));
    this.#from = this.#at;
    return out;
  }
}
