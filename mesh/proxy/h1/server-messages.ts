// The request and response objects of the lean HTTP/1.1 server
// (./server-conn.ts): the part of Node's IncomingMessage and ServerResponse
// that the sidecar's stages use, and no more, so a request costs a few
// small objects instead of Node's layers. Stages are typed against Node's
// classes; these match them where the stages look (see the list below).
//
// LeanRequest:  method, url (stages rewrite it), headers, rawHeaders,
//               httpVersion(Major|Minor), socket, and the body as a Readable.
// LeanResponse: statusCode, statusMessage, headersSent, destroyed,
//               writableEnded/Finished, setHeader/getHeader/hasHeader/
//               removeHeader, writeHead(status, [reason], [headers as an
//               object or a flat [name, value, …] list]), write, end,
//               destroy; events drain, finish, close.

import { EventEmitter } from 'node:events';
import { STATUS_CODES } from 'node:http';
import type net from 'node:net';
import type { RequestHead } from './request-head.ts';

/**
 * The request, its body a small readable of its own rather than Node's
 * Readable (whose construction alone cost ~5 µs, more than the rest of a
 * bodiless request): 'data' and 'end' events, pause/resume, pipe/unpipe,
 * destroy, with backpressure told to the connection (onPull).
 */
export class LeanRequest extends EventEmitter {
  method: string;
  url: string;
  readonly headers: Record<string, string | string[]>;
  readonly rawHeaders: string[];
  readonly httpVersion: string;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  readonly socket: net.Socket;
  readonly #onPull: () => void;
  #queue: Buffer[] = [];
  #queued = 0;
  #ended = false;
  #endEmitted = false;
  #flowing = false;
  /** pause() was called: a later 'data' listener does not start the flow (as Node's readableFlowing === false). */
  #pausedByUser = false;
  #scheduled = false;
  destroyed = false;
  /** The whole body has been received. */
  complete = false;
  #pipes: { dest: NodeJS.WritableStream; onData: (c: Buffer) => void; onEnd: () => void }[] = [];

  constructor(head: RequestHead, socket: net.Socket, onPull: () => void) {
    super();
    this.method = head.method;
    this.url = head.target;
    this.headers = head.headers;
    this.rawHeaders = head.raw;
    this.httpVersion = `${head.major}.${head.minor}`;
    this.httpVersionMajor = head.major;
    this.httpVersionMinor = head.minor;
    this.socket = socket;
    this.#onPull = onPull;
  }

  get readableLength(): number { return this.#queued; }
  get readableEnded(): boolean { return this.#endEmitted; }
  get readableFlowing(): boolean { return this.#flowing; }

  /** From the connection: a body piece (or null at its end). false: stop reading until onPull. */
  push(chunk: Buffer | null): boolean {
    if (this.destroyed) return false;
    if (chunk === null) { this.#ended = true; this.complete = true; this.#schedule(); return false; }
    if (this.#flowing && this.#queue.length === 0) { this.emit('data', chunk); return this.#flowing; }
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    this.#schedule();
    return this.#queued < 16 * 1024;
  }

  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    super.on(event, listener);
    if (event === 'data' && !this.#flowing && !this.#pausedByUser) this.resume(); // as Node: a 'data' listener starts the flow
    if (event === 'end' && this.#ended) this.#schedule();
    return this;
  }

  override once(event: string | symbol, listener: (...args: any[]) => void): this {
    super.once(event, listener);
    if (event === 'data' && !this.#flowing && !this.#pausedByUser) this.resume();
    if (event === 'end' && this.#ended) this.#schedule();
    return this;
  }

  resume(): this {
    this.#pausedByUser = false;
    if (!this.#flowing) { this.#flowing = true; this.#schedule(); }
    return this;
  }

  pause(): this {
    this.#flowing = false;
    this.#pausedByUser = true;
    return this;
  }

  isPaused(): boolean { return !this.#flowing; }

  pipe<T extends NodeJS.WritableStream>(dest: T): T {
    const onData = (c: Buffer) => { if (!dest.write(c)) { this.pause(); dest.once('drain', () => this.resume()); } };
    const onEnd = () => dest.end();
    this.#pipes.push({ dest, onData, onEnd });
    this.on('data', onData);
    this.once('end', onEnd);
    return dest;
  }

  unpipe(dest?: NodeJS.WritableStream): this {
    for (const p of this.#pipes.filter((x) => !dest || x.dest === dest)) { this.off('data', p.onData); this.off('end', p.onEnd); }
    this.#pipes = dest ? this.#pipes.filter((x) => x.dest !== dest) : [];
    return this;
  }

  destroy(err?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.#queue = [];
    this.#queued = 0;
    process.nextTick(() => {
      if (err && this.listenerCount('error') > 0) this.emit('error', err);
      this.emit('close');
    });
    return this;
  }

  /** Delivers what is queued, then 'end', on a later tick (listeners attached now still hear it). */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    process.nextTick(() => { this.#scheduled = false; this.#flush(); });
  }

  #flush(): void {
    while (this.#flowing && this.#queue.length > 0 && !this.destroyed) {
      const c = this.#queue.shift()!;
      this.#queued -= c.length;
      this.emit('data', c);
    }
    if (this.destroyed) return;
    if (this.#queue.length === 0 && this.#ended) {
      if (this.#flowing && !this.#endEmitted) {
        this.#endEmitted = true;
        this.emit('end');
        this.emit('close');
      }
    } else if (this.#flowing && !this.#ended) this.#onPull();
  }
}

const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** Framing is this server's to decide: a stage's own copy of these is dropped. */
const FRAMING = new Set(['transfer-encoding', 'connection', 'keep-alive']);

let dateText = '';
let dateAt = 0;
/** The Date header, formatted at most once a second. */
function httpDate(): string {
  const now = Date.now();
  if (now - dateAt >= 1000) { dateAt = now - (now % 1000); dateText = new Date(dateAt).toUTCString(); }
  return dateText;
}

export interface ResponseOwner {
  /** Whether the connection stays open after this response. */
  keepAlive(): boolean;
  /** The response is written in full (or the connection is gone): the next request may start. */
  done(res: LeanResponse, clean: boolean): void;
}

export class LeanResponse extends EventEmitter {
  statusCode = 200;
  statusMessage = '';
  headersSent = false;
  destroyed = false;
  writableEnded = false;
  writableFinished = false;
  /** Decided with the head: whether the connection carries another request after this response. */
  keepsConnection = true;
  readonly #socket: net.Socket;
  readonly #isHead: boolean;
  readonly #owner: ResponseOwner;
  readonly #minor: number;
  #headers: Map<string, [string, string | string[]]> | null = null;
  #raw: string[] | null = null;
  #chunked = false;
  #noBody = false;
  #awaitingDrain = false;
  /** Socket writes not yet handed to the OS. */
  #pending = 0;

  /** `minor`: the request's HTTP/1.x minor version (chunked only to 1.1 clients). */
  constructor(socket: net.Socket, method: string, minor: number, owner: ResponseOwner) {
    super();
    this.#socket = socket;
    this.#isHead = method === 'HEAD';
    this.#minor = minor;
    this.#owner = owner;
  }

  get writableNeedDrain(): boolean { return this.#socket.writableNeedDrain; }

  setHeader(name: string, value: string | number | string[]): this {
    (this.#headers ??= new Map()).set(name.toLowerCase(), [name, Array.isArray(value) ? value : String(value)]);
    return this;
  }
  getHeader(name: string): string | string[] | undefined { return this.#headers?.get(name.toLowerCase())?.[1]; }
  hasHeader(name: string): boolean { return this.#headers?.has(name.toLowerCase()) ?? false; }
  removeHeader(name: string): void { this.#headers?.delete(name.toLowerCase()); }

  writeHead(status: number, reason?: string | Record<string, string | number | string[]> | string[], headers?: Record<string, string | number | string[]> | string[]): this {
    if (this.headersSent) throw new Error('writeHead after the head was sent');
    if (typeof reason !== 'string') { headers = reason; reason = undefined; }
    this.statusCode = status;
    if (reason) this.statusMessage = reason;
    if (Array.isArray(headers)) this.#raw = headers;
    else if (headers) for (const k of Object.keys(headers)) this.setHeader(k, headers[k]);
    return this;
  }

  write(chunk: Buffer | string): boolean {
    if (this.writableEnded || this.destroyed) return false;
    if (!this.headersSent) this.#sendHead(-1, chunk);
    else if (!this.#noBody && chunk.length > 0) this.#body(chunk);
    if (!this.#socket.writableNeedDrain) return true;
    if (!this.#awaitingDrain) {
      this.#awaitingDrain = true;
      this.#socket.once('drain', () => { this.#awaitingDrain = false; this.emit('drain'); });
    }
    return false;
  }

  end(chunk?: Buffer | string): this {
    if (this.writableEnded || this.destroyed) return this;
    this.writableEnded = true;
    if (!this.headersSent) this.#sendHead(chunk === undefined ? 0 : Buffer.byteLength(chunk), chunk);
    else if (chunk !== undefined && !this.#noBody && chunk.length > 0) this.#body(chunk);
    if (this.#chunked) this.#put('0\r\n\r\n', 'latin1');
    // Finished once every write has been handed to the OS (TLS included): now, or when the last one is.
    if (this.#pending === 0) process.nextTick(this.#onWritten);
    return this;
  }

  /** Every socket write of the response goes here, so end() knows when the last one is out. */
  #put(data: Buffer | string, encoding?: BufferEncoding): void {
    this.#pending++;
    if (encoding) this.#socket.write(data, encoding, this.#onWritten);
    else this.#socket.write(data, this.#onWritten);
  }

  readonly #onWritten = (): void => {
    if (this.#pending > 0) this.#pending--;
    if (this.#pending === 0 && this.writableEnded) this.#finished();
  };

  #finished(): void {
    if (this.destroyed || this.writableFinished) return;
    this.writableFinished = true;
    this.emit('finish');
    this.#owner.done(this, true);
  }

  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.#socket.destroy();
    return this;
  }

  /** The connection is gone (or this response is abandoned): 'close' once. */
  closed(): void {
    if (!this.writableFinished) this.destroyed = true;
    this.emit('close');
  }

  #body(chunk: Buffer | string): void {
    if (!this.#chunked) { this.#put(chunk); return; }
    const n = Buffer.byteLength(chunk);
    this.#socket.cork();
    this.#put(`${n.toString(16)}\r\n`, 'latin1');
    this.#put(chunk);
    this.#put('\r\n', 'latin1');
    this.#socket.uncork();
  }

  /** The head, with the first body bytes when there are any; `length` ≥ 0: the whole body is known (end()). */
  #sendHead(length: number, chunk?: Buffer | string): void {
    this.headersSent = true;
    const status = this.statusCode;
    this.#noBody = this.#isHead || status === 204 || status === 304 || status < 200;
    let head = `HTTP/1.1 ${status} ${this.statusMessage || STATUS_CODES[status] || 'Unknown'}\r\n`;
    let hasLength = false;
    let hasDate = false;
    let closeAsked = false;
    const add = (name: string, value: string) => {
      const k = name.toLowerCase();
      if (k === 'content-length') hasLength = true;
      else if (k === 'date') hasDate = true;
      else if (FRAMING.has(k)) { if (k === 'connection' && /\bclose\b/i.test(value)) closeAsked = true; return; }
      if (BAD_VALUE.test(value)) throw new Error(`response header ${name}: a value with a character a header cannot carry`);
      head += `${name}: ${value}\r\n`;
    };
    if (this.#raw) for (let i = 0; i < this.#raw.length; i += 2) add(this.#raw[i], this.#raw[i + 1]);
    if (this.#headers) for (const [name, v] of this.#headers.values()) for (const one of Array.isArray(v) ? v : [v]) add(name, one);
    if (!hasDate) head += `Date: ${httpDate()}\r\n`;
    if (!hasLength && !this.#noBody) {
      if (length >= 0) head += `Content-Length: ${length}\r\n`;
      else if (this.#minor === 1) { head += 'Transfer-Encoding: chunked\r\n'; this.#chunked = true; }
    }
    const keep = !closeAsked && this.#owner.keepAlive() && (hasLength || length >= 0 || this.#chunked || this.#noBody);
    head += keep ? (this.#minor === 0 ? 'Connection: keep-alive\r\n\r\n' : '\r\n') : 'Connection: close\r\n\r\n';
    this.keepsConnection = keep;
    if (chunk === undefined || this.#noBody || chunk.length === 0) { this.#put(head, 'latin1'); return; }
    if (!this.#chunked && typeof chunk !== 'string' && chunk.length <= 16 * 1024) {
      // Head and a small body in one buffer: one plain write (a writev of a string and a buffer costs ~2x).
      const out = Buffer.allocUnsafe(head.length + chunk.length);
      out.write(head, 0, 'latin1');
      chunk.copy(out, head.length);
      this.#put(out);
      return;
    }
    this.#socket.cork();
    this.#put(head, 'latin1');
    this.#body(chunk);
    this.#socket.uncork();
  }
}
