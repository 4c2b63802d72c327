// What the HTTP/2 side of a sidecar counts, in stats().h2: downstream
// sessions and streams with the refusals of the flood limits
// (./downstream.ts), and upstream sessions (./session-pool.ts).

export interface H2Counters {
  /** Downstream HTTP/2 sessions accepted (h2 over TLS by ALPN, h2c by prior knowledge). */
  sessions_total: number;
  sessions_open: number;
  streams_total: number;
  /** Streams the client reset before the sidecar answered them. */
  premature_resets: number;
  /**
   * Sessions closed with GOAWAY ENHANCE_YOUR_CALM because most of their
   * streams were reset before an answer (the rapid-reset shape, CVE-2023-44487).
   */
  rapid_reset_sessions: number;
  /** Sessions that ended in an error (Node's own flood limits among them: invalid frames, rejected streams, memory), by code. */
  session_errors: Record<string, number>;
  /** Frames Node could not send (a stream closed under it), by frame type. */
  frame_errors: number;
  /** Upstream sessions opened, and those that ended by a GOAWAY from the peer. */
  upstream_sessions: number;
  upstream_goaways: number;
}

export const newH2Counters = (): H2Counters => ({
  sessions_total: 0, sessions_open: 0, streams_total: 0, premature_resets: 0, rapid_reset_sessions: 0,
  session_errors: {}, frame_errors: 0, upstream_sessions: 0, upstream_goaways: 0,
});
