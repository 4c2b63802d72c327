// One HTTP/1.1 exchange at a time over one upstream socket (plain or TLS):
// writes the request head (and body, framed), parses the response head,
// hands the body on with backpressure, and says afterwards whether the
// socket may carry another request. This replaces Node's ClientRequest and
// Agent on the sidecar's hot path: for a request without a body it is one
// write, one read and no per-request objects beyond the exchange's own.

import type net from 'node:net';
import type { Readable } from 'node:stream';
import { ChunkedDecoder, ChunkedError } from './chunked-decoder.ts';
import { parseResponseHead, ResponseHeadError, type ResponseHead } from './response-head.ts';

export type UpstreamFailure =
  /** No connection: refused, unreachable, timed out (code says which). */
  | 'connect'
  /** A reused keep-alive socket was closed under us before any response byte: nothing reached the upstream's handler. */
  | 'stale'
  /** The connection broke before or while the response came. */
  | 'reset'
  /** The peer's TLS certificate or handshake failed. */
  | 'tls'
  /** The response was not HTTP/1.1 the sidecar will forward. */
  | 'protocol';

export class UpstreamError extends Error {
  constructor(readonly kind: UpstreamFailure, message: string, readonly responded: boolean, readonly code = '') { super(message); }
}

export interface Exchange {
  /** Request line, headers and the blank line, latin1. */
  head: string;
  /** The body to send after the head, already delimited by the head's own Content-Length or chunked. */
  body: { stream: Readable; framing: 'length' | 'chunked' } | null;
  /** A HEAD request: the response has no body whatever its head says. */
  isHead: boolean;
  /** Request body bytes handed to the upstream socket (not counting framing). */
  onBodySent?(n: number): void;
  onResponse(head: ResponseHead): void;
  /** false: pause the upstream until resume(). */
  onData(chunk: Buffer): boolean;
  onEnd(trailers: string[]): void;
  onError(e: UpstreamError): void;
}

type Phase = 'head' | 'body' | 'done';

/** A socket of a pool; `run` one exchange at a time. */
export class UpstreamConn {
  readonly socket: net.Socket;
  /** Requests this socket has carried (0 before the first): a failure on a reused one may be a stale keep-alive. */
  uses = 0;
  /** When it last went back to its pool's idle list (Date.now()), for the pool's idle sweep. */
  idleSince = 0;
  #ex: Exchange | null = null;
  #phase: Phase = 'done';
  #buf: Buffer | null = null;
  #head: ResponseHead | null = null;
  #left = 0;
  #chunked: ChunkedDecoder | null = null;
  #requestSent = true;
  #reusable = true;
  #closed = false;
  #onIdle: (c: UpstreamConn) => void;
  #onGone: (c: UpstreamConn) => void;

  constructor(socket: net.Socket, onIdle: (c: UpstreamConn) => void, onGone: (c: UpstreamConn) => void) {
    this.socket = socket;
    this.#onIdle = onIdle;
    this.#onGone = onGone;
    socket.on('data', (d: Buffer) => this.#data(d));
    socket.on('end', () => this.#ended(null));
    socket.on('error', (e: NodeJS.ErrnoException) => this.#ended(e));
    socket.on('close', () => this.#ended(null));
  }

  get busy(): boolean { return this.#ex !== null; }
  get closed(): boolean { return this.#closed; }

  run(ex: Exchange): void {
    this.#ex = ex;
    this.#phase = 'head';
    this.#head = null;
    this.#chunked = null;
    this.uses++;
    this.#requestSent = ex.body === null;
    if (!ex.body) { this.socket.write(ex.head, 'latin1'); return; }
    this.socket.cork();
    this.socket.write(ex.head, 'latin1');
    process.nextTick(() => this.socket.uncork());
    this.#sendBody(ex, ex.body.stream, ex.body.framing);
  }

  /** Lets a paused body flow again (after onData returned false). */
  resume(): void { if (!this.#closed) this.socket.resume(); }

  /** Ends the exchange now: the socket is destroyed, no callback follows. */
  abort(): void {
    this.#ex = null;
    this.#destroy();
  }

  #sendBody(ex: Exchange, body: Readable, framing: 'length' | 'chunked'): void {
    const s = this.socket;
    const onData = (c: Buffer) => {
      if (this.#ex !== ex) return;
      ex.onBodySent?.(c.length);
      let ok: boolean;
      if (framing === 'chunked') {
        if (c.length === 0) return;
        s.cork();
        s.write(`${c.length.toString(16)}\r\n`, 'latin1');
        s.write(c);
        ok = s.write('\r\n', 'latin1');
        s.uncork();
      } else {
        ok = s.write(c);
      }
      if (!ok) { body.pause(); s.once('drain', () => body.resume()); }
    };
    const onEnd = () => {
      cleanup();
      if (this.#ex !== ex) return;
      if (framing === 'chunked') s.write('0\r\n\r\n', 'latin1');
      this.#requestSent = true;
      if (this.#phase === 'done') this.#finish();
    };
    // The client went away mid-body: the upstream has half a request, and this socket cannot be reused.
    const onAbort = () => { cleanup(); if (this.#ex === ex) this.#fail('reset', 'the request body ended early: the client went away'); };
    const cleanup = () => { body.off('data', onData); body.off('end', onEnd); body.off('error', onAbort); body.off('aborted', onAbort); };
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onAbort);
    body.on('aborted', onAbort);
  }

  #data(d: Buffer): void {
    const ex = this.#ex;
    if (!ex) { this.#destroy(); return; } // bytes nobody asked for: this connection is out of step
    let buf = this.#buf ? Buffer.concat([this.#buf, d]) : d;
    this.#buf = null;
    let at = 0;
    try {
      while (this.#phase === 'head') {
        const head = parseResponseHead(at === 0 ? buf : buf.subarray(at));
        if (!head) { this.#buf = buf.subarray(at); return; }
        at += head.size;
        if (head.status < 200) {
          if (head.status === 101) throw new ResponseHeadError('101 Switching Protocols to a request that asked for no upgrade');
          continue; // 100 Continue, 103 Early Hints: informational, not forwarded
        }
        this.#head = head;
        if (head.close) this.#reusable = false;
        ex.onResponse(head);
        if (this.#ex !== ex) return; // aborted from onResponse
        if (ex.isHead || head.status === 204 || head.status === 304) this.#phase = 'done';
        else if (head.framing === 'chunked') { this.#chunked = new ChunkedDecoder(); this.#phase = 'body'; }
        else if (head.framing === 'length') { this.#left = head.contentLength; this.#phase = head.contentLength === 0 ? 'done' : 'body'; }
        else { this.#reusable = false; this.#phase = 'body'; }
      }
      if (this.#phase === 'body') at = this.#body(ex, buf, at);
    } catch (e) {
      if (e instanceof ResponseHeadError || e instanceof ChunkedError) return this.#fail('protocol', `upstream answered with a bad response: ${e.message}`);
      throw e;
    }
    if (this.#ex !== ex) return;
    if (this.#phase === 'done') {
      if (at < buf.length) this.#reusable = false; // more than one response's worth: out of step
      this.#finish();
    }
  }

  #body(ex: Exchange, buf: Buffer, at: number): number {
    let flowing = true;
    const give = (c: Buffer) => { if (c.length > 0 && !ex.onData(c)) flowing = false; };
    if (this.#chunked) {
      at = this.#chunked.feed(buf, at, give);
      if (this.#chunked.done) this.#phase = 'done';
    } else if (this.#head!.framing === 'length') {
      const n = Math.min(this.#left, buf.length - at);
      give(at === 0 && n === buf.length ? buf : buf.subarray(at, at + n));
      this.#left -= n;
      at += n;
      if (this.#left === 0) this.#phase = 'done';
    } else {
      give(at === 0 ? buf : buf.subarray(at)); // until the upstream closes
      at = buf.length;
    }
    if (!flowing && this.#phase === 'body' && this.#ex === ex) this.socket.pause();
    return at;
  }

  #finish(): void {
    const ex = this.#ex!;
    if (!this.#requestSent) {
      // Answered before the whole request went out (an early 413, say): the rest of the body would be read as a next request.
      this.#reusable = false;
    }
    this.#ex = null;
    this.#phase = 'done';
    ex.onEnd(this.#chunked?.trailers ?? []);
    if (this.#reusable && !this.#closed) this.#onIdle(this);
    else this.#destroy();
  }

  #ended(e: NodeJS.ErrnoException | null): void {
    const ex = this.#ex;
    if (ex && this.#phase === 'body' && this.#head?.framing === 'close' && !e) {
      this.#phase = 'done';
      this.#reusable = false;
      this.#finish();
    } else if (ex) {
      const responded = this.#head !== null;
      const code = e?.code ?? '';
      if (!responded && this.uses > 1 && (code === 'ECONNRESET' || code === 'EPIPE' || code === '')) {
        this.#fail('stale', `kept-alive connection closed before the response: ${code || 'closed'}`);
      } else {
        this.#fail('reset', `${responded ? 'reset mid-response' : 'closed before answering'}: ${code || 'closed'}`);
      }
    }
    this.#destroy();
  }

  #fail(kind: UpstreamFailure, message: string): void {
    const ex = this.#ex;
    const responded = this.#head !== null;
    this.#ex = null;
    this.#destroy();
    ex?.onError(new UpstreamError(kind, message, responded));
  }

  #destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.socket.destroy();
    this.#onGone(this);
  }
}
