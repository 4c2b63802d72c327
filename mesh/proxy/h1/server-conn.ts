// One client connection of the lean HTTP/1.1 server: reads request heads
// (./request-head.ts), hands each request on with its body as a stream,
// and keeps the connection for the next one when both sides allow it.
// Pipelined requests wait, unparsed, until the response before them is
// complete: one request at a time per connection, as Node's server does.
//
// Limits: a head must arrive within headersTimeoutMs of its first byte
// (408, slow-loris); an idle kept-alive connection is closed after
// keepAliveTimeoutMs (both checked by the server's sweep, ./server.ts:
// Node's per-socket timeouts cost a timer object per request); at most
// MAX_BUFFERED bytes wait unread behind a request in flight (the socket is
// paused past that).

import type net from 'node:net';
import { MeshError } from '../errors.ts';
import { ChunkedDecoder, ChunkedError } from './chunked-decoder.ts';
import { parseRequestHead, type RequestHead } from './request-head.ts';
import { LeanRequest, LeanResponse, type ResponseOwner } from './server-messages.ts';

const MAX_BUFFERED = 64 * 1024;

export interface H1Handlers {
  request(req: LeanRequest, res: LeanResponse): void;
  /** A request that cannot be read: answer it (or not, if the socket is gone) and close. */
  clientError(err: MeshError, socket: net.Socket): void;
  /** Bytes arrived after a request that ended the connection: not read (RFC 9112 §9.6), said once per connection. */
  discarded(socket: net.Socket): void;
  /**
   * A request asking for another protocol (`Connection: upgrade` with
   * `Upgrade`, or CONNECT): the socket is handed over, with the bytes read
   * past the head, and this server lets go of it. Absent: served as a plain request.
   */
  upgrade?(req: LeanRequest, socket: net.Socket, head: Buffer): void;
}

export interface H1Options { headersTimeoutMs: number; keepAliveTimeoutMs: number }

export class H1Connection implements ResponseOwner {
  readonly socket: net.Socket;
  readonly #h: H1Handlers;
  readonly #o: H1Options;
  #buf: Buffer | null = null;
  #head: RequestHead | null = null;
  #req: LeanRequest | null = null;
  #res: LeanResponse | null = null;
  #left = 0;
  #chunks: ChunkedDecoder | null = null;
  #bodyDone = true;
  /** No further request is read on this connection (a refusal, `Connection: close`, unknown framing). */
  #closing = false;
  /** When the head being read began to arrive (0: none pending); the server's sweep times it out (./server.ts). */
  headStartedAt = 0;
  /** When the connection last finished a response (or opened): the sweep closes it once idle too long. */
  lastActive = Date.now();
  #discarded = false;
  readonly #onData = (d: Buffer) => this.#data(d);

  constructor(socket: net.Socket, handlers: H1Handlers, opts: H1Options) {
    this.socket = socket;
    this.#h = handlers;
    this.#o = opts;
    socket.setNoDelay(true);
    socket.on('data', this.#onData);
    // The client's FIN (listeners allow half-open sockets): the response in flight still goes out, then we close too.
    socket.on('end', () => {
      this.#closing = true;
      if (this.#res === null) socket.end();
    });
    socket.on('error', () => {});
    socket.on('close', () => this.#gone());
  }

  /** Between requests: nothing in flight, nothing half-read. */
  get idle(): boolean { return this.#res === null && this.#buf === null; }

  /** No new request: closes now when idle, else once the response in flight is written. */
  drain(): void {
    this.#closing = true;
    if (this.#res === null) this.socket.destroySoon();
  }

  keepAlive(): boolean { return !this.#closing && !this.#head?.close; }

  done(res: LeanResponse, clean: boolean): void {
    if (res !== this.#res) return;
    this.#res = null;
    res.closed();
    if (!clean || !res.keepsConnection || this.#closing || this.#head?.close || !this.#bodyDone) {
      this.#closing = true;
      this.#buf = null;
      this.socket.destroySoon(); // FIN once written, then gone: we closed it, not the client
      return;
    }
    this.#head = null;
    this.#req = null;
    this.lastActive = Date.now();
    if (this.socket.isPaused()) this.socket.resume();
    if (this.#buf) { const b = this.#buf; this.#buf = null; this.#data(b); }
  }

  #data(d: Buffer): void {
    if (this.#closing) return this.#discard(); // bytes after a request that ends the connection are not read (RFC 9112 §9.6)
    let buf = this.#buf ? Buffer.concat([this.#buf, d]) : d;
    this.#buf = null;
    let at = 0;
    if (this.#req && !this.#bodyDone) at = this.#body(buf, 0);
    if (this.#closing) return;
    if (this.#res) {
      // A response is in flight: what follows waits, unparsed (or is never read, if this request ends the connection).
      if (at < buf.length) {
        if (this.#head?.close) this.#discard();
        else this.#hold(buf.subarray(at));
      }
      return;
    }
    let head: RequestHead | null;
    try {
      head = parseRequestHead(buf, at);
    } catch (e) {
      return this.#refuse(e as MeshError);
    }
    if (!head) {
      this.#buf = at === 0 ? buf : buf.subarray(at);
      if (this.headStartedAt === 0) this.headStartedAt = Date.now();
      return;
    }
    this.headStartedAt = 0;
    if (this.#h.upgrade && (head.method === 'CONNECT' || (head.headers.upgrade !== undefined && /\bupgrade\b/i.test(String(head.headers.connection ?? ''))))) {
      this.socket.off('data', this.#onData);
      this.#closing = true;
      const req = new LeanRequest(head, this.socket, () => {});
      req.push(null);
      this.#h.upgrade(req, this.socket, buf.subarray(head.next));
      return;
    }
    this.#start(head);
    at = head.next;
    if (!this.#bodyDone && at < buf.length) at = this.#body(buf, at);
    if (at < buf.length) {
      if (this.#closing || head.close) this.#discard();
      else this.#hold(buf.subarray(at));
    }
  }

  #discard(): void {
    if (this.#discarded) return;
    this.#discarded = true;
    this.#h.discarded(this.socket);
  }

  #start(head: RequestHead): void {
    this.#head = head;
    if (head.framing === 'unframed') this.#closing = true; // where this body ends is unknown; message-checks refuses it
    const req = new LeanRequest(head, this.socket, () => { if (this.socket.isPaused()) this.socket.resume(); });
    const res = new LeanResponse(this.socket, head.method, head.minor, this);
    this.#req = req;
    this.#res = res;
    this.#bodyDone = head.framing === 'none' || head.framing === 'unframed';
    this.#left = head.contentLength;
    this.#chunks = head.framing === 'chunked' ? new ChunkedDecoder() : null;
    if (this.#bodyDone) req.push(null);
    else if (head.expectContinue) this.socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
    this.#h.request(req, res);
  }

  /** Feeds body bytes from buf[at…] to the request; returns where its body ended (or buf's end). */
  #body(buf: Buffer, at: number): number {
    const req = this.#req!;
    let flowing = true;
    const give = (c: Buffer) => { if (c.length > 0 && !req.push(c)) flowing = false; };
    if (this.#chunks) {
      try {
        at = this.#chunks.feed(buf, at, give);
      } catch (e) {
        if (!(e instanceof ChunkedError)) throw e;
        this.#closing = true;
        req.destroy(Object.assign(new Error(`bad chunked request body: ${e.message}`), { code: 'ERR_BAD_CHUNKED' }));
        return buf.length;
      }
      if (this.#chunks.done) this.#bodyDone = true;
    } else {
      const n = Math.min(this.#left, buf.length - at);
      give(at === 0 && n === buf.length ? buf : buf.subarray(at, at + n));
      this.#left -= n;
      at += n;
      if (this.#left === 0) this.#bodyDone = true;
    }
    if (this.#bodyDone) req.push(null);
    else if (!flowing) this.socket.pause();
    return at;
  }

  #hold(rest: Buffer): void {
    this.#buf = this.#buf ? Buffer.concat([this.#buf, rest]) : rest;
    if (this.#buf.length > MAX_BUFFERED) this.socket.pause();
  }

  /** The sweep found the head pending past the headers timeout (slow-loris). */
  headTimedOut(): void {
    this.#refuse(new MeshError('MESH_ERR_REQUEST_TIMEOUT', 'request headers not received in time'));
  }

  #refuse(err: MeshError): void {
    this.headStartedAt = 0;
    this.#closing = true;
    this.#buf = null;
    this.#h.clientError(err, this.socket);
  }

  #gone(): void {
    this.headStartedAt = 0;
    this.#closing = true;
    const req = this.#req;
    if (req && !this.#bodyDone) { req.emit('aborted'); req.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })); }
    const res = this.#res;
    this.#res = null;
    res?.closed();
  }
}
