// The HTTP/2 side of a listener: sessions handed over by the listener
// (h2 over TLS chosen by ALPN, h2c sniffed by ./preface.ts), each stream a
// request through the same stage chain as HTTP/1.1 (Node's compat API:
// Http2ServerRequest/Response).
//
// Limits, per session:
//   SETTINGS_MAX_CONCURRENT_STREAMS  MAX_STREAMS; more open streams are refused
//                    by nghttp2 (RST_STREAM REFUSED_STREAM), and a session with
//                    more than MAX_REJECTED_STREAMS of those is closed (Node's
//                    maxSessionRejectedStreams)
//   SETTINGS_MAX_HEADER_LIST_SIZE    MAX_HEADER_LIST, as the 16 KiB HTTP/1.1 head
//                    bound (a larger header list is refused 431 by nghttp2)
//   invalid frames   more than MAX_INVALID_FRAMES close the session (maxSessionInvalidFrames)
//   rapid reset      (CVE-2023-44487: streams opened and reset at once, so
//                    the concurrency bound never applies, while each costs a
//                    request's work). Once a session has opened
//                    RAPID_RESET_MIN_STREAMS streams, if more than half of
//                    them were reset by the client before an answer, the
//                    session is closed with GOAWAY ENHANCE_YOUR_CALM and
//                    counted (Envoy's premature-reset rule). nghttp2's own
//                    reset rate limit (1000 at once, then 33/s) stays behind it.
// Idle sessions close (GOAWAY) after IDLE_MS, as idle HTTP/1.1 connections do.

import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import type { H2Counters } from './counters.ts';

export const MAX_STREAMS = 100;
export const MAX_HEADER_LIST = 16 * 1024;
const MAX_INVALID_FRAMES = 100;
const MAX_REJECTED_STREAMS = 100;
export const RAPID_RESET_MIN_STREAMS = 100;
const IDLE_MS = 65_000;

const { NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

/** Streams opened on a session, and how many of them the client reset before an answer. */
interface SessionState { streams: number; resets: number; calmed: boolean }

export class H2Downstream<L> {
  readonly #server: http2.Http2Server;
  readonly #counters: H2Counters;
  /** What the listener knows of each session's connection (its l4 record, its socket). */
  readonly #links = new WeakMap<http2.Http2Session, L>();
  readonly #open = new Set<http2.ServerHttp2Session>();

  constructor(counters: H2Counters, onRequest: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse, link: L | undefined) => void) {
    this.#counters = counters;
    this.#server = http2.createServer({
      settings: { maxConcurrentStreams: MAX_STREAMS, maxHeaderListSize: MAX_HEADER_LIST, enablePush: false },
      maxSessionInvalidFrames: MAX_INVALID_FRAMES,
      maxSessionRejectedStreams: MAX_REJECTED_STREAMS,
    });
    this.#server.on('session', (s: http2.ServerHttp2Session) => this.#session(s));
    // A request runs on the next turn of the event loop, not when Node emits
    // it: reading from a native socket, Node emits each stream as soon as its
    // HEADERS frame is parsed, before the rest of the same read (a RST_STREAM
    // right behind it) is. On the next turn the whole read has been parsed, so
    // a stream the client opened and reset in one write is seen reset: it is
    // counted (premature_resets), never run through the chain nor tapped.
    const request = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
      setImmediate(() => {
        const stream = req.stream;
        if (stream.destroyed || stream.aborted || !stream.session || stream.session.destroyed) return;
        onRequest(req, res, this.#links.get(stream.session));
      });
    };
    this.#server.on('request', request);
    this.#server.on('connect', request); // CONNECT, which the chain refuses (stages/connect.ts)
  }

  /** Serves HTTP/2 on `socket` (a TLS socket that chose h2, or an h2c stream); `link` comes back with each request. */
  accept(socket: Duplex, link: L): void {
    this.#pending = link;
    try { this.#server.emit('connection', socket); } finally { this.#pending = undefined; }
  }

  #pending: L | undefined;

  #session(s: http2.ServerHttp2Session): void {
    // 'session' is emitted inside accept(): the link is the one being accepted.
    if (this.#pending !== undefined) this.#links.set(s, this.#pending);
    const c = this.#counters;
    c.sessions_total++;
    c.sessions_open++;
    this.#open.add(s);
    const st: SessionState = { streams: 0, resets: 0, calmed: false };
    s.setTimeout(IDLE_MS, () => s.close());
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (st.calmed) return; // our own GOAWAY, counted as rapid_reset_sessions
      const k = e.code ?? 'unknown';
      c.session_errors[k] = (c.session_errors[k] ?? 0) + 1;
    });
    s.on('frameError', () => { c.frame_errors++; });
    // The session's own event: a stream reset already has no .session.
    s.on('stream', (stream: http2.ServerHttp2Stream) => this.#stream(s, st, stream));
    s.once('close', () => { c.sessions_open--; this.#open.delete(s); });
  }

  #stream(s: http2.ServerHttp2Session, st: SessionState, stream: http2.ServerHttp2Stream): void {
    this.#counters.streams_total++;
    st.streams++;
    if (stream.aborted) this.#premature(s, st);
    else stream.once('aborted', () => { if (!stream.headersSent) this.#premature(s, st); });
  }

  /** A stream the client reset before an answer; too many of them close the session. */
  #premature(s: http2.ServerHttp2Session, st: SessionState): void {
    this.#counters.premature_resets++;
    st.resets++;
    if (st.streams >= RAPID_RESET_MIN_STREAMS && st.resets * 2 > st.streams && !st.calmed) {
      st.calmed = true;
      this.#counters.rapid_reset_sessions++;
      s.destroy(new Error(`rapid reset: ${st.resets} of ${st.streams} streams reset before an answer`), NGHTTP2_ENHANCE_YOUR_CALM); // GOAWAY with that code, then the socket closes
    }
  }

  /** Graceful: every session gets GOAWAY; streams in flight finish. */
  drain(): void { for (const s of this.#open) s.close(); }

  destroyAll(): void { for (const s of this.#open) s.destroy(); }
}
