// What every stage of the per-request chain sees and fills in. Stages read
// what earlier stages decided (route, cluster, endpoint) and the tap stage
// turns the finished context into one l7.request event.

import type http from 'node:http';
import type { Direction } from '../../ingest/index.ts';
import type { Cluster, Endpoint, Route } from '../control/snapshot.ts';
import type { MeshError } from './errors.ts';
import type { Decision } from './inbound-policy.ts';
import type { SidecarRuntime } from './runtime.ts';
import type { BackendSet, RoutingState } from './routing-table.ts';

/**
 * One side of a connection or request; `identity` is a SPIFFE id proven by
 * a certificate, '' if none; `version` the instance's `version` label, ''
 * or absent when unknown (a caller's never is known: nothing proves it).
 */
export interface Peer { service: string; instance: string; addr: string; port: number; identity?: string; version?: string }

export interface RequestContext {
  readonly runtime: SidecarRuntime;
  readonly direction: Direction;
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
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
  endpoint?: Endpoint;
  /** Per-request timeout chosen by the timeout stage. */
  signal?: AbortSignal;
  /** Headers added to the upstream request (e.g. by source-headers). */
  upstreamHeaders: Record<string, string>;
  /** Request headers removed before forwarding (lower-case). */
  strippedHeaders: Set<string>;
  /** "addr:port" actually used, "" if none. */
  upstream: string;
  reqBytes: number;
  respBytes: number;
  retries: number;
  /** Inbound authorization decision and its reason (policy stage); absent outbound. */
  decision?: Decision;
  error?: MeshError;
}
