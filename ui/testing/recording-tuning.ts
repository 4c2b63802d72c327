// A TuningControl for UI tests that need no engine: it records every call,
// and an approval or rejection writes the action's next state to the real
// store as the engine would (so the page and the API read it back). It
// refuses with the engine's own error classes (TuningError 404/409,
// RolloutError with problems). mesh/control/tuning has the engine's tests;
// cli/control-tuning-ui.test.ts drives the real one through the UI.

import type { ActionRecord, TapStore } from '../../ingest/index.ts';
import { RolloutError, TuningError } from '../../mesh/control/index.ts';
import type { RolloutBody, TuningControl } from '../api/tuning.ts';

const DIGEST = 'cd'.repeat(32);

/** An action record as the engine writes it, `t` ms epoch, awaiting approval unless `over` says otherwise. */
export function actionRecord(t: number, over: Partial<ActionRecord> = {}): ActionRecord {
  return {
    id: `act-${t}`, state: 'awaiting_approval', updated_at: t, proposed_at: t, kind: 'eject', subject: 'catalog-2', service: 'catalog', mode: 'approve',
    params: { kind: 'eject', service: 'catalog', instance: 'catalog-2', seconds: 30, repeats: 0 }, requested: { kind: 'eject', instance: 'catalog-2' },
    guardrail: '', reason: 'catalog-2 fails 40% of requests, its peers 1%', alert_ids: [], evidence: {}, policy_digest: DIGEST,
    config_before: 0, config_after: 0, acks: [], detail: '', actor: 'engine', ...over,
  };
}

export class RecordingTuning implements TuningControl {
  /** Every call, as "verb argument actor". */
  readonly calls: string[] = [];
  paused: { by: string; at: number } | null = null;
  readonly rollouts: Record<string, unknown>[] = [];
  /** The config version an approved action lands in, and the sidecars that ACK it. */
  configVersion = 7;
  ackers = ['catalog-1', 'web-1', 'cart-1'];

  constructor(private readonly store: TapStore) {}

  async approve(id: string, actor: string): Promise<ActionRecord> {
    this.calls.push(`approve ${id} ${actor}`);
    const cur = await this.#awaiting(id);
    const at = Math.max(Date.now(), cur.updated_at + 1);
    return this.#write({
      ...cur, state: 'applied', updated_at: at, detail: `approved by ${actor}`, actor, config_before: this.configVersion, config_after: this.configVersion + 1,
      acks: this.ackers.map((proxy) => ({ proxy, at })),
    });
  }

  async reject(id: string, actor: string): Promise<ActionRecord> {
    this.calls.push(`reject ${id} ${actor}`);
    const cur = await this.#awaiting(id);
    return this.#write({ ...cur, state: 'rejected', updated_at: Math.max(Date.now(), cur.updated_at + 1), detail: `rejected by ${actor}`, actor });
  }

  pause(actor: string): void { this.calls.push(`pause ${actor}`); this.paused ??= { by: actor, at: Date.now() }; }
  resume(actor: string): void { this.calls.push(`resume ${actor}`); this.paused = null; }

  startRollout(req: RolloutBody, actor: string): Record<string, unknown> {
    this.calls.push(`startRollout ${JSON.stringify(req)} ${actor}`);
    if (req.to !== 'v2') throw new RolloutError([`to: no instance of ${req.service} has version "${req.to}" (it has: v1, v2)`]);
    const r = {
      service: req.service, from: 'v1', to: req.to, steps: req.steps ?? [5, 25, 50, 100], step: -1, weight: 0, interval_s: req.interval_s ?? 60,
      started_at: Date.now(), step_started_at: Date.now(), state: 'progressing', actor, detail: `started by ${actor}`, judge: null,
    };
    this.rollouts.push(r);
    return r;
  }

  abortRollout(service: string, actor: string): boolean {
    this.calls.push(`abortRollout ${service} ${actor}`);
    const r = this.rollouts.find((x) => x.service === service && x.state === 'progressing');
    if (!r) return false;
    Object.assign(r, { state: 'halted', detail: `aborted by ${actor}` });
    return true;
  }

  status() {
    return { paused: this.paused, modes: { shift: 'auto', eject: 'approve', scale: 'dry-run', ratelimit: 'off' }, rollouts: this.rollouts.map((r) => ({ ...r })) };
  }

  async #awaiting(id: string): Promise<ActionRecord> {
    const cur = (await this.store.actionHistory(id)).at(-1);
    if (!cur) throw new TuningError(404, `no action ${id}`);
    if (cur.state !== 'awaiting_approval') throw new TuningError(409, `action ${id} is ${cur.state}, not awaiting approval`);
    return cur;
  }

  async #write(r: ActionRecord): Promise<ActionRecord> {
    await this.store.writeAction(r);
    return r;
  }
}
