// Keep-alive connections to one upstream endpoint: the most recently used
// idle socket first (LIFO keeps few sockets warm), a new one when none is
// idle and the pool is under its bound, else a short FIFO wait. Idle
// sockets close after idleMs, below Node's default server keepAliveTimeout
// (5 s), so we rarely write to a socket the server is about to close.

import net from 'node:net';
import tls from 'node:tls';
import { UpstreamConn, UpstreamError, type Exchange } from './upstream-conn.ts';

export interface PoolOptions {
  host: string;
  port: number;
  /** Mutual TLS: how to connect (context, ALPN, the peer check); plaintext when absent. */
  tls?: tls.ConnectionOptions;
  maxSockets: number;
  idleMs: number;
}

/** What dispatch() returns: the handle of one exchange. */
export interface Dispatched {
  /** Stops it: no callback follows, the socket (if any) is destroyed. */
  abort(): void;
  /** Lets the body flow again after onData returned false. */
  resume(): void;
  /** The socket that carries it, once there is one (for its TLS version). */
  readonly socket: net.Socket | null;
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL', 'ETIMEDOUT']);

export class UpstreamPool {
  readonly #o: PoolOptions;
  readonly #idle: UpstreamConn[] = [];
  readonly #all = new Set<UpstreamConn>();
  readonly #waiting: PooledExchange[] = [];
  #connecting = 0;
  #session: Buffer | undefined;
  #closed = false;
  /** Swept every idleMs/4 for sockets idle too long (UpstreamConn.idleSince; a per-socket timer cost an object per request). */
  #sweep: NodeJS.Timeout | null = null;

  constructor(o: PoolOptions) { this.#o = o; }

  /** The bound on sockets (the cluster's max_connections); a new one applies from the next request. */
  get maxSockets(): number { return this.#o.maxSockets; }
  set maxSockets(n: number) {
    this.#o.maxSockets = n;
    for (let i = this.#waiting.length; i > 0 && this.size < n; i--) this.#wake();
  }

  /** Sockets open (busy or idle) and connecting. */
  get size(): number { return this.#all.size + this.#connecting; }
  get idle(): number { return this.#idle.length; }

  /** Runs `ex` on an idle socket, a new one, or the first to free up; connectMs bounds a new connection. */
  dispatch(ex: Exchange, connectMs: number): Dispatched {
    const d = new PooledExchange(this, ex, connectMs);
    if (this.#closed) ex.onError(new UpstreamError('connect', 'the pool is closed', false));
    else d.take();
    return d;
  }

  /** For PooledExchange: an idle socket now, a new one, or a place in the queue. */
  take(d: PooledExchange): void {
    const idle = this.#idle.pop();
    if (idle) return d.start(idle);
    if (this.size < this.#o.maxSockets) return this.#connect(d.connectMs, (c) => d.start(c), (e) => d.failed(e));
    this.#waiting.push(d);
  }

  /** For PooledExchange: gives a socket back (an aborted exchange's), or its place in the queue. */
  giveBack(c: UpstreamConn): void { this.#release(c); }
  leaveQueue(d: PooledExchange): void {
    const i = this.#waiting.indexOf(d);
    if (i >= 0) this.#waiting.splice(i, 1);
  }

  close(): void {
    this.#closed = true;
    if (this.#sweep) { clearInterval(this.#sweep); this.#sweep = null; }
    for (const c of [...this.#all]) c.abort();
    this.#idle.length = 0;
  }

  #connect(connectMs: number, ok: (c: UpstreamConn) => void, fail: (e: UpstreamError) => void): void {
    const { host, port } = this.#o;
    this.#connecting++;
    const socket = this.#o.tls
      ? tls.connect({ ...this.#o.tls, host, port, session: this.#session })
      : net.connect({ host, port });
    socket.setNoDelay(true);
    let done = false;
    const timer = setTimeout(() => settle(new UpstreamError('connect', `connect to ${host}:${port} timed out after ${connectMs} ms`, false, 'ETIMEDOUT')), connectMs);
    const settle = (e: UpstreamError | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.#connecting--;
      socket.off('error', onError);
      if (e) { socket.destroy(); fail(e); this.#wake(); return; }
      const conn = new UpstreamConn(socket, (c) => this.#release(c), (c) => this.#gone(c));
      this.#all.add(conn);
      ok(conn);
    };
    const onError = (e: NodeJS.ErrnoException) => {
      const code = e.code ?? '';
      const kind = this.#o.tls && !CONNECT_CODES.has(code) ? 'tls' : 'connect';
      settle(new UpstreamError(kind, kind === 'tls' ? `${code} ${e.message}` : `connect to ${host}:${port} failed: ${code}`, false, code));
    };
    socket.on('error', onError);
    if (this.#o.tls) {
      socket.on('session', (s: Buffer) => { this.#session = s; });
      socket.once('secureConnect', () => settle(null));
    } else {
      socket.once('connect', () => settle(null));
    }
  }

  /** A socket finished an exchange and may carry another. */
  #release(c: UpstreamConn): void {
    if (this.#closed || c.closed) return;
    const next = this.#waiting.shift();
    this.#idle.push(c);
    if (next) { this.take(next); return; }
    c.idleSince = Date.now();
    if (!this.#sweep) {
      this.#sweep = setInterval(() => this.#closeIdle(), Math.max(10, this.#o.idleMs / 4));
      this.#sweep.unref();
    }
  }

  #closeIdle(): void {
    const now = Date.now();
    for (const c of [...this.#idle]) if (now - c.idleSince > this.#o.idleMs) c.abort();
    if (this.#idle.length === 0 && this.#sweep) { clearInterval(this.#sweep); this.#sweep = null; }
  }

  #gone(c: UpstreamConn): void {
    this.#all.delete(c);
    const i = this.#idle.indexOf(c);
    if (i >= 0) this.#idle.splice(i, 1);
    this.#wake();
  }

  /** A slot freed up: the first waiter may connect. */
  #wake(): void {
    if (this.#waiting.length > 0 && this.size < this.#o.maxSockets) this.take(this.#waiting.shift()!);
  }
}

/** One exchange dispatched on a pool: its handle, and what the pool calls back (one object per request, no closures). */
class PooledExchange implements Dispatched {
  readonly #pool: UpstreamPool;
  readonly #ex: Exchange;
  readonly connectMs: number;
  #conn: UpstreamConn | null = null;
  #aborted = false;

  constructor(pool: UpstreamPool, ex: Exchange, connectMs: number) {
    this.#pool = pool;
    this.#ex = ex;
    this.connectMs = connectMs;
  }

  get socket(): net.Socket | null { return this.#conn?.socket ?? null; }

  take(): void { this.#pool.take(this); }

  start(c: UpstreamConn): void {
    if (this.#aborted) { this.#pool.giveBack(c); return; }
    this.#conn = c;
    c.run(this.#ex);
  }

  failed(e: UpstreamError): void {
    if (!this.#aborted) this.#ex.onError(e);
  }

  abort(): void {
    this.#aborted = true;
    if (this.#conn) this.#conn.abort();
    else this.#pool.leaveQueue(this);
  }

  resume(): void { this.#conn?.resume(); }
}
