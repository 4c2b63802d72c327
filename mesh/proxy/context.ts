// What every stage of the per-request chain sees and fills in. Stages read
// what earlier stages decided (route, cluster, endpoint) and the tap stage
// turns the finished context into one l7.request event.

import type http from 'node:http';
import type net from 'node:net';
import type { Direction } from '../../ingest/index.ts';
import type { RetryPolicy } from '../control/resilience.ts';
import type { Cluster, Endpoint, Route } from '../control/snapshot.ts';
import type { MeshError } from './errors.ts';
import type { RequestSignal } from './request-signal.ts';
import type { Decision } from './inbound-policy.ts';
import type { SidecarRuntime } from './runtime.ts';
import type { BackendSet, RoutingState } from './routing-table.ts';

/**
 * One side of a connection or request; `identity` is a SPIFFE id proven by
 * a certificate, '' if none; `version` the instance's `version` label, ''
 * or absent when unknown (a caller's never is known: nothing proves it).
 */
export interface Peer { service: string; instance: string; addr: string; port: number; identity?: string; version?: string }

/** What a route's resilience rule (./route-resilience.ts) gives a request instead of its cluster's settings. */
export interface ResilienceOverride {
  readonly request_timeout_ms: number;
  /** Absent: the request is not retried. */
  readonly retry?: RetryPolicy;
}

export interface RequestContext {
  readonly runtime: SidecarRuntime;
  readonly direction: Direction;
  /** Over HTTP/2 these are Node's compat Http2ServerRequest/Response, which carry every member the stages use (see `h2`). */
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  /** The request came over HTTP/2: TLS with ALPN h2 ('h2') or plaintext prior knowledge ('h2c'); absent for HTTP/1.x. */
  h2?: 'h2' | 'h2c';
  /** An HTTP/1.1 upgrade (WebSocket …) or CONNECT: the client's socket, no longer the HTTP server's, and the bytes read past the head. */
  upgrade?: { socket: net.Socket; head: Buffer };
  /** A CONNECT the connect stage allowed: the service and port tunnelled to (stages/connect.ts). */
  tunnel?: { host: string; port: number };
  /** gRPC: the grpc-status the client got (from the upstream's trailers or trailers-only answer, or the sidecar's own). */
  grpcStatus?: number;
  readonly connId: string;
  /** Config in force when the request arrived; one request never sees two snapshots. */
  readonly config: RoutingState;
  /** Epoch ms and monotonic start. */
  readonly startedAt: number;
  readonly startedHr: number;
  /** Host without port, lower-case. */
  authority: string;
  src: Peer;
  dst: Peer;
  /** TLS version of the mesh hop this request travelled ('' for plaintext): inbound the downstream connection, outbound the upstream one. */
  tls: string;
  route?: Route;
  /** The route's backend the request goes to (its cluster, or a subset of it). */
  backend?: BackendSet;
  cluster?: Cluster;
  /** The route's resilience rule this request matched, resolved against its cluster; absent: the cluster's settings. */
  override?: ResilienceOverride;
  endpoint?: Endpoint;
  /** Per-request timeout chosen by the timeout stage. */
  signal?: RequestSignal;
  /** Headers added to the upstream request (e.g. by source-headers). */
  upstreamHeaders: Record<string, string>;
  /** Request headers removed before forwarding (lower-case). */
  strippedHeaders: Set<string>;
  /** "addr:port" actually used, "" if none. */
  upstream: string;
  reqBytes: number;
  respBytes: number;
  retries: number;
  /** Data-plane decisions taken on this request (./request-flags.ts), for the tap's `flags`. */
  flags?: number;
  /** Status of the latest try's response head (upstream stage); absent before one arrived. */
  upstreamStatus?: number;
  /**
   * Set by the retry stage; the upstream stage asks it once per try when the
   * response head arrives, before anything reaches the client. true: the
   * response is drained and dropped and the try fails with
   * MESH_ERR_UPSTREAM_STATUS, to be tried again. `retryAfter`: the
   * response's retry-after, given for a 503 or 429 only.
   */
  retryResponse?: (status: number, retryAfter?: string) => boolean;
  /** The request body, kept by the retry stage: the upstream stage sends it instead of streaming the request. */
  replayBody?: Buffer;
  /** Endpoints this request's earlier tries went to: the balancer passes over them while it has others. */
  triedEndpoints?: Endpoint[];
  /** Inbound authorization decision and its reason (policy stage); absent outbound. */
  decision?: Decision;
  error?: MeshError;
}
