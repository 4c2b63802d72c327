// Verification of applied actions (./verify.ts says how a signal is read
// and judged). Each applied action waits here until its watch window has
// passed; then it is verified, or undone and reverted. A rollout's step is
// the exception: the canary judge verifies it, and a rollback reverts it.

import type { ActionBook } from './action-book.ts';
import { undo, type Applied, type MeshControl } from './actuate.ts';
import type { JudgeVerdict, ProposedAction } from './contract.ts';
import type { TuningCounters } from './engine.ts';
import type { ActionParams } from './guardrails.ts';
import type { TuningSources } from './input.ts';
import type { ScaleActuator } from './kubernetes-scale.ts';
import type { Rollouts } from './rollouts.ts';
import type { TuningSettings } from './settings.ts';
import { signalOver, verdictOf, verifyWindow } from './verify.ts';

export interface Watch { at: number; params: ActionParams; applied: Applied; signal: ProposedAction['signal']; rollout: boolean }

export interface WatchesOptions {
  settings: TuningSettings; sources: TuningSources; mesh: MeshControl; scaler: ScaleActuator | null;
  book: ActionBook; rollouts: Rollouts; judged: (service: string) => JudgeVerdict | undefined;
  counters: TuningCounters; log: (line: string) => void; instanceLagMs: number;
}

export class Watches {
  /** Applied actions waiting for verification, by action id. */
  readonly #applied = new Map<string, Watch>();

  readonly #o: WatchesOptions;

  constructor(o: WatchesOptions) { this.#o = o; }

  add(id: string, w: Watch): void { this.#applied.set(id, w); }

  /** A rollback undoes the rollout steps still waiting for their verdict: they are reverted, by it. */
  rolledBack(service: string, by: string): void {
    for (const [id, a] of this.#applied) {
      if (!a.rollout || a.params.kind !== 'shift' || a.params.service !== service) continue;
      this.#applied.delete(id);
      this.#o.counters.reverted++;
      const cur = this.#o.book.get(id);
      this.#o.book.update(id, { state: 'reverted', detail: [cur?.detail, `reverted: rolled back by action ${by}: ${this.#o.book.get(by)?.reason ?? ''}`].filter(Boolean).join('; ') });
    }
  }

  /**
   * A rollout's step is verified by the canary judge, not by a threshold:
   * healthy over the windows since the step (after its watch window) keeps
   * it; unhealthy leaves it to the policy's rollback, which reverts it
   * (rolledBack); inconclusive waits for more traffic.
   */
  #verifyStep(id: string, a: { at: number; params: ActionParams }, now: number): void {
    if (a.params.kind !== 'shift') return;
    const service = a.params.service;
    const r = this.#o.rollouts.all().find((x) => x.service === service);
    const cur = this.#o.book.get(id);
    const done = (detail: string) => {
      this.#applied.delete(id);
      this.#o.counters.verified++;
      this.#o.book.update(id, { state: 'verified', detail: [cur?.detail, detail].filter(Boolean).join('; ') });
    };
    if (!r || r.state === 'done') return done(`verified: rollout of ${service} complete`);
    if (r.state !== 'progressing') return done(`kept: rollout of ${service} ${r.state} (${r.detail})`);
    if (now - a.at < this.#o.settings.watchS * 1000) return;
    const j = this.#o.judged(service);
    if (j?.verdict === 'healthy') done(`verified: the judge calls ${r.to} healthy: ${j.reasons.join('; ')}`);
  }

  /** Verifies every applied action whose watch window has passed (one tick's work). */
  async verify(now: number): Promise<void> {
    const { watchS, lagMs } = this.#o.settings;
    for (const [id, a] of this.#applied) {
      if (a.rollout) { this.#verifyStep(id, a, now); continue; }
      // An ejection is judged while it lasts: after it the instance is back, and so may be its errors.
      const w = verifyWindow(a.at, a.params.kind === 'eject' ? Math.min(watchS, a.params.seconds) : watchS);
      const lag = a.signal.scope === 'instance' ? this.#o.instanceLagMs : lagMs;
      if (now - lag < w.until) continue;
      this.#applied.delete(id);
      const after = await signalOver(a.signal, w.from, w.until, this.#o.sources, this.#o.mesh, now);
      const v = verdictOf(a.signal, after, w.from, w.until);
      const cur = this.#o.book.get(id);
      if (v.keep) {
        this.#o.counters.verified++;
        this.#o.book.update(id, { state: 'verified', detail: [cur?.detail, v.detail].filter(Boolean).join('; ') });
        continue;
      }
      try {
        const r = await undo(a.params, a.applied, this.#o.mesh, this.#o.scaler, now);
        if (a.params.kind === 'shift') this.#o.rollouts.shifted(a.params.service, a.params.before, true, now, v.detail);
        this.#o.counters.reverted++;
        this.#o.book.update(id, { state: 'reverted', detail: [cur?.detail, v.detail, r.detail].filter(Boolean).join('; '), config_after: r.config_after });
        this.#o.log(`${a.params.kind} ${cur?.subject} ${v.detail}`);
      } catch (e) {
        this.#o.counters.failed++;
        this.#o.book.update(id, { state: 'failed', detail: [cur?.detail, v.detail, `the revert failed: ${(e as Error).message}`].filter(Boolean).join('; ') });
      }
    }
  }
}
