// Outbound: the route's resilience overrides (Route.resilience, set by an
// operator with PUT /v1/resilience/<service>) for one request. The route
// stage calls it once the cluster is chosen, only for a route that has
// rules; the rule the request takes (the longest path_prefix, one naming its
// method before one naming none: ../control/route-resilience-rules.ts) sets
// ctx.override, which the timeout stage reads for its bound over every try
// and the retry stage for its policy and per-try bound. A request that
// matches no rule, or whose route has none, runs with its cluster's.
//
// The rules are put in match order, and each rule resolved against each
// cluster, once per snapshot (both cached on the snapshot's own objects), so
// a matching request costs a scan of the rules and two map reads.
//
// Every request a rule takes is counted (route_overrides in the cluster's
// resilience counters); what the rule then decides shows in the tap as the
// cluster's own would: retried, per_try_timeout, timed_out, ….

import { matchingRule, matchOrder, overridden } from '../control/route-resilience-rules.ts';
import type { Cluster, Route, RouteResilienceRule } from '../control/snapshot.ts';
import type { RequestContext, ResilienceOverride } from './context.ts';

const ordered = new WeakMap<Route, RouteResilienceRule[]>();
const resolved = new WeakMap<RouteResilienceRule, Map<Cluster, ResilienceOverride>>();

/** Sets ctx.override from the first rule of `route` the request matches (ctx.cluster chosen, ctx.req.url normalised). */
export function applyRouteResilience(ctx: RequestContext, route: Route): void {
  let rules = ordered.get(route);
  if (!rules) ordered.set(route, rules = matchOrder(route.resilience ?? []));
  const url = ctx.req.url ?? '/';
  const q = url.indexOf('?');
  const rule = matchingRule(rules, ctx.req.method ?? '', q < 0 ? url : url.slice(0, q));
  if (!rule) return;
  const cluster = ctx.cluster!;
  let byCluster = resolved.get(rule);
  if (!byCluster) resolved.set(rule, byCluster = new Map());
  let o = byCluster.get(cluster);
  if (!o) byCluster.set(cluster, o = overridden(rule, cluster));
  ctx.override = o;
  ctx.runtime.clusters.cluster(cluster.service).counters.route_overrides++;
}
