// Config snapshot: the whole desired state for one sidecar, versioned.
//
// The control plane streams snapshots to each sidecar over a long-lived HTTP
// response (NDJSON, one snapshot per line, newest wins) and the sidecar
// answers each version with an ACK or a NACK:
//
//   GET  /v1/config/stream?proxy=<id>&service=<svc>&instance=<inst>&inbound=<addr:port>
//        -> 200, Content-Type: application/x-ndjson, one ConfigSnapshot per line;
//           the stream stays open; the registry marks the endpoint healthy while
//           it is open and removes it when it closes.
//   POST /v1/config/ack   body ConfigAck  -> 204
//
// A sidecar keeps serving with its last accepted snapshot while the control
// plane is away, and reconnects with backoff.

export interface Endpoint {
  /** Instance name, e.g. "cart-1". */
  instance: string;
  addr: string;
  port: number;
}

export interface Cluster {
  /** Service name; also the authority clients use ("http://cart/..."). */
  service: string;
  endpoints: Endpoint[];
  lb: 'round_robin';
  connect_timeout_ms: number;
  request_timeout_ms: number;
}

export interface Route {
  /** Authority (Host without port) this route matches. */
  authority: string;
  /** Backends by weight; weights are relative. */
  backends: { cluster: string; weight: number }[];
}

export interface TapCapture {
  /** Query keys whose values may be recorded; all others are dropped. */
  query_allow: string[];
  /** Request headers that may be recorded (lower-case). Secrets are refused anyway. */
  header_allow: string[];
}

export interface ConfigSnapshot {
  /** Monotonic per control plane; a sidecar ignores a version lower than its current one. */
  version: number;
  proxy: string;
  service: string;
  routes: Route[];
  clusters: Cluster[];
  taps: TapCapture;
  /** Digest of the policy bundle the sidecar should run ("" until policy exists). */
  policy_digest: string;
}

export interface ConfigAck {
  proxy: string;
  version: number;
  ok: boolean;
  /** Why a NACK: the first problem found. */
  error?: string;
}

export const DEFAULT_TAP_CAPTURE: TapCapture = {
  query_allow: [],
  header_allow: ['user-agent', 'content-type', 'x-request-id'],
};
