// Where the forwarders (stages/upstream.ts, h2/forward.ts, upgrade/forward.ts)
// send a request, read the same way by each: the endpoint the balance or
// workload stage chose, recorded as the tap's `upstream`, the connect bound,
// and, outbound with an identity, the SPIFFE id the peer sidecar's
// certificate must carry (mTLS to the chosen service).

import type { Endpoint } from '../control/snapshot.ts';
import type { RequestContext } from './context.ts';

export interface UpstreamTarget {
  ep: Endpoint;
  /** "addr:port". */
  target: string;
  connectMs: number;
  /** undefined: plaintext (inbound to the local workload, or no identity). */
  peer: string | undefined;
}

export function upstreamTarget(ctx: RequestContext): UpstreamTarget {
  const ep = ctx.endpoint!;
  const target = `${ep.addr}:${ep.port}`;
  ctx.upstream = target;
  const rt = ctx.runtime;
  return {
    ep, target,
    connectMs: ctx.cluster?.connect_timeout_ms ?? rt.opts.connectTimeoutMs,
    peer: ctx.direction === 'outbound' && rt.pools.mtls ? rt.identity!.peerId(ctx.cluster!.service) : undefined,
  };
}
