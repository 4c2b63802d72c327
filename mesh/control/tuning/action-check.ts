// Checks what a tuning policy answered: the entrypoint's value must be a list
// (a Rego set arrives as an array) of actions as contract.ts describes. A
// malformed action is refused with every problem named and counted; the
// well-formed ones beside it still go on to the guardrails.

import { isName } from '../../../identity/index.ts';
import { SIGNAL_METRICS, SIGNAL_SCOPES, TUNING_KINDS, type ProposedAction } from './contract.ts';

/** Most actions one evaluation may propose; the rest are refused as a whole answer. */
export const MAX_PROPOSALS = 64;
const MAX_REASON = 512;

export interface CheckedProposals {
  actions: ProposedAction[];
  /** "actions[3].service: …": one line per problem. */
  problems: string[];
}

export function checkProposals(value: unknown): CheckedProposals {
  if (!Array.isArray(value)) return { actions: [], problems: [`the answer must be a list (a set or array) of actions, got ${describe(value)}`] };
  if (value.length > MAX_PROPOSALS) return { actions: [], problems: [`the answer has ${value.length} actions, at most ${MAX_PROPOSALS}`] };
  const actions: ProposedAction[] = [];
  const problems: string[] = [];
  value.forEach((a, i) => {
    const p = actionProblems(a, `actions[${i}]`);
    if (p.length) problems.push(...p);
    else actions.push(normalise(a as ProposedAction));
  });
  return { actions, problems };
}

function actionProblems(a: unknown, at: string): string[] {
  if (a === null || typeof a !== 'object' || Array.isArray(a)) return [`${at}: must be an object, got ${describe(a)}`];
  const o = a as Record<string, unknown>;
  const p: string[] = [];
  const need = (key: string, ok: (v: unknown) => boolean, what: string) => {
    if (!ok(o[key])) p.push(`${at}.${key}: must be ${what}, got ${describe(o[key])}`);
  };
  const name = (v: unknown) => typeof v === 'string' && isName(v);
  const count = (lo: number, hi: number) => (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
  const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= 1e6;
  if (!(TUNING_KINDS as readonly unknown[]).includes(o.kind)) return [`${at}.kind: must be one of ${TUNING_KINDS.join(', ')}, got ${describe(o.kind)}`];
  need('service', name, 'a service name');
  need('reason', (v) => typeof v === 'string' && v.length > 0 && v.length <= MAX_REASON, `a non-empty string of at most ${MAX_REASON} characters`);
  need('alerts', (v) => v === undefined || (Array.isArray(v) && v.length <= 32 && v.every((x) => typeof x === 'string' && x.length <= 128)), 'a list of at most 32 alert ids');
  p.push(...signalProblems(o.signal, `${at}.signal`));
  switch (o.kind) {
    case 'shift': {
      const s = o.subsets;
      if (!Array.isArray(s) || s.length === 0 || s.length > 8) { p.push(`${at}.subsets: must be 1-8 of {version, weight}, got ${describe(s)}`); break; }
      s.forEach((x, j) => {
        const ok = x !== null && typeof x === 'object' && typeof x.version === 'string' && isName(x.version) && count(0, 100_000)(x.weight);
        if (!ok) p.push(`${at}.subsets[${j}]: must be {version: <name>, weight: <integer 0-100000>}, got ${describe(x)}`);
      });
      if (p.length === 0 && !s.some((x) => x.weight > 0)) p.push(`${at}.subsets: at least one weight must be > 0`);
      need('rollback', (v) => v === undefined || typeof v === 'boolean', 'a boolean');
      break;
    }
    case 'eject': need('instance', name, 'an instance name'); break;
    case 'scale': need('replicas', count(0, 1000), 'an integer 0-1000'); break;
    case 'ratelimit':
      need('caller', name, 'the calling service');
      need('lift', (v) => v === undefined || typeof v === 'boolean', 'a boolean');
      if (o.lift !== true) { need('rps', positive, 'a number of requests per second > 0'); need('burst', (v) => v === undefined || positive(v), 'a number > 0'); }
      break;
  }
  return p;
}

function signalProblems(s: unknown, at: string): string[] {
  if (s === null || typeof s !== 'object' || Array.isArray(s)) return [`${at}: must be {scope, subject, metric, value, threshold}, got ${describe(s)}`];
  const o = s as Record<string, unknown>;
  const p: string[] = [];
  if (!(SIGNAL_SCOPES as readonly unknown[]).includes(o.scope)) p.push(`${at}.scope: must be one of ${SIGNAL_SCOPES.join(', ')}, got ${describe(o.scope)}`);
  if (typeof o.subject !== 'string' || o.subject.length === 0 || o.subject.length > 260) p.push(`${at}.subject: must be a non-empty string, got ${describe(o.subject)}`);
  if (!(SIGNAL_METRICS as readonly unknown[]).includes(o.metric)) p.push(`${at}.metric: must be one of ${SIGNAL_METRICS.join(', ')}, got ${describe(o.metric)}`);
  for (const k of ['value', 'threshold']) if (typeof o[k] !== 'number' || !Number.isFinite(o[k])) p.push(`${at}.${k}: must be a number, got ${describe(o[k])}`);
  return p;
}

/** Only the contract's fields, with defaults filled: nothing else the policy returned travels further. */
function normalise(a: ProposedAction): ProposedAction {
  const base = {
    service: a.service, reason: a.reason, alerts: a.alerts ?? [],
    signal: { scope: a.signal.scope, subject: a.signal.subject, metric: a.signal.metric, value: a.signal.value, threshold: a.signal.threshold },
  };
  switch (a.kind) {
    case 'shift': return { kind: 'shift', ...base, subsets: a.subsets.map((s) => ({ version: s.version, weight: s.weight })), rollback: a.rollback === true };
    case 'eject': return { kind: 'eject', ...base, instance: a.instance };
    case 'scale': return { kind: 'scale', ...base, replicas: a.replicas };
    case 'ratelimit': return a.lift === true
      ? { kind: 'ratelimit', ...base, caller: a.caller, rps: 0, lift: true }
      : { kind: 'ratelimit', ...base, caller: a.caller, rps: a.rps, burst: a.burst ?? Math.max(1, Math.ceil(a.rps)) };
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s === undefined ? typeof v : s.length > 120 ? `${s.slice(0, 117)}…` : s;
}
