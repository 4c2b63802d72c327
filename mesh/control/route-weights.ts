// Route weights between subsets of a service (`payments` v1 90 / v2 10), set
// by an operator (PUT /v1/routes/<service>, ./route-weights-api.ts) or in
// process (ControlPlane.setRouteWeights, e.g. the tuning engine). Every
// change gives every sidecar a new snapshot version whose route for that
// service has one backend per subset; a service without weights keeps the
// default route (one backend, every endpoint).
//
// Kept in memory: a restarted control plane starts from the defaults again,
// as it learns the registry again from reconnecting sidecars.
//
// A subset is written as the API takes it, flat: `weight` and every other key
// a label the endpoints must carry ({"version": "v2", "weight": 10}).

import { isName } from '../../identity/index.ts';
import { formatLabels, labelProblems, MAX_LABELS, type Labels } from './labels.ts';
import type { Backend } from './snapshot.ts';

/** One subset as the API and setRouteWeights take it: `weight`, and labels. */
export interface SubsetWeight { weight: number; [label: string]: string | number }

export interface ServiceRouteWeights { service: string; subsets: SubsetWeight[]; set_at: number }

export interface RouteWeightsStatus {
  /** Services whose route is split by weight, with their subsets. */
  routes: ServiceRouteWeights[];
  /** Changes taken since start, and refused (bad request). */
  accepted: number;
  refused: number;
  last_error: string;
}

export const MAX_WEIGHT = 100_000;

export class RouteWeightsError extends Error {
  readonly problems: string[];
  constructor(service: string, problems: string[]) {
    super(`route weights for "${service.slice(0, 128)}": ${problems.join('; ')}`);
    this.name = 'RouteWeightsError';
    this.problems = problems;
  }
}

export class RouteWeights {
  readonly #byService = new Map<string, { subsets: { subset: Labels; weight: number }[]; set_at: number }>();
  readonly #listeners = new Set<() => void>();
  #accepted = 0;
  #refused = 0;
  #lastError = '';

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Checks and takes a service's weights (listeners hear of it); throws
   * RouteWeightsError naming every problem, with `found` (the caller's own,
   * e.g. the request body's shape) first, and nothing changes.
   */
  set(service: string, subsets: unknown, found: string[] = []): ServiceRouteWeights {
    const problems = [...found, ...routeWeightsProblems(service, subsets)];
    if (problems.length > 0) {
      const e = new RouteWeightsError(service, problems);
      this.#refused++;
      this.#lastError = e.message;
      throw e;
    }
    const list = (subsets as SubsetWeight[]).map((s) => {
      const { weight, ...labels } = s;
      return { subset: labels as Labels, weight };
    });
    this.#byService.set(service, { subsets: list, set_at: this.now() });
    this.#accepted++;
    this.#changed();
    return this.get(service)!;
  }

  /** Back to the default route; false if the service had no weights. */
  clear(service: string): boolean {
    if (!this.#byService.delete(service)) return false;
    this.#accepted++;
    this.#changed();
    return true;
  }

  get(service: string): ServiceRouteWeights | undefined {
    const w = this.#byService.get(service);
    return w && { service, subsets: w.subsets.map((s) => ({ ...s.subset, weight: s.weight })), set_at: w.set_at };
  }

  /** The route backends for a service's snapshot route, or undefined for the default. */
  backends(service: string): Backend[] | undefined {
    return this.#byService.get(service)?.subsets.map((s) => ({ cluster: service, subset: { ...s.subset }, weight: s.weight }));
  }

  status(): RouteWeightsStatus {
    const routes = [...this.#byService.keys()].sort((a, b) => a.localeCompare(b)).map((s) => this.get(s)!);
    return { routes, accepted: this.#accepted, refused: this.#refused, last_error: this.#lastError };
  }

  onChange(fn: () => void): void { this.#listeners.add(fn); }

  #changed(): void {
    for (const fn of this.#listeners) fn();
  }
}

/** Every problem with weights for `service`; [] when they can be taken. */
export function routeWeightsProblems(service: string, subsets: unknown): string[] {
  const problems: string[] = [];
  if (!isName(service)) problems.push(`service: "${service.slice(0, 128)}" is not 1-128 of [A-Za-z0-9._-]`);
  if (!Array.isArray(subsets) || subsets.length === 0) return [...problems, 'subsets: must be a non-empty array of {"<label>": "<value>", …, "weight": <integer>}'];
  if (subsets.length > MAX_LABELS) problems.push(`subsets: ${subsets.length} subsets, at most ${MAX_LABELS}`);
  const seen = new Map<string, number>();
  let positive = 0;
  for (const [i, s] of subsets.slice(0, MAX_LABELS + 1).entries()) {
    const at = `subsets[${i}]`;
    if (s === null || typeof s !== 'object' || Array.isArray(s)) { problems.push(`${at}: must be an object`); continue; }
    const { weight, ...labels } = s as Record<string, unknown>;
    if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT) {
      problems.push(`${at}.weight: must be an integer in 0..${MAX_WEIGHT}, got ${JSON.stringify(weight) ?? 'nothing'}`);
    } else if (weight > 0) positive++;
    if (Object.keys(labels).length === 0) { problems.push(`${at}: names no label (e.g. "version": "v2")`); continue; }
    const bad = labelProblems(labels, at);
    problems.push(...bad);
    if (bad.length > 0) continue;
    const key = formatLabels(labels as Labels);
    if (seen.has(key)) problems.push(`${at}: the same subset {${key}} as subsets[${seen.get(key)}]`);
    else seen.set(key, i);
  }
  if (positive === 0 && !problems.some((p) => p.includes('.weight'))) problems.push('subsets: at least one weight must be > 0');
  return problems;
}
