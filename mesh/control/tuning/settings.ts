// The tuning engine's settings: its clock, its windows, the mode of each
// action kind and the bounds every proposed action must fit (guardrails.ts).
//
// A new install runs every kind in `dry-run`: the engine records what it
// would do, and changes nothing, until an operator has read its record and
// chosen `auto` or `approve` kind by kind. The demo runs `auto`.

import { ACTION_MODES, type ActionMode } from '../../../ingest/index.ts';
import { TUNING_KINDS, type TuningKind } from './contract.ts';

/** The modes: the action record's own list (ingest), so engine and store cannot disagree. */
export const TUNING_MODES = ACTION_MODES;
export type TuningMode = ActionMode;

export interface TuningBounds {
  /** Most percentage points of traffic any subset may gain in one shift; a rollback is exempt. */
  maxShiftStep: number;
  /** Seconds after an action before another on the same subject; rollbacks and reverts are exempt. */
  cooldownS: number;
  /** Actions applied (or recorded in dry-run or for approval) in any 60 s; more are refused. */
  maxActionsPerMinute: number;
  minReplicas: number;
  maxReplicas: number;
  /** Most replicas added or removed by one scale action. */
  maxScaleStep: number;
  /** Largest share of a service's instances ejected at once (one always stays). */
  maxEjectedShare: number;
  /** First ejection's length; each repeat within ejectMemoryS doubles it, up to ejectMaxS. */
  ejectBaseS: number;
  ejectMaxS: number;
  ejectMemoryS: number;
  /** The lowest rate limit the policy may set, requests per second. */
  minRateLimitRps: number;
}

export interface TuningSettings {
  /** Evaluation period, ms (an alert change evaluates at once as well). 0: no timer (tests call tick()). */
  tickMs: number;
  /** The "recent" window of the input's figures, and the baseline window before it, seconds. */
  recentS: number;
  baselineS: number;
  /** Rollup buckets younger than this are still filling, ms. */
  lagMs: number;
  /** Seconds after an applied action before its signal is read again (verification). */
  watchS: number;
  /** Seconds an action waits for approval before it expires. */
  approvalTtlS: number;
  /** How long an applied action's record waits for every connected sidecar's ACK, ms (those missing are named). */
  ackTimeoutMs: number;
  modes: Record<TuningKind, TuningMode>;
  bounds: TuningBounds;
}

export const DEFAULT_BOUNDS: TuningBounds = {
  maxShiftStep: 50, cooldownS: 60, maxActionsPerMinute: 6,
  minReplicas: 1, maxReplicas: 8, maxScaleStep: 2,
  maxEjectedShare: 0.5, ejectBaseS: 30, ejectMaxS: 300, ejectMemoryS: 900,
  minRateLimitRps: 1,
};

export const DEFAULT_TUNING_SETTINGS: TuningSettings = {
  tickMs: 10_000, recentS: 30, baselineS: 600, lagMs: 20_000, watchS: 60, approvalTtlS: 300, ackTimeoutMs: 30_000,
  modes: { shift: 'dry-run', eject: 'dry-run', scale: 'dry-run', ratelimit: 'dry-run' },
  bounds: DEFAULT_BOUNDS,
};

/**
 * Modes from a flag: "auto" (every kind) or "shift=auto,eject=approve,…",
 * or both ("dry-run,scale=off"); later entries win. Throws naming each bad entry.
 */
export function parseModes(text: string, base: Record<TuningKind, TuningMode> = DEFAULT_TUNING_SETTINGS.modes): Record<TuningKind, TuningMode> {
  const out = { ...base };
  const problems: string[] = [];
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [k, v] = part.includes('=') ? part.split('=', 2) : [undefined, part];
    if (!(TUNING_MODES as readonly string[]).includes(v)) { problems.push(`"${part}": mode must be one of ${TUNING_MODES.join(', ')}`); continue; }
    if (k === undefined) { for (const kind of TUNING_KINDS) out[kind] = v as TuningMode; continue; }
    if (!(TUNING_KINDS as readonly string[]).includes(k)) { problems.push(`"${part}": kind must be one of ${TUNING_KINDS.join(', ')}`); continue; }
    out[k as TuningKind] = v as TuningMode;
  }
  if (problems.length) throw new Error(`tuning modes: ${problems.join('; ')}`);
  return out;
}
