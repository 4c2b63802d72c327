// HTTP/2 sessions to one upstream endpoint: h2c with prior knowledge to a
// local workload, h2 over mutual TLS (ALPN h2) to a peer sidecar. One
// multiplexed session carries every request while it has room (the peer's
// SETTINGS_MAX_CONCURRENT_STREAMS, at most MAX_STREAMS); another opens
// when all are full, up to maxSessions (the cluster's max_connections);
// past that requests wait, first come first served. Requests that arrive
// while a session is connecting ride on it rather than opening more.
//
// A session that receives GOAWAY takes no new stream (the next request
// opens a new session: reconnect on demand); streams the peer had not
// processed end with REFUSED_STREAM, which the forwarder may send again.
// A session without streams for idleMs is closed.

import http2 from 'node:http2';
import type tls from 'node:tls';
import { PEER_IDENTITY_MISMATCH } from '../../../identity/index.ts';
import type { H2Counters } from './counters.ts';
import { h2ErrorName } from './headers.ts';

/** Streams per upstream session, whatever the peer allows: gRPC servers default to 100 as well. */
const MAX_STREAMS = 100;
const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL', 'ETIMEDOUT', 'ECONNRESET']);

export type H2Failure =
  /** No session: refused, unreachable, timed out, or the peer would not speak h2. */
  | 'connect'
  /** The peer's certificate is not the one the route expects (or the TLS handshake failed). */
  | 'identity';

export class H2SessionError extends Error {
  constructor(readonly kind: H2Failure, message: string, readonly code = '') { super(message); }
}

export interface SessionPoolOptions {
  host: string;
  port: number;
  /** Mutual TLS to a peer sidecar (context, peer check); h2c when absent. */
  tls?: tls.ConnectionOptions;
  maxSessions: number;
  idleMs: number;
  counters: H2Counters;
}

interface Entry {
  readonly session: http2.ClientHttp2Session;
  ready: boolean;
  /** false once GOAWAY came, or the session closed or failed: no new stream. */
  usable: boolean;
  active: number;
  /** Requests waiting for this session to connect. */
  readonly pending: ((err: H2SessionError | null) => void)[];
  idle: NodeJS.Timeout | null;
}

/** The error code of the GOAWAY a session received, if it received one. */
const goaways = new WeakMap<http2.ClientHttp2Session, number>();
export function goawayOf(session: http2.ClientHttp2Session): number | undefined { return goaways.get(session); }

export type StreamCallback = (err: H2SessionError | null, stream?: http2.ClientHttp2Stream, session?: http2.ClientHttp2Session) => void;

export class H2SessionPool {
  readonly #o: SessionPoolOptions;
  readonly #entries: Entry[] = [];
  readonly #waiting: (() => void)[] = [];
  #closed = false;

  constructor(o: SessionPoolOptions) { this.#o = o; }

  get maxSessions(): number { return this.#o.maxSessions; }
  set maxSessions(n: number) { this.#o.maxSessions = n; this.#wake(); }

  /** Sessions open or connecting. */
  get size(): number { return this.#entries.length; }

  /**
   * Opens a stream for `headers` on a session with room, a new one, or the
   * first to free up; calls back once. Returns a cancel function (no
   * callback follows it).
   */
  request(headers: http2.OutgoingHttpHeaders, endStream: boolean, connectMs: number, cb: StreamCallback): () => void {
    let cancelled = false;
    let cancelWait: (() => void) | null = null;
    const take = () => {
      if (this.#closed) return cb(new H2SessionError('connect', 'the pool is closed'));
      const entry = this.#roomy() ?? (this.#entries.length < this.#o.maxSessions ? this.#connect(connectMs) : null);
      if (!entry) {
        const waiter = () => { cancelWait = null; if (!cancelled) take(); };
        this.#waiting.push(waiter);
        cancelWait = () => { const i = this.#waiting.indexOf(waiter); if (i >= 0) this.#waiting.splice(i, 1); };
        return;
      }
      entry.active++;
      if (entry.idle) { clearTimeout(entry.idle); entry.idle = null; }
      const open = (err: H2SessionError | null) => {
        if (err || cancelled || !entry.usable) {
          this.#release(entry);
          if (cancelled) return;
          return err ? cb(err) : take(); // the session went away before use: try another
        }
        let stream: http2.ClientHttp2Stream;
        try {
          stream = entry.session.request(headers, { endStream });
        } catch (e) {
          this.#release(entry);
          return cb(new H2SessionError('connect', `could not open a stream to ${this.#where()}: ${(e as Error).message}`));
        }
        stream.once('close', () => this.#release(entry));
        cb(null, stream, entry.session);
      };
      if (entry.ready) open(null); else entry.pending.push(open);
    };
    take();
    return () => { cancelled = true; cancelWait?.(); };
  }

  close(): void {
    this.#closed = true;
    for (const e of [...this.#entries]) e.session.destroy();
    for (const w of this.#waiting.splice(0)) w();
  }

  #where(): string { return `${this.#o.host}:${this.#o.port}`; }

  /** A connected or connecting session that takes another stream. */
  #roomy(): Entry | undefined {
    for (const e of this.#entries) {
      if (!e.usable) continue;
      const peerMax = e.ready ? e.session.remoteSettings.maxConcurrentStreams ?? MAX_STREAMS : MAX_STREAMS;
      if (e.active < Math.min(MAX_STREAMS, peerMax)) return e;
    }
    return undefined;
  }

  #connect(connectMs: number): Entry {
    const { host, port } = this.#o;
    const secure = this.#o.tls !== undefined;
    const session = http2.connect(`${secure ? 'https' : 'http'}://${host}:${port}`, {
      ...(this.#o.tls ?? {}), ...(secure ? { ALPNProtocols: ['h2'] } : {}), settings: { enablePush: false },
    });
    const entry: Entry = { session, ready: false, usable: true, active: 0, pending: [], idle: null };
    this.#entries.push(entry);
    this.#o.counters.upstream_sessions++;
    const fail = (err: H2SessionError) => {
      clearTimeout(timer);
      entry.usable = false;
      for (const p of entry.pending.splice(0)) p(err);
      session.destroy();
    };
    const timer = setTimeout(() => fail(new H2SessionError('connect', `connect to ${host}:${port} timed out after ${connectMs} ms`, 'ETIMEDOUT')), connectMs);
    session.once('connect', () => {
      clearTimeout(timer);
      const alpn = session.alpnProtocol;
      if (secure && alpn !== 'h2') return fail(new H2SessionError('connect', `${host}:${port} did not accept HTTP/2 (ALPN ${alpn || 'none'})`));
      entry.ready = true;
      for (const p of entry.pending.splice(0)) p(null);
    });
    session.on('error', (e: NodeJS.ErrnoException) => {
      if (entry.ready) { entry.usable = false; return; } // its streams fail on their own
      fail(sessionError(e, host, port, secure));
    });
    session.on('goaway', (code: number) => {
      goaways.set(session, code);
      entry.usable = false;
      this.#o.counters.upstream_goaways++;
      if (code !== http2.constants.NGHTTP2_NO_ERROR) entry.session.destroy();
    });
    session.once('close', () => {
      clearTimeout(timer);
      entry.usable = false;
      if (entry.pending.length > 0) fail(new H2SessionError('connect', `session to ${host}:${port} closed before it was ready`));
      if (entry.idle) clearTimeout(entry.idle);
      const i = this.#entries.indexOf(entry);
      if (i >= 0) this.#entries.splice(i, 1);
      this.#wake();
    });
    // Upstream sessions never keep the process alive by themselves.
    session.unref();
    return entry;
  }

  /** A stream of `entry` ended (or never opened): room for a waiter; an unused session starts its idle clock. */
  #release(entry: Entry): void {
    entry.active--;
    if (entry.active === 0 && entry.usable && entry.ready) {
      entry.idle = setTimeout(() => { entry.usable = false; entry.session.close(); }, this.#o.idleMs);
      entry.idle.unref();
    }
    if (!entry.usable && entry.active === 0 && !entry.session.closed) entry.session.close();
    this.#wake();
  }

  #wake(): void {
    while (this.#waiting.length > 0 && (this.#roomy() || this.#entries.length < this.#o.maxSessions || this.#closed)) this.#waiting.shift()!();
  }
}

function sessionError(e: NodeJS.ErrnoException, host: string, port: number, secure: boolean): H2SessionError {
  const code = e.code ?? '';
  if (code === PEER_IDENTITY_MISMATCH) return new H2SessionError('identity', e.message, code);
  if (!secure || CONNECT_CODES.has(code)) {
    const named = code === 'ERR_HTTP2_SESSION_ERROR' ? `${code} (${h2ErrorName(e)})` : code || e.message;
    return new H2SessionError('connect', `connect to ${host}:${port} failed: ${named}`, code);
  }
  if (code === 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL') return new H2SessionError('connect', `${host}:${port} did not accept HTTP/2 (ALPN): ${code}`, code);
  return new H2SessionError('identity', `TLS with ${host}:${port} failed: ${code} ${e.message}`.trim(), code);
}
