// The tuning engine: every tick (and at once when an alert changes or a
// rollout starts) it builds the input document, asks the tuning policy for
// actions, puts each through the guardrails and its kind's mode, and then
// records it (refused, dry_run, awaiting_approval) or applies it (applied,
// then the sidecars' ACKs, then verified or reverted after its watch
// window). One tick runs at a time. The pause switch stops new actions;
// approvals wait and expire as usual.
//
// What an engine restart loses: verification of actions applied before it
// (their records stay "applied") and rollouts in progress (their weights
// stay where they were). Cooldowns and what it scaled are reloaded from the
// store.

import type { ActionRecord } from '../../../ingest/index.ts';
import { ActionBook, type ActionLog } from './action-book.ts';
import { apply, waitForAcks, type Applied, type MeshControl } from './actuate.ts';
import { actionKey, isNoop, sharesOf } from './proposal-checks.ts';
import { Watches } from './watches.ts';
import type { AlertInput, JudgeVerdict, ProposedAction, RolloutInput, TuningInput } from './contract.ts';
import { applyGuardrails, scaleStep, subjectOf, type ActionParams, type GuardrailContext } from './guardrails.ts';
import { BUCKET_MS, buildInput, type TuningSources } from './input.ts';
import { DEFAULT_JUDGE, judgeCanary, type JudgeOptions } from './judge.ts';
import type { ScaleActuator } from './kubernetes-scale.ts';
import { Rollouts, type RolloutRequest, type RolloutState } from './rollouts.ts';
import type { TuningSettings } from './settings.ts';
import type { TuningPolicy } from './tuning-policy.ts';

export interface TuningEngineOptions {
  settings: TuningSettings;
  policy: TuningPolicy;
  sources: TuningSources;
  mesh: MeshControl;
  records: ActionLog;
  scaler?: ScaleActuator | null;
  judge?: JudgeOptions;
  now?: () => number;
  log?: (line: string) => void;
}

export interface TuningCounters {
  ticks: number; tick_errors: number; proposals: number; malformed: number;
  applied: number; refused: number; dry_run: number; awaiting_approval: number; verified: number; reverted: number; failed: number;
  /** Proposals that would change nothing, and repeats of one already recorded within its cooldown: not recorded again. */
  noop: number; repeats: number;
}

const COUNTING_STATES = new Set(['proposed', 'applied', 'verified', 'reverted', 'dry_run', 'awaiting_approval']);
const WINDOWS = { instanceWindowS: 20, instanceLagMs: 5_000 };

export class TuningEngine {
  readonly #o: TuningEngineOptions;
  readonly #now: () => number;
  readonly #log: (line: string) => void;
  readonly book: ActionBook;
  readonly rollouts = new Rollouts();
  readonly #counters: TuningCounters = { ticks: 0, tick_errors: 0, proposals: 0, malformed: 0, applied: 0, refused: 0, dry_run: 0, awaiting_approval: 0, verified: 0, reverted: 0, failed: 0, noop: 0, repeats: 0 };
  #paused: { by: string; at: number } | null = null;
  #running: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | null = null;
  #lastInput: TuningInput | null = null;
  /** Each rollout's last verdict, by service. */
  readonly #judged = new Map<string, JudgeVerdict>();
  #lastError = '';
  readonly #background = new Set<Promise<unknown>>();
  readonly #watches: Watches;

  constructor(o: TuningEngineOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#log = o.log ?? (() => {});
    this.book = new ActionBook(o.records, this.#now, this.#log);
    this.#watches = new Watches({
      settings: o.settings, sources: o.sources, mesh: o.mesh, scaler: o.scaler ?? null, book: this.book, rollouts: this.rollouts,
      judged: (service) => this.#judged.get(service), counters: this.#counters, log: this.#log, instanceLagMs: WINDOWS.instanceLagMs,
    });
  }

  /** Loads recent records and starts the timer. */
  async start(): Promise<void> {
    const n = await this.book.load().catch((e: unknown) => { this.#log(`could not load recent actions: ${(e as Error).message}`); return 0; });
    if (n) this.#log(`${n} actions of the last hour loaded (cooldowns and scale-ins count them)`);
    if (this.#o.settings.tickMs > 0) {
      this.#timer = setInterval(() => { void this.tick(); }, this.#o.settings.tickMs);
      this.#timer.unref();
    }
  }

  /** One evaluation; ticks never overlap. Resolves when this one is done. */
  tick(): Promise<void> {
    this.#running = this.#running.then(() => this.#tick()).catch((e: unknown) => {
      this.#counters.tick_errors++;
      this.#lastError = (e as Error).message;
      this.#log(`tick failed: ${this.#lastError}`);
    });
    return this.#running;
  }

  /** Something changed (an alert opened or resolved): evaluate now rather than at the next tick. */
  nudge(): void { void this.tick(); }

  /** Checks and takes a new tuning policy bundle; throws PolicyBundleError (the old one stays). */
  setPolicy(bytes: Uint8Array, source: string): Promise<string> { return this.#o.policy.set(bytes, source); }

  pause(by: string): void { this.#paused ??= { by, at: this.#now() }; this.#log(`paused by ${by}`); }
  resume(by: string): void { this.#paused = null; this.#log(`resumed by ${by}`); this.nudge(); }
  get paused(): { by: string; at: number } | null { return this.#paused; }

  startRollout(req: RolloutRequest, actor: string): RolloutState {
    const versions = [...new Set(this.#o.mesh.instances().filter((i) => i.service === req.service).map((i) => i.version))];
    const r = this.rollouts.start(req, sharesOf(this.#o.mesh, req.service), versions, this.#now(), actor);
    this.#log(`rollout of ${r.service} from ${r.from} to ${r.to} started by ${actor}: steps ${r.steps.join(',')} every ${r.interval_s} s`);
    this.nudge();
    return r;
  }

  /** Stops a rollout where it is (the weights stay); false when none is in progress. */
  abortRollout(service: string, actor: string): boolean {
    const ok = this.rollouts.abort(service, actor);
    if (ok) this.#log(`rollout of ${service} aborted by ${actor}`);
    return ok;
  }

  /** Applies an action awaiting approval (its guardrails checked again now). */
  async approve(id: string, actor: string): Promise<ActionRecord> {
    const rec = this.#awaiting(id);
    const params = rec.params as ActionParams;
    const still = this.#guard(rec.requested as ProposedAction, this.#now(), id);
    if (still.outcome === 'refused') return this.book.update(id, { state: 'refused', guardrail: still.guardrail, detail: `approved by ${actor}, but refused now`, actor });
    this.book.update(id, { detail: `approved by ${actor}`, actor });
    return this.#apply(id, params, (rec.requested as ProposedAction).signal);
  }

  reject(id: string, actor: string): ActionRecord {
    this.#awaiting(id);
    return this.book.update(id, { state: 'rejected', detail: `rejected by ${actor}`, actor });
  }

  status() {
    return {
      paused: this.#paused, modes: this.#o.settings.modes, bounds: this.#o.settings.bounds, tick_ms: this.#o.settings.tickMs,
      policy: this.#o.policy.status(), counters: { ...this.#counters, ...this.book.counters() }, last_error: this.#lastError,
      rollouts: this.rollouts.all().map((r) => ({ ...r, judge: this.#judged.get(r.service) ?? null })),
    };
  }

  /** The input document of the last tick (GET /v1/tuning/input: what the policy saw). */
  lastInput(): TuningInput | null { return this.#lastInput; }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#running;
    await Promise.all([...this.#background]);
    await this.book.flush();
  }

  async #tick(): Promise<void> {
    const now = this.#now();
    this.#counters.ticks++;
    for (const r of this.book.all()) {
      if (r.state === 'awaiting_approval' && now - r.proposed_at > this.#o.settings.approvalTtlS * 1000) {
        this.book.update(r.id, { state: 'expired', detail: `no approval within ${this.#o.settings.approvalTtlS} s` });
      }
    }
    if (this.#paused) return;
    await this.#watches.verify(now);
    const s = this.#o.settings;
    // Read once: the input lists them, and the canary judge counts those opened since a step.
    const alerts = await this.#o.sources.openAlerts();
    const input = await buildInput(now, { recentS: s.recentS, baselineS: s.baselineS, lagMs: s.lagMs, ...WINDOWS }, this.#o.sources, this.#o.mesh, {
      alerts, rollouts: await this.#rolloutInputs(now, alerts), recentActions: this.book.recent(), ejectionCount: (i) => this.#ejections(i, now),
    });
    this.#lastInput = input;
    const { actions, problems, digest } = this.#o.policy.propose(input);
    this.#counters.malformed += problems.length;
    for (const p of problems.slice(0, 5)) this.#log(`policy answer refused: ${p}`);
    for (const a of actions) await this.#decide(a, input, digest, now);
  }

  async #decide(a: ProposedAction, input: TuningInput, digest: string, now: number): Promise<void> {
    this.#counters.proposals++;
    if (isNoop(a, this.#o.mesh, this.#now())) { this.#counters.noop++; return; }
    const mode = this.#o.settings.modes[a.kind];
    if (mode === 'off') return;
    const subject = subjectOf(a);
    // The same change asked again (its reason's figures move every tick) within a cooldown is not recorded again.
    const same = actionKey(a);
    const repeat = this.book.all().find((r) => r.kind === a.kind && r.subject === subject && ['dry_run', 'awaiting_approval', 'refused'].includes(r.state)
      && actionKey(r.requested as ProposedAction) === same && now - r.proposed_at < this.#o.settings.bounds.cooldownS * 1000);
    if (repeat) { this.#counters.repeats++; return; }
    const g = this.#guard(a, now);
    const base = {
      kind: a.kind, subject, service: a.service, mode, requested: a as unknown, reason: a.reason, alert_ids: a.alerts,
      evidence: { signal: a.signal, alerts: input.alerts.filter((x) => a.alerts.includes(x.id)).map((x) => ({ id: x.id, subject: x.subject, score: x.score, threshold: x.threshold, explanation: x.explanation })) },
      policy_digest: digest, config_before: 0, config_after: 0, acks: [], detail: '', actor: 'engine',
    };
    if (g.outcome === 'refused') {
      this.#counters.refused++;
      this.book.create({ ...base, state: 'refused', params: {}, guardrail: g.guardrail });
      return;
    }
    const state = mode === 'dry-run' ? 'dry_run' : mode === 'approve' ? 'awaiting_approval' : 'proposed';
    const rec = this.book.create({ ...base, state, params: g.params, guardrail: g.guardrail });
    if (state === 'dry_run') { this.#counters.dry_run++; this.#log(`dry-run ${a.kind} ${subject}: ${a.reason}`); return; }
    if (state === 'awaiting_approval') { this.#counters.awaiting_approval++; this.#log(`awaiting approval: ${a.kind} ${subject} (${rec.id})`); return; }
    await this.#apply(rec.id, g.params, a.signal);
  }

  /** Guardrails, plus the scale step (which needs the actuator's count). */
  #guard(a: ProposedAction, now: number, ignoreId?: string) {
    const b = this.#o.settings.bounds;
    const ctx: GuardrailContext = {
      now, bounds: b, shares: (s) => sharesOf(this.#o.mesh, s),
      instances: (s) => {
        const ejected = new Set(this.#o.mesh.ejections().filter((e) => e.until > now).map((e) => e.instance));
        return this.#o.mesh.instances().filter((i) => i.service === s).map((i) => ({ ...i, ejected: ejected.has(i.instance) }));
      },
      ejections: (i) => this.#ejections(i, now),
      recent: this.book.all().filter((r) => r.id !== ignoreId && COUNTING_STATES.has(r.state) && !(r.kind === 'shift' && (r.params as { rollback?: boolean }).rollback))
        .map((r) => ({ kind: r.kind, subject: r.subject, at: r.proposed_at })),
    };
    const g = applyGuardrails(a, ctx);
    if (g.outcome === 'refused' || g.params.kind !== 'scale') return g;
    const before = this.#o.mesh.instances().filter((i) => i.service === a.service).length;
    const step = scaleStep(g.params.replicas, before, b);
    const params = { ...g.params, replicas: step.replicas, before };
    const guardrail = [g.guardrail, step.guardrail].filter(Boolean).join('; ');
    return { outcome: guardrail ? 'clipped' as const : 'ok' as const, params, guardrail };
  }

  async #apply(id: string, params: ActionParams, signal: ProposedAction['signal']): Promise<ActionRecord> {
    const now = this.#now();
    let applied: Applied;
    try {
      applied = await apply(params, this.#o.mesh, this.#o.scaler ?? null, now, this.book.get(id)!.reason);
    } catch (e) {
      this.#counters.failed++;
      this.#log(`${params.kind} ${id} failed: ${(e as Error).message}`);
      return this.book.update(id, { state: 'failed', detail: `${this.book.get(id)!.detail ? `${this.book.get(id)!.detail}; ` : ''}failed: ${(e as Error).message}` });
    }
    this.#counters.applied++;
    const rollout = params.kind === 'shift' && !params.rollback && this.rollouts.progressing().some((r) => r.service === params.service);
    this.#watches.add(id, { at: now, params, applied, signal, rollout });
    if (params.kind === 'shift' && params.rollback) this.#watches.rolledBack(params.service, id);
    if (params.kind === 'shift') this.rollouts.shifted(params.service, params.subsets, params.rollback, now, `${params.rollback ? 'rolled back' : 'shifted'}: ${this.book.get(id)!.reason}`);
    const prior = this.book.get(id)!.detail;
    const rec = this.book.update(id, { state: 'applied', params, config_before: applied.config_before, config_after: applied.config_after, detail: [prior, applied.detail].filter(Boolean).join('; ') });
    this.#log(`applied ${params.kind} ${rec.subject}: ${rec.reason}${rec.guardrail ? ` [${rec.guardrail}]` : ''}`);
    // ACKs arrive over the next moments; the record gains them without holding up the tick.
    const timeout = this.#o.settings.ackTimeoutMs;
    const acks = waitForAcks(this.#o.mesh, applied.config_after, timeout, this.#now).then(({ acks: got, missing }) => {
      const cur = this.book.get(id);
      if (!cur) return;
      const note = missing.length ? `no ACK of version ${applied.config_after} from ${missing.join(', ')} within ${timeout / 1000} s` : '';
      this.book.update(id, { acks: got, detail: [cur.detail, note].filter(Boolean).join('; '), state: cur.state });
    });
    this.#background.add(acks);
    void acks.finally(() => this.#background.delete(acks));
    return rec;
  }

  async #rolloutInputs(now: number, alerts: AlertInput[]): Promise<RolloutInput[]> {
    const out: RolloutInput[] = [];
    const until = Math.floor((now - this.#o.settings.lagMs) / BUCKET_MS) * BUCKET_MS;
    for (const r of this.rollouts.progressing()) {
      const from = Math.ceil((r.step_started_at + 1000) / BUCKET_MS) * BUCKET_MS;
      const rows = from < until ? (await this.#o.sources.versionRollups(from, until)).filter((x) => x.service === r.service) : [];
      const since = alerts.filter((x) => x.opened_at >= r.step_started_at && (x.subject === r.service || x.subject.endsWith(`→${r.service}`)));
      const judge = judgeCanary(rows, r.from, r.to, since, this.#o.judge ?? DEFAULT_JUDGE);
      this.#judged.set(r.service, judge);
      out.push({ service: r.service, from: r.from, to: r.to, steps: r.steps, step: r.step, weight: r.weight, interval_s: r.interval_s, started_at: r.started_at, step_started_at: r.step_started_at, judge, state: r.state });
    }
    return out;
  }

  #ejections(instance: string, now: number): number {
    const memory = this.#o.settings.bounds.ejectMemoryS * 1000;
    return this.book.all().filter((r) => r.kind === 'eject' && r.subject === instance && ['applied', 'verified', 'reverted'].includes(r.state) && now - r.proposed_at < memory).length;
  }

  #awaiting(id: string): ActionRecord {
    const rec = this.book.get(id);
    if (!rec) throw new TuningError(404, `no action ${id}`);
    if (rec.state !== 'awaiting_approval') throw new TuningError(409, `action ${id} is ${rec.state}, not awaiting approval`);
    return rec;
  }
}

export class TuningError extends Error {
  constructor(readonly status: number, message: string) { super(message); this.name = 'TuningError'; }
}
