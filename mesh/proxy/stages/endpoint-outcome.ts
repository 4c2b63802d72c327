// Outbound, around each try: counts it in flight to its endpoint while it
// lasts (least_request reads that, draining waits for it to reach 0), then
// tells the cluster's outlier detection how it went (../cluster-states.ts),
// which may eject the endpoint (`ejected` on this request's tap).
//
// How a try went, as Envoy's outlier detection counts it:
//   gateway error  502, 503, 504, or no answer at all (connect failure,
//                  reset, timeout, a certificate that is not the service's);
//   5xx            any other 5xx;
//   success        any other answer, even 4xx: about the request, not the endpoint;
//   neutral        the client went away first: nothing learnt.

import type { RequestContext } from '../context.ts';
import type { Outcome } from '../cluster-states.ts';
import { toMeshError } from '../errors.ts';
import { flag } from '../request-flags.ts';
import type { Stage } from '../stage.ts';

const NO_ANSWER = new Set(['MESH_ERR_UPSTREAM_CONNECT', 'MESH_ERR_UPSTREAM_RESET', 'MESH_ERR_UPSTREAM_TIMEOUT', 'MESH_ERR_UPSTREAM_IDENTITY']);

export const endpointOutcomeStage: Stage = {
  name: 'endpoint-outcome',
  async handle(ctx, next) {
    const cluster = ctx.cluster!;
    const states = ctx.runtime.clusters;
    const state = states.endpoint(cluster, ctx.endpoint!);
    state.outstanding++;
    ctx.upstreamStatus = undefined;
    let outcome: Outcome = 'neutral';
    try {
      await next();
      outcome = ofStatus(ctx.upstreamStatus);
    } catch (e) {
      outcome = ofError(ctx, toMeshError(e).code);
      throw e;
    } finally {
      states.finished(state);
      if (states.outcome(cluster, state, outcome, ctx.runtime.now())) flag(ctx, 'ejected');
    }
  },
};

function ofStatus(status: number | undefined): Outcome {
  if (status === undefined) return 'neutral';
  if (status === 502 || status === 503 || status === 504) return 'gateway_error';
  return status >= 500 ? 'error_5xx' : 'success';
}

function ofError(ctx: RequestContext, code: string): Outcome {
  // A timeout or reset after the head arrived is still the endpoint's failure.
  if (NO_ANSWER.has(code)) return 'gateway_error';
  // The answer the retry stage dropped (MESH_ERR_UPSTREAM_STATUS), or the client left mid-response.
  return code === 'MESH_ERR_UPSTREAM_STATUS' ? ofStatus(ctx.upstreamStatus) : 'neutral';
}
