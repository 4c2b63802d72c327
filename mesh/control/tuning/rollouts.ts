// Rollouts: `meshlens rollout start payments --to v2 --steps 5,25,50,100
// --interval 60s`. The engine keeps each one's state; the policy moves it
// (a shift to the next step while the judge says healthy, a rollback when it
// says unhealthy) and the engine follows the shifts it applied: the step is
// the largest one the new version's weight has reached.

import type { RolloutInput } from './contract.ts';
import type { SubsetShare } from './guardrails.ts';

/** A rollout as the engine keeps it: the input's fields but the verdict, and who started it and what last happened. */
export interface RolloutState extends Omit<RolloutInput, 'judge'> {
  actor: string;
  detail: string;
}

export interface RolloutRequest { service: string; to: string; steps?: number[]; interval_s?: number }

export const DEFAULT_STEPS = [5, 25, 50, 100];
export const DEFAULT_INTERVAL_S = 60;

export class RolloutError extends Error {
  constructor(readonly problems: string[]) { super(`rollout: ${problems.join('; ')}`); this.name = 'RolloutError'; }
}

export class Rollouts {
  readonly #byService = new Map<string, RolloutState>();

  /** Starts one; `from` is the version that carries the most traffic now. Throws RolloutError naming every problem. */
  start(req: RolloutRequest, shares: SubsetShare[], versions: string[], now: number, actor: string): RolloutState {
    const steps = req.steps ?? DEFAULT_STEPS;
    const interval = req.interval_s ?? DEFAULT_INTERVAL_S;
    const p: string[] = [];
    if (!Array.isArray(steps) || steps.length === 0 || steps.length > 20 || !steps.every((s, i) => Number.isInteger(s) && s > 0 && s <= 100 && (i === 0 || s > steps[i - 1]))) {
      p.push('steps: must be 1-20 increasing whole percentages in 1..100 (e.g. 5,25,50,100)');
    } else if (steps[steps.length - 1] !== 100) p.push('steps: the last step must be 100');
    if (!Number.isInteger(interval) || interval < 10 || interval > 86_400) p.push('interval: must be 10 s to 24 h, in whole seconds');
    if (!versions.includes(req.to)) p.push(`to: no instance of ${req.service} has version "${req.to}" (it has: ${versions.join(', ') || 'none'})`);
    const cur = this.#byService.get(req.service);
    if (cur?.state === 'progressing') p.push(`${req.service} already has a rollout in progress (to ${cur.to}); abort it first`);
    const from = [...shares].filter((s) => s.version !== req.to).sort((a, b) => b.weight - a.weight)[0]?.version;
    if (!from) p.push(`no version of ${req.service} other than ${req.to} carries traffic to roll out from`);
    if (p.length) throw new RolloutError(p);
    const r: RolloutState = {
      service: req.service, from: from!, to: req.to, steps, step: -1, weight: shares.find((s) => s.version === req.to)?.weight ?? 0,
      interval_s: interval, started_at: now, step_started_at: now, state: 'progressing', actor, detail: `started by ${actor}`,
    };
    this.#byService.set(req.service, r);
    return { ...r };
  }

  /** The engine applied a shift to `service`: follow it. */
  shifted(service: string, subsets: SubsetShare[], rollback: boolean, now: number, detail: string): void {
    const r = this.#byService.get(service);
    if (!r || r.state !== 'progressing') return;
    r.weight = subsets.find((s) => s.version === r.to)?.weight ?? 0;
    r.step_started_at = now;
    r.detail = detail;
    if (rollback) { r.state = 'rolled_back'; return; }
    r.step = r.steps.reduce((at, s, i) => (s <= r.weight ? i : at), -1);
    if (r.weight >= 100) r.state = 'done';
  }

  /** Stops a rollout where it is (the weights stay); false when none is in progress. */
  abort(service: string, actor: string): boolean {
    const r = this.#byService.get(service);
    if (!r || r.state !== 'progressing') return false;
    r.state = 'halted';
    r.detail = `aborted by ${actor}`;
    return true;
  }

  progressing(): RolloutState[] { return [...this.#byService.values()].filter((r) => r.state === 'progressing').map((r) => ({ ...r })); }

  all(): RolloutState[] { return [...this.#byService.values()].map((r) => ({ ...r })); }
}
