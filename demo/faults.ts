// Scheduled faults in the demo mesh, so the anomaly models have incidents to
// find and the operator something to watch: every cycle, after a quiet
// stretch long enough to learn from, one fault for a few minutes, then calm.
//
//   latency   payments answers 250 ms slower (a bad deploy)
//   errors    inventory fails 30% of requests (a broken dependency)
//   outage    catalog resets every connection (the process is wedged)
//   exfil     cart sends 40 KB more per response, rate unchanged (data leaving)
//
// Faults are a pure function of time since start, so `meshlens up` logs the
// schedule up front and a test can ask what is active at any moment.

export type FaultKind = 'latency' | 'errors' | 'outage' | 'exfil';

export interface Fault {
  kind: FaultKind;
  service: string;
  /** Offset from the mesh's start, ms. */
  start_ms: number;
  duration_ms: number;
}

export interface FaultEffect {
  extra_ms: number;
  error_rate: number;
  reset: boolean;
  extra_bytes: number;
}

const NONE: FaultEffect = { extra_ms: 0, error_rate: 0, reset: false, extra_bytes: 0 };

const KINDS: { kind: FaultKind; service: string; effect: Partial<FaultEffect> }[] = [
  { kind: 'latency', service: 'payments', effect: { extra_ms: 250 } },
  { kind: 'errors', service: 'inventory', effect: { error_rate: 0.3 } },
  { kind: 'outage', service: 'catalog', effect: { reset: true } },
  { kind: 'exfil', service: 'cart', effect: { extra_bytes: 40_000 } },
];

export interface FaultPlan {
  /** Quiet time before the first fault (the models' baseline), ms. */
  warmup_ms: number;
  /** Time from one fault's start to the next's, ms. */
  every_ms: number;
  duration_ms: number;
}

export const DEFAULT_FAULT_PLAN: FaultPlan = { warmup_ms: 30 * 60_000, every_ms: 15 * 60_000, duration_ms: 3 * 60_000 };

/** The first `n` faults of a plan, cycling through the kinds. */
export function faultSchedule(plan: FaultPlan, n = KINDS.length * 2): Fault[] {
  return Array.from({ length: n }, (_, i) => ({
    kind: KINDS[i % KINDS.length].kind,
    service: KINDS[i % KINDS.length].service,
    start_ms: plan.warmup_ms + i * plan.every_ms,
    duration_ms: plan.duration_ms,
  }));
}

/** What faults do to `service` at `elapsedMs` after start. */
export function faultEffect(plan: FaultPlan, service: string, elapsedMs: number): FaultEffect {
  if (elapsedMs < plan.warmup_ms) return NONE;
  const i = Math.floor((elapsedMs - plan.warmup_ms) / plan.every_ms);
  const into = elapsedMs - plan.warmup_ms - i * plan.every_ms;
  const k = KINDS[i % KINDS.length];
  if (into >= plan.duration_ms || k.service !== service) return NONE;
  return { ...NONE, ...k.effect };
}
