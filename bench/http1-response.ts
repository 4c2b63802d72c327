// The load generator's side of HTTP/1.1 keep-alive: finds where each
// response on a connection ends (Content-Length, chunked, or no body) so the
// next request can go out, without parsing more than that. Bodies are
// skipped, never kept. A response that cannot be framed is an error: the
// connection is then closed and its request counted as failed.

export interface ResponseEnd {
  status: number;
  /** The server said `Connection: close` (or spoke HTTP/1.0 without keep-alive): this connection is done. */
  close: boolean;
}

type State =
  | { at: 'head' }
  | { at: 'body'; left: number }
  | { at: 'chunk-size' }
  | { at: 'chunk-data'; left: number }
  | { at: 'trailers' };

const CRLF2 = Buffer.from('\r\n\r\n');

export class ResponseReader {
  #buf: Buffer = Buffer.alloc(0);
  #state: State = { at: 'head' };
  #head: ResponseEnd | null = null;

  /** Feeds bytes read from the connection; returns every response they completed, in order. Throws on bytes that are not HTTP/1.1 responses. */
  feed(chunk: Buffer): ResponseEnd[] {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    const done: ResponseEnd[] = [];
    for (;;) {
      const s = this.#state;
      if (s.at === 'head') {
        const end = this.#buf.indexOf(CRLF2);
        if (end < 0) {
          if (this.#buf.length > 64 * 1024) throw new Error('response head longer than 64 KB');
          break;
        }
        const head = this.#buf.subarray(0, end).toString('latin1');
        this.#buf = this.#buf.subarray(end + 4);
        this.#head = this.#parseHead(head);
        // No body; an interim 1xx is followed by the real response.
        if (this.#state.at === 'head' && this.#head.status >= 200) done.push(this.#head);
        continue;
      }
      if (s.at === 'body' || s.at === 'chunk-data') {
        const n = Math.min(s.left, this.#buf.length);
        s.left -= n;
        this.#buf = this.#buf.subarray(n);
        if (s.left > 0) break;
        if (s.at === 'body') { done.push(this.#head!); this.#state = { at: 'head' }; } else this.#state = { at: 'chunk-size' };
        continue;
      }
      const eol = this.#buf.indexOf('\r\n');
      if (eol < 0) break;
      const line = this.#buf.subarray(0, eol).toString('latin1');
      this.#buf = this.#buf.subarray(eol + 2);
      if (s.at === 'trailers') {
        if (line === '') { done.push(this.#head!); this.#state = { at: 'head' }; }
        continue;
      }
      // chunk-size: a chunk's data is followed by CRLF, which reads here as an empty line.
      if (line === '') continue;
      const size = parseInt(line, 16);
      if (!Number.isFinite(size) || size < 0) throw new Error(`bad chunk size line '${line.slice(0, 40)}'`);
      this.#state = size === 0 ? { at: 'trailers' } : { at: 'chunk-data', left: size };
    }
    return done;
  }

  /** Sets the body state from the head; returns status and close flag. */
  #parseHead(head: string): ResponseEnd {
    const lines = head.split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0]);
    if (!m) throw new Error(`not an HTTP/1.x response: '${lines[0].slice(0, 60)}'`);
    const status = Number(m[2]);
    let length = -1;
    let chunked = false;
    let connection = '';
    for (const l of lines.slice(1)) {
      const colon = l.indexOf(':');
      const name = l.slice(0, colon).trim().toLowerCase();
      const value = l.slice(colon + 1).trim().toLowerCase();
      if (name === 'content-length') length = Number(value);
      else if (name === 'transfer-encoding') chunked = value.split(',').map((x) => x.trim()).includes('chunked');
      else if (name === 'connection') connection = value;
    }
    const close = connection === 'close' || (m[1] === '0' && connection !== 'keep-alive');
    if (status === 204 || status === 304 || (status >= 100 && status < 200)) this.#state = { at: 'head' };
    else if (chunked) this.#state = { at: 'chunk-size' };
    else if (length >= 0) this.#state = length > 0 ? { at: 'body', left: length } : { at: 'head' };
    else throw new Error(`response ${status} without Content-Length or chunked framing (a body until close is not supported)`);
    return { status, close };
  }
}
