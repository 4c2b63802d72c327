// Guardrails: every action a policy proposes is checked against the bounds
// (settings.ts) before anything happens. An action outside them is clipped
// to fit (a shift too large, a replica count too high) or refused (cooldown,
// too many actions a minute, too many instances ejected), and the record
// says which bound and by how much. Pure: the engine passes in what it knows.

import type { ProposedAction, TuningKind } from './contract.ts';
import type { TuningBounds } from './settings.ts';

export interface SubsetShare { version: string; weight: number }

/** What is applied: the policy's action after the guardrails. */
export type ActionParams =
  | { kind: 'shift'; service: string; subsets: SubsetShare[]; before: SubsetShare[]; rollback: boolean }
  | { kind: 'eject'; service: string; instance: string; seconds: number; repeats: number }
  | { kind: 'scale'; service: string; replicas: number; before: number }
  | { kind: 'ratelimit'; service: string; caller: string; rps: number; burst: number; lift: boolean };

export interface GuardrailContext {
  now: number;
  bounds: TuningBounds;
  /** Current traffic share per version (percent, summing to 100) of each service with instances. */
  shares: (service: string) => SubsetShare[];
  /** Registered instances of a service, with whether each is ejected now. */
  instances: (service: string) => { instance: string; version: string; ejected: boolean }[];
  /** Times an instance was ejected within the ejection memory. */
  ejections: (instance: string) => number;
  /** Actions that count for cooldown and rate: applied, dry-run or awaiting approval, newest first. */
  recent: { kind: TuningKind; subject: string; at: number }[];
}

export type GuardrailResult =
  | { outcome: 'ok' | 'clipped'; params: ActionParams; guardrail: string }
  | { outcome: 'refused'; guardrail: string };

/** The thing an action acts on, for cooldowns and records. */
export function subjectOf(a: ProposedAction): string {
  switch (a.kind) {
    case 'eject': return a.instance;
    case 'ratelimit': return `${a.caller}→${a.service}`;
    default: return a.service;
  }
}

/** Rollbacks put traffic back where it was safe; they are never held back by a cooldown, rate or step bound. */
export const isRollback = (a: ProposedAction): boolean => a.kind === 'shift' && a.rollback === true;

export function applyGuardrails(a: ProposedAction, ctx: GuardrailContext): GuardrailResult {
  const b = ctx.bounds;
  if (!isRollback(a)) {
    const subject = subjectOf(a);
    const last = ctx.recent.find((r) => r.subject === subject);
    if (last && ctx.now - last.at < b.cooldownS * 1000) {
      return { outcome: 'refused', guardrail: `cooldown: the last action on ${subject} was ${((ctx.now - last.at) / 1000).toFixed(0)} s ago (cooldown ${b.cooldownS} s)` };
    }
    const inMinute = ctx.recent.filter((r) => ctx.now - r.at < 60_000).length;
    if (inMinute >= b.maxActionsPerMinute) {
      return { outcome: 'refused', guardrail: `rate: ${inMinute} actions in the last 60 s (at most ${b.maxActionsPerMinute})` };
    }
  }
  switch (a.kind) {
    case 'shift': return shift(a, ctx);
    case 'eject': return eject(a, ctx);
    case 'scale': return scale(a, b);
    case 'ratelimit': return ratelimit(a, b);
  }
}

function shift(a: Extract<ProposedAction, { kind: 'shift' }>, ctx: GuardrailContext): GuardrailResult {
  const versions = new Set(ctx.instances(a.service).map((i) => i.version));
  const live = a.subsets.filter((s) => s.weight > 0);
  const missing = live.filter((s) => !versions.has(s.version)).map((s) => s.version);
  if (missing.length === live.length) {
    return { outcome: 'refused', guardrail: `no instance of ${a.service} has version ${missing.join(' or ')} (it has: ${[...versions].join(', ') || 'none'})` };
  }
  const before = ctx.shares(a.service);
  const target = percentages(a.subsets);
  const old = (v: string) => before.find((s) => s.version === v)?.weight ?? 0;
  const gain = Math.max(...target.map((s) => s.weight - old(s.version)));
  if (a.rollback || gain <= ctx.bounds.maxShiftStep) return { outcome: 'ok', params: { kind: 'shift', service: a.service, subsets: target, before, rollback: a.rollback === true }, guardrail: '' };
  // Move every subset the same fraction of the way, so the largest gain is the bound.
  const f = ctx.bounds.maxShiftStep / gain;
  const all = [...new Set([...before.map((s) => s.version), ...target.map((s) => s.version)])];
  const clipped = percentages(all.map((v) => ({ version: v, weight: old(v) + f * ((target.find((s) => s.version === v)?.weight ?? 0) - old(v)) })));
  const asked = target.map((s) => `${s.version} ${s.weight}%`).join(' / ');
  return {
    outcome: 'clipped', params: { kind: 'shift', service: a.service, subsets: clipped, before, rollback: false },
    guardrail: `max shift step: asked ${asked}, a gain of ${gain.toFixed(0)} points; clipped to ${clipped.map((s) => `${s.version} ${s.weight}%`).join(' / ')} (at most ${ctx.bounds.maxShiftStep} points per action)`,
  };
}

function eject(a: Extract<ProposedAction, { kind: 'eject' }>, ctx: GuardrailContext): GuardrailResult {
  const b = ctx.bounds;
  const all = ctx.instances(a.service);
  if (!all.some((i) => i.instance === a.instance)) return { outcome: 'refused', guardrail: `${a.instance} is not a registered instance of ${a.service}` };
  const ejected = all.filter((i) => i.ejected).length;
  const share = (ejected + 1) / all.length;
  if (ejected + 1 >= all.length || share > b.maxEjectedShare) {
    return { outcome: 'refused', guardrail: `max ejected share: ejecting ${a.instance} would leave ${all.length - ejected - 1} of ${all.length} instances of ${a.service} (at most ${(b.maxEjectedShare * 100).toFixed(0)}% ejected, one always stays)` };
  }
  const repeats = ctx.ejections(a.instance);
  const seconds = Math.min(b.ejectMaxS, b.ejectBaseS * 2 ** repeats);
  return { outcome: 'ok', params: { kind: 'eject', service: a.service, instance: a.instance, seconds, repeats }, guardrail: '' };
}

function scale(a: Extract<ProposedAction, { kind: 'scale' }>, b: TuningBounds): GuardrailResult {
  // The engine fills `before` from the actuator; the bound on the step is applied there (scaleStep).
  const replicas = Math.min(b.maxReplicas, Math.max(b.minReplicas, a.replicas));
  const params = { kind: 'scale' as const, service: a.service, replicas, before: -1 };
  if (replicas === a.replicas) return { outcome: 'ok', params, guardrail: '' };
  return { outcome: 'clipped', params, guardrail: `replica bounds: asked ${a.replicas}, clipped to ${replicas} (floor ${b.minReplicas}, ceiling ${b.maxReplicas})` };
}

/** The replica count after the step bound, and what the record says when it bit. */
export function scaleStep(asked: number, before: number, b: TuningBounds): { replicas: number; guardrail: string } {
  const step = asked - before;
  if (Math.abs(step) <= b.maxScaleStep) return { replicas: asked, guardrail: '' };
  const replicas = before + Math.sign(step) * b.maxScaleStep;
  return { replicas, guardrail: `max scale step: ${before} → ${asked} clipped to ${replicas} (at most ${b.maxScaleStep} replicas per action)` };
}

function ratelimit(a: Extract<ProposedAction, { kind: 'ratelimit' }>, b: TuningBounds): GuardrailResult {
  if (a.lift) return { outcome: 'ok', params: { kind: 'ratelimit', service: a.service, caller: a.caller, rps: 0, burst: 0, lift: true }, guardrail: '' };
  const rps = Math.max(b.minRateLimitRps, a.rps);
  const burst = Math.max(1, a.burst ?? Math.ceil(rps));
  const params = { kind: 'ratelimit' as const, service: a.service, caller: a.caller, rps, burst, lift: false };
  if (rps === a.rps) return { outcome: 'ok', params, guardrail: '' };
  return { outcome: 'clipped', params, guardrail: `rate limit floor: asked ${a.rps}/s, raised to ${rps}/s` };
}

/** Weights as whole percentages summing to 100 (largest remainder), in the order given. */
export function percentages(subsets: SubsetShare[]): SubsetShare[] {
  const total = subsets.reduce((n, s) => n + Math.max(0, s.weight), 0);
  if (total <= 0) return subsets.map((s) => ({ version: s.version, weight: 0 }));
  const exact = subsets.map((s) => (Math.max(0, s.weight) * 100) / total);
  const out = exact.map((x) => Math.floor(x));
  let left = 100 - out.reduce((n, x) => n + x, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((p, q) => q[0] - p[0] || p[1] - q[1]);
  for (const [, i] of order) { if (left <= 0) break; out[i]++; left--; }
  return subsets.map((s, i) => ({ version: s.version, weight: out[i] }));
}
