// Outbound: which endpoint of the chosen backend (a cluster, or the subset of
// it the route named) serves this try. The cluster's `lb` says how:
//   round_robin    in turn;
//   least_request  power of two choices over requests in flight: the
//                  round-robin next and one other at random, whichever has
//                  fewer outstanding (ties to the round-robin one, so an idle
//                  cluster is spread exactly as round robin, and a slow
//                  endpoint, whose requests pile up, is passed over). Two
//                  choices rather than the least of all: as good in practice
//                  (Mitzenmacher), and many sidecars with the same view do
//                  not all rush to the one idlest endpoint.
// Before choosing it passes over endpoints this sidecar ejected as outliers
// and those failing (or not yet through) their active health check, and
// those earlier tries of this request went to, while others are left. If
// every endpoint is ejected or failing it uses them all (Envoy's panic
// routing: a guess beats a certain 503) and says so (`panic`).

import { MeshError } from '../errors.ts';
import type { RequestContext } from '../context.ts';
import type { Endpoint } from '../../control/snapshot.ts';
import { flag } from '../request-flags.ts';
import type { BackendSet } from '../routing-table.ts';
import type { Stage } from '../stage.ts';

export const balanceStage: Stage = {
  name: 'balance',
  handle(ctx, next) {
    const backend = ctx.backend!;
    if (backend.endpoints.length === 0) throw new MeshError('MESH_ERR_NO_ENDPOINT', `${backend.name} has no endpoints`);
    const endpoint = pick(ctx, backend, usable(ctx, backend));
    ctx.endpoint = endpoint;
    ctx.dst.instance = endpoint.instance;
    ctx.dst.addr = endpoint.addr;
    ctx.dst.port = endpoint.port;
    ctx.dst.version = endpoint.labels?.version ?? '';
    return next();
  },
};

/** The endpoints this try may go to (never empty). */
function usable(ctx: RequestContext, backend: BackendSet): readonly Endpoint[] {
  const cluster = backend.cluster;
  let among: readonly Endpoint[] = backend.endpoints;
  if (cluster.outlier || cluster.health_check) {
    const states = ctx.runtime.clusters;
    const now = ctx.runtime.now();
    const ok: Endpoint[] = [];
    const pending: Endpoint[] = [];
    let ejected = false;
    let failing = false;
    for (const e of among) {
      const why = states.exclusion(cluster, e, now);
      if (why === null) ok.push(e);
      else if (why === 'pending') pending.push(e);
      else if (why === 'ejected') ejected = true;
      else failing = true;
    }
    // Endpoints not yet health checked are used only while nothing checked is (a cold start).
    const chosen = ok.length > 0 ? ok : pending;
    const counters = states.cluster(cluster.service).counters;
    if (chosen.length === 0) {
      flag(ctx, 'panic');
      counters.panics++;
    } else {
      if (ejected) { flag(ctx, 'ejected_skip'); counters.ejected_skips++; }
      if (failing || (pending.length > 0 && chosen === ok)) { flag(ctx, 'health_excluded'); counters.health_exclusions++; }
      among = chosen;
    }
  }
  const tried = ctx.triedEndpoints;
  if (tried && among.length > 1) {
    const fresh = among.filter((e) => !tried.includes(e));
    if (fresh.length > 0) among = fresh;
  }
  return among;
}

function pick(ctx: RequestContext, backend: BackendSet, among: readonly Endpoint[]): Endpoint {
  const first = ctx.config.pickEndpoint(backend, among)!;
  if (backend.cluster.lb !== 'least_request' || among.length < 2) return first;
  let other = among[Math.floor(Math.random() * (among.length - 1))];
  if (other === first) other = among[among.length - 1];
  const states = ctx.runtime.clusters;
  return states.endpoint(backend.cluster, other).outstanding < states.endpoint(backend.cluster, first).outstanding ? other : first;
}
