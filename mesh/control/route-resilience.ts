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
import type { RouteResilienceRule } from './snapshot.ts';

export interface ServiceRouteResilience { service: string; rules: RouteResilienceRule[] }

export class RouteResilienceError extends Error {
  readonly problems: string[];
  constructor(service: string, problems: string[]) {
    super(`route resilience for "${service.slice(0, 128)}": ${problems.join('; ')}`);
    this.name = 'RouteResilienceError';
    this.problems = problems;
  }
}

export class RouteResilience {
  readonly #byService = new Map<string, RouteResilienceRule[]>();
  readonly #listeners = new Set<() => void>();
  #refused = 0;

  constructor(private readonly clusterOf: (service: string) => OverriddenCluster) {}

  /**
   * Checks and takes a service's rules ([] clears them); listeners hear of a
   * change. Throws RouteResilienceError naming every problem, `found` (the
   * caller's own, e.g. the body's shape) first, and nothing changes.
   */
  set(service: string, rules: unknown, found: string[] = []): ServiceRouteResilience {
    const problems = [...found];
    if (!isName(service)) problems.push(`service: "${service.slice(0, 128)}" is not 1-128 of [A-Za-z0-9._-]`);
    else problems.push(...routeResilienceProblems(rules, 'rules', this.clusterOf(service)));
    if (problems.length > 0) {
      this.#refused++;
      throw new RouteResilienceError(service, problems);
    }
    const list = (rules as RouteResilienceRule[]).map(copyRule);
    if (list.length === 0) this.clear(service);
    else {
      this.#byService.set(service, list);
      this.#changed();
    }
    return { service, rules: list.map(copyRule) };
  }

  /** No overrides for the service; false if it had none. */
  clear(service: string): boolean {
    if (!this.#byService.delete(service)) return false;
    this.#changed();
    return true;
  }

  /** The rules for the service's route in every snapshot, or undefined for none. */
  rules(service: string): RouteResilienceRule[] | undefined {
    return this.#byService.get(service)?.map(copyRule);
  }

  /** Services with rules, in name order. */
  status(): ServiceRouteResilience[] {
    return [...this.#byService.keys()].sort((a, b) => a.localeCompare(b)).map((service) => ({ service, rules: this.rules(service)! }));
  }

  /** Changes refused (bad service or rules) since start. */
  get refused(): number { return this.#refused; }

  onChange(fn: () => void): void { this.#listeners.add(fn); }

  #changed(): void {
    for (const fn of this.#listeners) fn();
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
