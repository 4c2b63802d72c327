// Synthetic service telemetry for evaluation: one row per 10-second rollup with
// the features the mesh records per service (request rate, error rate, p50/p99
// latency, bytes in/out per second, active connections, retries per second),
// a daily rhythm, noise with heavy-tailed p99 spikes, short gaps, and labelled
// incidents. Flash crowds are labelled too but are benign: a detector must not
// alert on them. Everything is driven by one seed.

import { seededRandom, type Random } from './random.ts';
import type { Series } from './series.ts';

export const ROLLUP_FEATURES = ['requests', 'error_rate', 'p50_ms', 'p99_ms', 'bytes_in', 'bytes_out', 'connections', 'retries'] as const;

export const INCIDENT_KINDS = [
  'latency_regression', 'error_burst', 'upstream_outage', 'traffic_drop', 'retry_storm',
  'slow_leak', 'exfiltration', 'connection_leak', 'brownout',
] as const;
export type IncidentKind = (typeof INCIDENT_KINDS)[number] | 'flash_crowd';

export interface Incident {
  kind: IncidentKind;
  /** Row indices [start, end) in the series. */
  start: number;
  end: number;
  /** Benign events (flash crowds) must not alert. */
  benign: boolean;
}

export interface Scenario {
  service: string;
  series: Series;
  /** Rows [0, trainRows) are the clean baseline period. */
  trainRows: number;
  incidents: Incident[];
}

export interface ScenarioOptions {
  seed: number;
  service?: string;
  trainDays?: number;
  testDays?: number;
  stepMs?: number;
  /** Epoch ms of the first row (default 2026-01-05T00:00Z). */
  startMs?: number;
}

interface Profile { rate: number; err: number; p50: number; tail: number; bin: number; bout: number; pool: number; retry: number }

const DAY = 86_400_000;

function profileFor(rng: Random): Profile {
  return {
    rate: rng.range(40, 400), err: rng.range(0.002, 0.01), p50: rng.range(8, 60), tail: rng.range(3, 6),
    bin: rng.range(300, 3000), bout: rng.range(1000, 20000), pool: rng.range(1, 4), retry: rng.range(0.002, 0.01),
  };
}

/** Multiplicative effect of an incident on the underlying process, by progress p in [0, 1]. */
interface Effect { rate: number; errAdd: number; lat: number; tail: number; bout: number; conn: number; retry: number }
const NONE: Effect = { rate: 1, errAdd: 0, lat: 1, tail: 1, bout: 1, conn: 1, retry: 1 };

function effectOf(kind: IncidentKind, p: number, m: number): Effect {
  // Shapes ramp in over the first 5% so nothing is a single-row step.
  const ramp = Math.min(1, p / 0.05);
  switch (kind) {
    case 'latency_regression': return { ...NONE, lat: 1 + (m - 1) * ramp, tail: 1 + 0.3 * ramp };
    case 'error_burst': return { ...NONE, errAdd: 0.03 * m * ramp };
    case 'upstream_outage': return { ...NONE, errAdd: 0.5 * ramp, lat: 1 - 0.5 * ramp, retry: 1 + 8 * ramp };
    case 'traffic_drop': return { ...NONE, rate: 1 - (1 - 1 / (2 * m)) * ramp };
    case 'retry_storm': return { ...NONE, rate: 1 + 0.5 * ramp, lat: 1 + 0.3 * ramp, retry: 1 + 25 * m * ramp };
    case 'slow_leak': return { ...NONE, lat: 1 + (m - 0.6) * p, tail: 1 + 0.5 * p };
    case 'exfiltration': return { ...NONE, bout: 1 + (m + 1) * ramp };
    case 'connection_leak': return { ...NONE, conn: 1 + 1.5 * m * p };
    case 'brownout': return { ...NONE, lat: 1 + 0.2 * ramp, tail: 1 + 0.35 * ramp, errAdd: 0.012 * ramp };
    case 'flash_crowd': {
      const shape = Math.sin(Math.PI * p); // up and down again
      return { ...NONE, rate: 1 + (m + 0.5) * shape, lat: 1 + 0.05 * shape };
    }
  }
}

const DURATION_MIN: Record<IncidentKind, [number, number]> = {
  latency_regression: [10, 40], error_burst: [4, 12], upstream_outage: [5, 15], traffic_drop: [10, 30],
  retry_storm: [5, 20], slow_leak: [60, 180], exfiltration: [10, 30], connection_leak: [40, 90],
  brownout: [15, 30], flash_crowd: [15, 40],
};

function placeIncidents(rng: Random, from: number, to: number, stepMs: number): Incident[] {
  const kinds: IncidentKind[] = [...INCIDENT_KINDS, 'flash_crowd', 'flash_crowd'];
  for (let i = kinds.length - 1; i > 0; i--) { const j = rng.int(0, i + 1); [kinds[i], kinds[j]] = [kinds[j], kinds[i]]; }
  const slot = Math.floor((to - from) / kinds.length);
  const perMin = 60_000 / stepMs;
  return kinds.map((kind, i) => {
    const [lo, hi] = DURATION_MIN[kind];
    const gap = Math.round(30 * perMin); // quiet time between slots
    // Short test periods give short slots: cap the length so events never overlap.
    const len = Math.min(Math.round(rng.range(lo, hi) * perMin), slot - 2 * gap);
    const start = from + i * slot + rng.int(gap, Math.max(gap + 1, slot - len - gap));
    return { kind, start, end: Math.min(to, start + len), benign: kind === 'flash_crowd' };
  });
}

export function generateScenario(opts: ScenarioOptions): Scenario {
  const rng = seededRandom(opts.seed);
  const stepMs = opts.stepMs ?? 10_000;
  const perDay = DAY / stepMs;
  const trainRows = Math.round((opts.trainDays ?? 2) * perDay);
  const total = trainRows + Math.round((opts.testDays ?? 2) * perDay);
  const start = opts.startMs ?? Date.UTC(2026, 0, 5);
  const pr = profileFor(rng);
  const peakPhase = rng.range(0.45, 0.7); // busiest time of day
  const incidents = placeIncidents(rng, trainRows, total, stepMs);
  const magnitude = incidents.map(() => rng.range(1.5, 2.5));
  const active: number[] = new Array(total).fill(-1);
  incidents.forEach((inc, k) => { for (let i = inc.start; i < inc.end; i++) active[i] = k; });

  const ts: number[] = [];
  const rows: number[][] = [];
  let walk = 0; // slow AR(1) drift of demand, in log
  for (let i = 0; i < total; i++) {
    const t = start + i * stepMs;
    ts.push(t);
    const tod = (t % DAY) / DAY;
    const daily = 0.55 + 0.35 * Math.cos(2 * Math.PI * (tod - peakPhase)) + 0.1 * Math.cos(4 * Math.PI * (tod - peakPhase));
    walk = 0.995 * walk + 0.01 * rng.normal();
    const k = active[i];
    const e = k < 0 ? NONE : effectOf(incidents[k].kind, (i - incidents[k].start) / (incidents[k].end - incidents[k].start), magnitude[k]);
    const rate = pr.rate * daily * Math.exp(walk) * e.rate;
    const n = Math.max(1, rate * stepMs / 1000); // requests in this rollup
    const requests = rate * (1 + rng.normal() / Math.sqrt(n));
    const pErr = Math.min(1, pr.err + e.errAdd);
    const errRate = Math.max(0, pErr + rng.normal() * Math.sqrt(pErr * (1 - pErr) / n));
    const load = 1 + 0.15 * (daily - 0.55);
    const p50 = pr.p50 * load * e.lat * Math.exp(0.05 * rng.normal());
    const spike = rng.next() < 0.003 ? rng.range(1.5, 3) : 1; // heavy tail: lone p99 spikes are normal
    const p99 = p50 * pr.tail * e.tail * spike * Math.exp(0.1 * rng.normal());
    const bytesIn = requests * pr.bin * Math.exp(0.05 * rng.normal());
    const bytesOut = requests * pr.bout * e.bout * Math.exp(0.08 * rng.normal());
    const conns = (pr.pool + rate * (p50 / 1000) * 2) * e.conn * Math.exp(0.05 * rng.normal());
    const retries = rate * pr.retry * e.retry * Math.max(0, 1 + rng.normal() / Math.sqrt(Math.max(1, n * pr.retry * e.retry)));
    rows.push([requests, errRate, p50, p99, bytesIn, bytesOut, conns, retries]);
  }
  // Gaps: a few lost rollups and one five-minute outage of the pipeline itself.
  const gap = (i: number) => { rows[i] = rows[i].map(() => NaN); };
  for (let i = 0; i < total; i++) if (rng.next() < 0.002) gap(i);
  const outage = rng.int(trainRows, total - 30);
  for (let i = outage; i < outage + 30; i++) if (active[i] < 0) gap(i);
  return { service: opts.service ?? `svc-${opts.seed}`, series: { ts, names: [...ROLLUP_FEATURES], rows }, trainRows, incidents };
}
