// Rate limits per callee service, set by an operator (PUT /v1/ratelimits/<service>,
// ./rate-limits-api.ts) or in process (ControlPlane.setRateLimits, e.g. the
// tuning engine). Every change gives every sidecar a new snapshot version;
// the service's own sidecars carry the rules as `rate_limits` and enforce
// them on their inbound path (mesh/proxy/stages/rate-limit.ts).
//
// Kept in memory, as route weights are: a restarted control plane starts
// with no limits.

import { isName } from '../../identity/index.ts';
import { rateLimitProblems } from './rate-limit-rules.ts';
import type { RateLimitRule } from './snapshot.ts';

export interface ServiceRateLimits { service: string; rules: RateLimitRule[] }

export class RateLimitsError extends Error {
  readonly problems: string[];
  constructor(service: string, problems: string[]) {
    super(`rate limits for "${service.slice(0, 128)}": ${problems.join('; ')}`);
    this.name = 'RateLimitsError';
    this.problems = problems;
  }
}

export class RateLimits {
  readonly #byService = new Map<string, RateLimitRule[]>();
  readonly #listeners = new Set<() => void>();
  #refused = 0;

  /**
   * Checks and takes a service's rules ([] clears them); listeners hear of a
   * change. Throws RateLimitsError naming every problem, `found` (the
   * caller's own, e.g. the body's shape) first, and nothing changes.
   */
  set(service: string, rules: unknown, found: string[] = []): ServiceRateLimits {
    const problems = [...found];
    if (!isName(service)) problems.push(`service: "${service.slice(0, 128)}" is not 1-128 of [A-Za-z0-9._-]`);
    problems.push(...rateLimitProblems(rules, 'rules'));
    if (problems.length > 0) {
      this.#refused++;
      throw new RateLimitsError(service, problems);
    }
    const list = (rules as RateLimitRule[]).map(copyRule);
    if (list.length === 0) this.clear(service);
    else {
      this.#byService.set(service, list);
      this.#changed();
    }
    return { service, rules: list.map(copyRule) };
  }

  /** No limits for the service; false if it had none. */
  clear(service: string): boolean {
    if (!this.#byService.delete(service)) return false;
    this.#changed();
    return true;
  }

  /** The rules for a service's snapshot, or undefined for none. */
  rules(service: string): RateLimitRule[] | undefined {
    return this.#byService.get(service)?.map(copyRule);
  }

  /** Services with rules, in name order. */
  status(): ServiceRateLimits[] {
    return [...this.#byService.keys()].sort((a, b) => a.localeCompare(b)).map((service) => ({ service, rules: this.rules(service)! }));
  }

  /** Changes refused (bad service or rules) since start. */
  get refused(): number { return this.#refused; }

  onChange(fn: () => void): void { this.#listeners.add(fn); }

  #changed(): void {
    for (const fn of this.#listeners) fn();
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
