// Per-route resilience overrides per service, set by an operator
// (PUT /v1/resilience/<service>, ./route-resilience-api.ts) or in process
// (ControlPlane.setRouteResilience). Every change gives every sidecar a new
// snapshot version whose route for that service carries the rules as
// `resilience`; each caller's sidecar applies them on its outbound path
// (mesh/proxy/route-resilience.ts, read by stages/timeout.ts and retry.ts).
//
// The rules are judged against the service's cluster as the control plane
// builds it (`clusterOf`: the mesh's request timeout and the service's retry
// policy), with the same check the sidecar runs, so what is taken is never
// NACKed. Kept in memory, as route weights and rate limits are.

import { isName } from '../../identity/index.ts';
import { routeResilienceProblems, type OverriddenCluster } from './route-resilience-rules.ts';
import { ServiceRules, type ServiceRulesOf } from './service-rules.ts';
import type { RouteResilienceRule } from './snapshot.ts';

export type ServiceRouteResilience = ServiceRulesOf<RouteResilienceRule>;

export class RouteResilienceError extends Error {
  readonly problems: string[];
  constructor(service: string, problems: string[]) {
    super(`route resilience for "${service.slice(0, 128)}": ${problems.join('; ')}`);
    this.name = 'RouteResilienceError';
    this.problems = problems;
  }
}

export class RouteResilience extends ServiceRules<RouteResilienceRule> {
  constructor(clusterOf: (service: string) => OverriddenCluster) {
    super({
      // Judged against the service's cluster, which only a good name has.
      problems: (service, rules) => (isName(service) ? routeResilienceProblems(rules, 'rules', clusterOf(service)) : []),
      copy: copyRule,
      refusal: (service, problems) => new RouteResilienceError(service, problems),
    });
  }
}

/** Only the rule's own fields, in one order, deep-copied, so snapshots and status read the same and share nothing. */
function copyRule(r: RouteResilienceRule): RouteResilienceRule {
  return {
    path_prefix: r.path_prefix,
    ...(r.methods !== undefined ? { methods: [...r.methods] } : {}),
    ...(r.request_timeout_ms !== undefined ? { request_timeout_ms: r.request_timeout_ms } : {}),
    ...(r.per_try_timeout_ms !== undefined ? { per_try_timeout_ms: r.per_try_timeout_ms } : {}),
    ...(r.retry !== undefined ? { retry: r.retry === false ? false : structuredClone(r.retry) } : {}),
  };
}
