// Rules per service that an operator (or the tuning engine) sets on the
// control plane and every snapshot carries: rate limits (./rate-limits.ts)
// and per-route resilience overrides (./route-resilience.ts). A service's
// rules are checked whole before they are taken, so a refused change leaves
// the old ones in force; they are copied in and out, so neither a caller
// nor a snapshot shares an array with the store; listeners hear of every
// change (the control plane pushes a new version).

import { isName } from '../../identity/index.ts';

export interface ServiceRulesOf<R> { service: string; rules: R[] }

export interface ServiceRulesKind<R> {
  /** The rules' problems, each naming where (`rules[i].field`); the service's name is checked already, but may be bad. */
  problems(service: string, rules: unknown): string[];
  /** Only a rule's own fields, in one order, deep-copied. */
  copy(rule: R): R;
  /** The error a refused change throws. */
  refusal(service: string, problems: string[]): Error;
}

export class ServiceRules<R> {
  readonly #kind: ServiceRulesKind<R>;
  readonly #byService = new Map<string, R[]>();
  readonly #listeners = new Set<() => void>();
  #refused = 0;

  constructor(kind: ServiceRulesKind<R>) { this.#kind = kind; }

  /**
   * Checks and takes a service's rules ([] clears them); listeners hear of a
   * change. Throws the kind's refusal naming every problem, `found` (the
   * caller's own, e.g. the body's shape) first, and nothing changes.
   */
  set(service: string, rules: unknown, found: string[] = []): ServiceRulesOf<R> {
    const problems = [...found];
    if (!isName(service)) problems.push(`service: "${service.slice(0, 128)}" is not 1-128 of [A-Za-z0-9._-]`);
    problems.push(...this.#kind.problems(service, rules));
    if (problems.length > 0) {
      this.#refused++;
      throw this.#kind.refusal(service, problems);
    }
    const list = (rules as R[]).map(this.#kind.copy);
    if (list.length === 0) this.clear(service);
    else {
      this.#byService.set(service, list);
      this.#changed();
    }
    return { service, rules: list.map(this.#kind.copy) };
  }

  /** No rules for the service; false if it had none. */
  clear(service: string): boolean {
    if (!this.#byService.delete(service)) return false;
    this.#changed();
    return true;
  }

  /** The service's rules, for its snapshots, or undefined for none. */
  rules(service: string): R[] | undefined {
    return this.#byService.get(service)?.map(this.#kind.copy);
  }

  /** Services with rules, in name order. */
  status(): ServiceRulesOf<R>[] {
    return [...this.#byService.keys()].sort((a, b) => a.localeCompare(b)).map((service) => ({ service, rules: this.rules(service)! }));
  }

  /** Changes refused (bad service or rules) since start. */
  get refused(): number { return this.#refused; }

  onChange(fn: () => void): void { this.#listeners.add(fn); }

  #changed(): void {
    for (const fn of this.#listeners) fn();
  }
}
