// Everything a sidecar's listeners and stages share: options, config, pools,
// the inbound policy, the tap emitter and the counters behind stats().

import type { ClusterStates } from './cluster-states.ts';
import type { ResolvedOptions } from './options.ts';
import type { EndpointPools } from './endpoint-pools.ts';
import { newH2Counters, type H2Counters } from './h2/counters.ts';
import type { InboundPolicy } from './inbound-policy.ts';
import type { RoutingTable } from './routing-table.ts';
import type { TapEmitter } from './taps.ts';
import type { WorkloadIdentity } from './workload-identity.ts';

export interface DirectionCounters { requests: number; errors: Record<string, number> }

/** One concurrency bound (stages/admission.ts): a direction of this sidecar, or one cluster. */
export interface AdmissionCounters {
  /** Requests holding a slot now. */
  in_flight: number;
  /** Requests waiting in the queue now. */
  waiting: number;
  /** Requests given a slot (at once or after waiting). */
  admitted: number;
  /** Requests that had to wait (some were admitted later, some shed). */
  queued: number;
  /** Requests this bound refused with MESH_ERR_OVERLOADED (queue full or waited too long). */
  shed: number;
}

/** Inbound rate limits (stages/rate-limit.ts): requests some rule matched, and those refused, per caller service. */
export interface RateLimitCounters { checked: number; limited: number; limited_by_caller: Record<string, number> }

export const newAdmissionCounters = (): AdmissionCounters => ({ in_flight: 0, waiting: 0, admitted: 0, queued: 0, shed: 0 });

export interface SidecarCounters {
  inbound: DirectionCounters;
  outbound: DirectionCounters;
  /** Requests refused before parsing finished: conflicting framing headers. */
  bad_framing: number;
  /** Other unparseable requests (HTTP/0.9 request lines among them) and header timeouts. */
  bad_requests: number;
  connections_total: number;
  connections_open: number;
  /** Concurrency bounds per direction and per cluster (outbound). */
  admission: { inbound: AdmissionCounters; outbound: AdmissionCounters; clusters: Record<string, AdmissionCounters> };
  rate_limits: RateLimitCounters;
  /** Inbound connections refused at the TLS handshake (plaintext, no or a foreign certificate). */
  tls_handshake_failures: number;
  /** HTTP/2 sessions and streams, and the flood limits' refusals (h2/counters.ts). */
  h2: H2Counters;
  /** CONNECT tunnels opened (stages/connect.ts; refusals are errors.MESH_ERR_CONNECT_UNSUPPORTED), open now, and the bytes of those closed, each way. */
  connect: { tunnels: number; open: number; bytes_to_upstream: number; bytes_to_client: number };
  /** Upgraded connections and CONNECT tunnels closed after --tunnel-idle-s without a byte either way. */
  tunnels_idle_closed: number;
}

export interface SidecarRuntime {
  readonly opts: ResolvedOptions;
  readonly stream: string;
  readonly table: RoutingTable;
  readonly pools: EndpointPools;
  /** Per outbound cluster and endpoint, across snapshots: retry budgets, requests in flight, outlier and health state. */
  readonly clusters: ClusterStates;
  readonly taps: TapEmitter;
  /** Inbound authorization (policy stage). */
  readonly policy: InboundPolicy;
  readonly counters: SidecarCounters;
  /** This sidecar's SVID source; null without a control plane that issues one (no mTLS, every caller external). */
  readonly identity: WorkloadIdentity | null;
  readonly now: () => number;
  /** Connection id unique within this proxy: stream prefix + counter. */
  nextConnId(): string;
  log(message: string): void;
}

export function newCounters(): SidecarCounters {
  return {
    inbound: { requests: 0, errors: {} },
    outbound: { requests: 0, errors: {} },
    admission: { inbound: newAdmissionCounters(), outbound: newAdmissionCounters(), clusters: {} },
    rate_limits: { checked: 0, limited: 0, limited_by_caller: {} },
    bad_framing: 0, bad_requests: 0, connections_total: 0, connections_open: 0, tls_handshake_failures: 0,
    h2: newH2Counters(),
    connect: { tunnels: 0, open: 0, bytes_to_upstream: 0, bytes_to_client: 0 },
    tunnels_idle_closed: 0,
  };
}
