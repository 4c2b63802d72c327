// Scheduled faults in the demo mesh, so the anomaly models have incidents to
// find, the tuning engine something to act on and the operator something to
// watch: every cycle, after a quiet stretch long enough to learn from, one
// fault for a few minutes, then calm. Anomaly faults:
//
//   latency   payments answers 250 ms slower (a bad deploy)
//   errors    inventory fails 30% of requests (a broken dependency)
//   outage    catalog resets every connection (the process is wedged)
//   exfil     cart sends 40 KB more per response, rate unchanged (data leaving)
//
// Tuning scenarios (what mesh/control/tuning acts on):
//
//   canary    payments v2 is a regression (+200 ms and 20% errors) from the
//             moment it exists, whatever the schedule; it gets no traffic
//             until a rollout shifts weight to it, so its slot in the
//             schedule does nothing in the workloads: it is when a rollout
//             should start (scenarioSchedule)
//   eject     instance catalog-2 fails half its requests (an instance gone bad)
//   surge     the load generator sends 3× its rate (a traffic spike)
//   flood     indexer calls catalog at 150 req/s instead of 2 (a noisy caller)
//
// `meshlens up` cycles the anomaly faults then the scenarios (UP_CYCLE);
// `meshlens up --scenario <name>` cycles that one scenario alone. Faults are a
// pure function of time since the mesh's start (DemoMesh.startedAt), so
// `meshlens up` logs the schedule up front and a test can ask what is active
// at any moment.

export type AnomalyFault = 'latency' | 'errors' | 'outage' | 'exfil';
export type Scenario = 'canary' | 'eject' | 'surge' | 'flood';
export type FaultKind = AnomalyFault | Scenario;

export const ANOMALY_FAULTS: readonly AnomalyFault[] = ['latency', 'errors', 'outage', 'exfil'];
export const SCENARIOS: readonly Scenario[] = ['canary', 'eject', 'surge', 'flood'];
/** What plain `meshlens up` cycles through. */
export const UP_CYCLE: readonly FaultKind[] = [...ANOMALY_FAULTS, ...SCENARIOS];

export interface Fault {
  kind: FaultKind;
  /** The service the fault shows on (where alerts and tuning actions belong). */
  service: string;
  /** Only this instance of it; absent: every instance. */
  instance?: string;
  /** Offset from the mesh's start, ms. */
  start_ms: number;
  duration_ms: number;
}

export interface FaultEffect {
  extra_ms: number;
  error_rate: number;
  reset: boolean;
  extra_bytes: number;
  /** A background job's call rate, as a multiple of its normal rate; absent: 1. */
  rate_multiplier?: number;
}

/** Which workload instance asks (a bare string: a service name, any instance and version). */
export interface FaultTarget {
  service: string;
  instance?: string;
  version?: string;
}

const NONE: FaultEffect = { extra_ms: 0, error_rate: 0, reset: false, extra_bytes: 0 };

interface KindSpec {
  service: string;
  instance?: string;
  /** The workload the effect is applied to, when not `service` (flood: the caller). */
  applies_to?: string;
  effect: Partial<FaultEffect>;
  /** The load generator's rate multiplier while active. */
  load?: number;
}

const KINDS: Record<FaultKind, KindSpec> = {
  latency: { service: 'payments', effect: { extra_ms: 250 } },
  errors: { service: 'inventory', effect: { error_rate: 0.3 } },
  outage: { service: 'catalog', effect: { reset: true } },
  exfil: { service: 'cart', effect: { extra_bytes: 40_000 } },
  canary: { service: 'payments', effect: {} },
  eject: { service: 'catalog', instance: 'catalog-2', effect: { error_rate: 0.5 } },
  surge: { service: 'web', effect: {}, load: 3 },
  // 2 req/s × 75 = 150 req/s.
  flood: { service: 'catalog', applies_to: 'indexer', effect: { rate_multiplier: 75 } },
};

/** The canary's regression: payments v2, always (while any fault plan is in force). */
const CANARY = { service: 'payments', version: 'v2', effect: { extra_ms: 200, error_rate: 0.2 } };

export interface FaultPlan {
  /** Quiet time before the first fault (the models' baseline), ms. */
  warmup_ms: number;
  /** Time from one fault's start to the next's, ms. */
  every_ms: number;
  duration_ms: number;
  /** The faults to cycle through, in order; absent: the four anomaly faults. */
  kinds?: readonly FaultKind[];
}

export const DEFAULT_FAULT_PLAN: FaultPlan = { warmup_ms: 30 * 60_000, every_ms: 15 * 60_000, duration_ms: 3 * 60_000 };

const kindsOf = (plan: FaultPlan): readonly FaultKind[] => (plan.kinds?.length ? plan.kinds : ANOMALY_FAULTS);

function fault(plan: FaultPlan, i: number): Fault {
  const kinds = kindsOf(plan);
  const kind = kinds[i % kinds.length];
  const { service, instance } = KINDS[kind];
  return { kind, service, ...(instance ? { instance } : {}), start_ms: plan.warmup_ms + i * plan.every_ms, duration_ms: plan.duration_ms };
}

/** The first `n` faults of a plan, cycling through its kinds. */
export function faultSchedule(plan: FaultPlan, n = kindsOf(plan).length * 2): Fault[] {
  return Array.from({ length: n }, (_, i) => fault(plan, i));
}

/** The first `n` times `scenario` comes round in a plan (none if the plan does not cycle it): when to start a rollout for 'canary'. */
export function scenarioSchedule(plan: FaultPlan, scenario: Scenario, n = 4): Fault[] {
  const kinds = kindsOf(plan);
  const slots = kinds.flatMap((k, i) => (k === scenario ? [i] : []));
  return Array.from({ length: slots.length ? n : 0 }, (_, j) => fault(plan, Math.floor(j / slots.length) * kinds.length + slots[j % slots.length]));
}

/** The fault in force at `elapsedMs` after start, or null. */
export function activeFault(plan: FaultPlan, elapsedMs: number): Fault | null {
  if (elapsedMs < plan.warmup_ms) return null;
  const f = fault(plan, Math.floor((elapsedMs - plan.warmup_ms) / plan.every_ms));
  return elapsedMs - f.start_ms < plan.duration_ms ? f : null;
}

/** What faults do to a workload instance at `elapsedMs` after start. */
export function faultEffect(plan: FaultPlan, target: string | FaultTarget, elapsedMs: number): FaultEffect {
  const t = typeof target === 'string' ? { service: target } : target;
  let out = NONE;
  if (t.service === CANARY.service && t.version === CANARY.version) out = combine(out, CANARY.effect);
  const f = activeFault(plan, elapsedMs);
  if (!f) return out;
  const k = KINDS[f.kind];
  if ((k.applies_to ?? k.service) !== t.service || (k.instance !== undefined && k.instance !== t.instance)) return out;
  return combine(out, k.effect);
}

/** The load generator's rate multiplier at `elapsedMs` after start (3 during a surge). */
export function loadRateMultiplier(plan: FaultPlan, elapsedMs: number): number {
  const f = activeFault(plan, elapsedMs);
  return (f && KINDS[f.kind].load) ?? 1;
}

function combine(a: FaultEffect, b: Partial<FaultEffect>): FaultEffect {
  const out: FaultEffect = {
    extra_ms: a.extra_ms + (b.extra_ms ?? 0),
    error_rate: a.error_rate + (b.error_rate ?? 0),
    reset: a.reset || (b.reset ?? false),
    extra_bytes: a.extra_bytes + (b.extra_bytes ?? 0),
  };
  const m = (a.rate_multiplier ?? 1) * (b.rate_multiplier ?? 1);
  return m === 1 ? out : { ...out, rate_multiplier: m };
}

export function isScenario(s: unknown): s is Scenario {
  return (SCENARIOS as readonly unknown[]).includes(s);
}
