// Rate limits per callee service, set by an operator (PUT /v1/ratelimits/<service>,
// ./rate-limits-api.ts) or in process (ControlPlane.setRateLimits, e.g. the
// tuning engine). Every change gives every sidecar a new snapshot version;
// the service's own sidecars carry the rules as `rate_limits` and enforce
// them on their inbound path (mesh/proxy/stages/rate-limit.ts).
//
// Kept in memory, as route weights are: a restarted control plane starts
// with no limits.

import { rateLimitProblems } from './rate-limit-rules.ts';
import { ServiceRules, type ServiceRulesOf } from './service-rules.ts';
import type { RateLimitRule } from './snapshot.ts';

export type ServiceRateLimits = ServiceRulesOf<RateLimitRule>;

export class RateLimitsError extends Error {
  readonly problems: string[];
  constructor(service: string, problems: string[]) {
    super(`rate limits for "${service.slice(0, 128)}": ${problems.join('; ')}`);
    this.name = 'RateLimitsError';
    this.problems = problems;
  }
}

export class RateLimits extends ServiceRules<RateLimitRule> {
  constructor() {
    super({
      problems: (_service, rules) => rateLimitProblems(rules, 'rules'),
      copy: copyRule,
      refusal: (service, problems) => new RateLimitsError(service, problems),
    });
  }
}

/** Only the rule's own fields, in one order, so snapshots and status read the same. */
function copyRule(r: RateLimitRule): RateLimitRule {
  return {
    ...(r.caller !== undefined ? { caller: r.caller } : {}),
    ...(r.path_prefix !== undefined ? { path_prefix: r.path_prefix } : {}),
    rps: r.rps, burst: r.burst,
  };
}
