// Everything a sidecar's listeners and stages share: options, config, pools,
// the inbound policy, the tap emitter and the counters behind stats().

import type { ResolvedOptions } from './options.ts';
import type { EndpointPools } from './endpoint-pools.ts';
import type { InboundPolicy } from './inbound-policy.ts';
import type { RoutingTable } from './routing-table.ts';
import type { TapEmitter } from './taps.ts';

export interface DirectionCounters { requests: number; errors: Record<string, number> }

export interface SidecarCounters {
  inbound: DirectionCounters;
  outbound: DirectionCounters;
  /** Requests refused before parsing finished: conflicting framing headers. */
  bad_framing: number;
  /** Other unparseable requests and header timeouts. */
  bad_requests: number;
  connections_total: number;
  connections_open: number;
}

export interface SidecarRuntime {
  readonly opts: ResolvedOptions;
  readonly stream: string;
  readonly table: RoutingTable;
  readonly pools: EndpointPools;
  readonly taps: TapEmitter;
  /** Inbound authorization (policy stage). */
  readonly policy: InboundPolicy;
  readonly counters: SidecarCounters;
  readonly now: () => number;
  /** Connection id unique within this proxy: stream prefix + counter. */
  nextConnId(): string;
  log(message: string): void;
}

export function newCounters(): SidecarCounters {
  return {
    inbound: { requests: 0, errors: {} },
    outbound: { requests: 0, errors: {} },
    bad_framing: 0, bad_requests: 0, connections_total: 0, connections_open: 0,
  };
}
