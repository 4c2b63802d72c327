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
  readonly #waiting: (() => void)[] = [];
  #connecting = 0;
  #session: Buffer | undefined;
  #closed = false;
  /** Idle sockets and when each became idle; swept every idleMs/4 (a per-socket timer cost an object per request). */
  readonly #idleSince = new Map<UpstreamConn, number>();
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
    let conn: UpstreamConn | null = null;
    let aborted = false;
    let cancelWait: (() => void) | null = null;
    const handle: Dispatched = {
      abort: () => { aborted = true; cancelWait?.(); conn?.abort(); },
      resume: () => conn?.resume(),
      get socket() { return conn?.socket ?? null; },
    };
    const start = (c: UpstreamConn) => {
      if (aborted) { this.#release(c); return; }
      conn = c;
      c.run(ex);
    };
    const take = () => {
      const idle = this.#idle.pop();
      if (idle) { this.#idleSince.delete(idle); return start(idle); }
      if (this.size < this.#o.maxSockets) return this.#connect(connectMs, start, (e) => { if (!aborted) ex.onError(e); });
      const waiter = () => { cancelWait = null; take(); };
      this.#waiting.push(waiter);
      cancelWait = () => { const i = this.#waiting.indexOf(waiter); if (i >= 0) this.#waiting.splice(i, 1); };
    };
    if (this.#closed) ex.onError(new UpstreamError('connect', 'the pool is closed', false));
    else take();
    return handle;
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
    if (next) { this.#idle.push(c); next(); return; }
    this.#idle.push(c);
    this.#idleSince.set(c, Date.now());
    if (!this.#sweep) {
      this.#sweep = setInterval(() => this.#closeIdle(), Math.max(10, this.#o.idleMs / 4));
      this.#sweep.unref();
    }
  }

  #closeIdle(): void {
    const now = Date.now();
    for (const [c, since] of this.#idleSince) if (now - since > this.#o.idleMs) c.abort();
    if (this.#idleSince.size === 0 && this.#sweep) { clearInterval(this.#sweep); this.#sweep = null; }
  }

  #gone(c: UpstreamConn): void {
    this.#all.delete(c);
    this.#idleSince.delete(c);
    const i = this.#idle.indexOf(c);
    if (i >= 0) this.#idle.splice(i, 1);
    this.#wake();
  }

  /** A slot freed up: the first waiter may connect. */
  #wake(): void {
    if (this.#waiting.length > 0 && this.size < this.#o.maxSockets) this.#waiting.shift()!();
  }
}
