// Decodes a chunked body (RFC 9112 §7.1) as it arrives, in pieces of any
// size: data is handed on as slices of the input (no copies), extensions
// are skipped, trailer fields are collected. Strict as the head parser is:
// a size that is not hex, a missing CRLF after data, or an oversized line
// is an error and the connection is not reused.

const MAX_LINE = 4096;
const MAX_TRAILER_BYTES = 16 * 1024;

export class ChunkedError extends Error {}

type State = 'size' | 'data' | 'data-crlf' | 'trailer' | 'done';

export class ChunkedDecoder {
  #state: State = 'size';
  #left = 0;
  /** An unfinished size or trailer line carried over from the last piece. */
  #line = '';
  #trailerBytes = 0;
  readonly trailers: string[] = [];

  get done(): boolean { return this.#state === 'done'; }

  /**
   * Feeds `buf` from `at`; calls onData with body slices. Returns the
   * offset just past what it consumed: the end of buf, or, once the last
   * chunk and trailers are read, where the body ended (what follows is not
   * this body's).
   */
  feed(buf: Buffer, at: number, onData: (chunk: Buffer) => void): number {
    let i = at;
    while (i < buf.length && this.#state !== 'done') {
      switch (this.#state) {
        case 'size': {
          const line = this.#readLine(buf, i);
          if (line === null) return buf.length;
          i = line.next;
          const semi = line.text.indexOf(';');
          const hex = (semi >= 0 ? line.text.slice(0, semi) : line.text).trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw new ChunkedError(`bad chunk size ${JSON.stringify(line.text.slice(0, 32))}`);
          this.#left = parseInt(hex, 16);
          this.#state = this.#left === 0 ? 'trailer' : 'data';
          break;
        }
        case 'data': {
          const n = Math.min(this.#left, buf.length - i);
          onData(buf.subarray(i, i + n));
          this.#left -= n;
          i += n;
          if (this.#left === 0) { this.#state = 'data-crlf'; this.#left = 2; }
          break;
        }
        case 'data-crlf': {
          // The CRLF after a chunk's data, possibly split across pieces.
          const want = this.#left === 2 ? 13 : 10;
          if (buf[i] !== want) throw new ChunkedError('chunk data not followed by CRLF');
          i++;
          if (--this.#left === 0) this.#state = 'size';
          break;
        }
        case 'trailer': {
          const line = this.#readLine(buf, i);
          if (line === null) return buf.length;
          i = line.next;
          if (line.text === '') { this.#state = 'done'; break; }
          this.#trailerBytes += line.text.length + 2;
          if (this.#trailerBytes > MAX_TRAILER_BYTES) throw new ChunkedError(`trailers larger than ${MAX_TRAILER_BYTES} bytes`);
          const colon = line.text.indexOf(':');
          if (colon <= 0 || /[\0\r\n]/.test(line.text)) throw new ChunkedError(`bad trailer line ${JSON.stringify(line.text.slice(0, 64))}`);
          this.trailers.push(line.text.slice(0, colon), line.text.slice(colon + 1).trim());
          break;
        }
      }
    }
    return i;
  }

  /** One CRLF-terminated line from i, joined with a carried-over part; null when it has not ended yet. */
  #readLine(buf: Buffer, i: number): { text: string; next: number } | null {
    const lf = buf.indexOf(10, i);
    if (lf < 0) {
      this.#line += buf.toString('latin1', i, buf.length);
      if (this.#line.length > MAX_LINE) throw new ChunkedError(`chunk line longer than ${MAX_LINE} bytes`);
      return null;
    }
    let text = this.#line + buf.toString('latin1', i, lf);
    this.#line = '';
    if (!text.endsWith('\r')) throw new ChunkedError('chunk line ends in a bare LF');
    text = text.slice(0, -1);
    if (text.length > MAX_LINE) throw new ChunkedError(`chunk line longer than ${MAX_LINE} bytes`);
    return { text, next: lf + 1 };
  }
}
