// Overload: bounds the requests in flight, so a burst is refused fast with
// 503 MESH_ERR_OVERLOADED and `retry-after: 1` instead of queueing without
// bound. Two bounds, each an AdmissionGate (admission-gate.ts):
//   per direction   --max-concurrent / --max-queue (default 1024 / 0): the
//                   sidecar's own guard (sockets, memory);
//   per cluster     outbound, the snapshot's Cluster.max_concurrent /
//                   max_pending (formerly max_queue; control plane default:
//                   MeshSettings): the cluster's circuit breaker, as Envoy's
//                   max_requests / max_pending_requests (its third bound,
//                   max_connections per endpoint, is the pool's: endpoint-pools.ts).
// A request takes its direction's slot, then its cluster's; any queue wait is
// bounded by --max-queue-wait-ms (default 250). Inbound sits after the policy
// (denied requests never take a slot the workload's capacity is meant for),
// outbound after the route (the cluster is known); both before the timeout
// stage, so waiting does not eat the upstream's time.
//
// Why a concurrency limit with a short FIFO queue. An admitted request's
// latency is its wait for a slot plus the workload's service time S. A
// workload that serves C requests at a time queues whatever is beyond C where
// we can neither see nor bound it: in a 4× burst that backlog, and every
// request's latency, grows for as long as the burst lasts. A limit L at or
// under C keeps that hidden queue empty, so admitted requests take about S
// whatever the load, and the excess is told "not now" in microseconds, which
// a client can act on (back off, go elsewhere) where a slow answer only
// times out. Concurrency rather than rate, because by Little's law the same L
// admits L/S requests a second whatever S is: a slower workload is shed
// sooner without retuning. But with no queue a limit refuses at normal load
// too: arrivals are bursty, and at 60% load all of 8 slots are busy at ~5%
// of arrivals (Erlang B). A FIFO queue of Q ≤ L absorbs that jitter, and it
// cannot hurt much: a request at the back of a full queue waits for Q ≤ L
// completions, about one service time, so admitted latency stays under ~2·S
// even in a sustained burst (the bar: p99 within 2× of normal). The
// max wait caps that in absolute time when S itself grows (a degraded
// workload), so the queue never becomes the unbounded backlog it replaces.
// Not chosen: adaptive limits (gradient/AIMD, as Netflix's concurrency-limits)
// find L alone but need a latency signal and tuning of their own; a static L
// is predictable and visible in stats. `npm run bench:overload` measures the
// choice (2026-12-07; workload 8 at a time × 20 ms, 1× = 60% of capacity):
//   defaults (1024)      1×: p99 32 ms         4×: p99 2.6 s (82×), 41% shed by the guard
//   limit 8              1×: 6.5% shed (!)      4×: p99 1.04×, 62% shed
//   limit 8 + queue 4    1×: 0.4% shed          4×: p99 1.24×, 59% shed
//   limit 8 + queue 8    1×: 0% shed            4×: p99 1.42×, 59% shed
//
// The generous default (1024, no queue) is a guard, not a latency bound:
// protecting latency takes a limit near the workload's capacity, set per
// cluster by the control plane or with --max-concurrent on the workload's
// inbound sidecar, and a queue no longer than that limit.

import { RequestSignal } from '../request-signal.ts';
import { clusterMaxPending } from '../../control/resilience.ts';
import { AdmissionGate, type AdmissionLimits } from '../admission-gate.ts';
import type { RequestContext } from '../context.ts';
import { MeshError } from '../errors.ts';
import { flag } from '../request-flags.ts';
import { newAdmissionCounters, type SidecarRuntime } from '../runtime.ts';
import type { Stage } from '../stage.ts';

interface Gates {
  inbound: AdmissionGate;
  outbound: AdmissionGate;
  clusters: Map<string, AdmissionGate>;
  /** The per-direction bound (--max-concurrent, --max-queue, --max-queue-wait-ms), fixed for the sidecar's life. */
  limits: AdmissionLimits;
}

// Gate state lives with the runtime it bounds; its counters are the runtime's, shown in stats().
const bySidecar = new WeakMap<SidecarRuntime, Gates>();

function gatesOf(rt: SidecarRuntime): Gates {
  let g = bySidecar.get(rt);
  if (!g) {
    const a = rt.counters.admission;
    const o = rt.opts;
    g = {
      inbound: new AdmissionGate(a.inbound), outbound: new AdmissionGate(a.outbound), clusters: new Map(),
      limits: { concurrent: o.maxConcurrent, queue: o.maxQueue, waitMs: o.maxQueueWaitMs },
    };
    bySidecar.set(rt, g);
  }
  return g;
}

function clusterGate(rt: SidecarRuntime, g: Gates, service: string): AdmissionGate {
  let gate = g.clusters.get(service);
  if (!gate) {
    gate = new AdmissionGate(rt.counters.admission.clusters[service] ??= newAdmissionCounters());
    g.clusters.set(service, gate);
  }
  return gate;
}

export const admissionStage: Stage = {
  name: 'admission',
  handle(ctx, next) {
    const rt = ctx.runtime;
    const g = gatesOf(rt);
    // Slots free now (the usual case): no wait to cancel, so no promise or listener but the exchange's own.
    const releaseDirection = g[ctx.direction].tryEnter(g.limits);
    const c = ctx.cluster;
    if (releaseDirection && c?.max_concurrent === undefined) return holding(next, releaseDirection);
    if (releaseDirection) {
      const releaseCluster = clusterGate(rt, g, c!.service).tryEnter(clusterLimits(c!, rt.opts.maxQueueWaitMs));
      if (releaseCluster) return holding(next, releaseDirection, releaseCluster);
    }
    return waitForSlots(ctx, next, g, releaseDirection);
  },
};

async function holding(next: () => Promise<void>, releaseDirection: () => void, releaseCluster?: () => void): Promise<void> {
  try {
    await next();
  } finally {
    releaseCluster?.();
    releaseDirection();
  }
}

const clusterLimits = (c: NonNullable<RequestContext['cluster']>, waitMs: number): AdmissionLimits =>
  ({ concurrent: c.max_concurrent!, queue: clusterMaxPending(c), waitMs });

/** The slow path: a slot may need a wait in a queue, which a client going away gives up. */
async function waitForSlots(ctx: RequestContext, next: () => Promise<void>, g: Gates, heldDirection: (() => void) | null): Promise<void> {
  const rt = ctx.runtime;
  const gone = new RequestSignal();
  const onClose = () => gone.abort(undefined);
  ctx.res.once('close', onClose);
  let releaseDirection = heldDirection ?? (() => {});
  let releaseCluster = () => {};
  try {
    if (!heldDirection) releaseDirection = await pass(ctx, g[ctx.direction], g.limits, `${ctx.direction} requests of this sidecar`, gone);
    // The snapshot's limits were checked when it was applied (config-validate.ts).
    const c = ctx.cluster;
    if (c?.max_concurrent !== undefined) {
      // The cluster's circuit breaker: a refusal here is `breaker_open` on the tap.
      releaseCluster = await pass(ctx, clusterGate(rt, g, c.service), clusterLimits(c, rt.opts.maxQueueWaitMs), `cluster '${c.service}'`, gone, true);
    }
    ctx.res.off('close', onClose);
    await next();
  } finally {
    ctx.res.off('close', onClose);
    releaseCluster();
    releaseDirection();
  }
}

async function pass(ctx: RequestContext, gate: AdmissionGate, limits: AdmissionLimits, what: string, gone: RequestSignal, breaker = false): Promise<() => void> {
  const a = await gate.enter(limits, gone);
  if (a.admitted) return a.release;
  if (a.why === 'cancelled') throw new MeshError('MESH_ERR_DOWNSTREAM_RESET', `client went away while waiting for a slot among ${what}`);
  if (breaker) flag(ctx, 'breaker_open');
  const c = gate.counters;
  throw new MeshError('MESH_ERR_OVERLOADED', a.why === 'full'
    ? `${what}: ${c.in_flight} in flight (limit ${limits.concurrent}), ${c.waiting} waiting (queue ${limits.queue}); refused ${ctx.req.method} ${ctx.authority}`
    : `${what}: waited ${limits.waitMs} ms for one of ${limits.concurrent} slots; refused ${ctx.req.method} ${ctx.authority}`);
}
