// From rollup columns to model inputs, robust to heavy tails and the daily rhythm.
//
// 1. Derive: when a request-rate column exists, volume columns (bytes,
//    connections, retries, denies, error counts) become per-request ratios. A
//    flash crowd raises volumes together with requests; exfiltration raises
//    bytes out per request; a connection leak raises connections per request.
//    Other columns pass through as given. Which column is which is read from
//    the names (columns.ts: `rps`, `tx_bytes`, `activeConnections` too), and
//    the plan is saved with the scaler.
// 2. Compress: non-negative columns go through log(x + c), c = half the
//    training median, so one p99 spike does not dominate a window.
// 3. Deseasonalise: subtract a robust centre per time-of-day bin (median per
//    bin of the training data) when the training data covers at least a day;
//    otherwise one global median. The bins (2 h, 1 h or 30 min) are chosen
//    per column by how well one half of the baseline's days predicts the
//    other (`chooseBins`); from one day, 2 h. Learnt in 30-minute bins from
//    one day, a demand that wanders over half an hour was learnt as rhythm
//    and the next day alerted wherever it wandered differently.
// 4. Scale: divide by 1.4826 × MAD of the residuals, never less than
//    MIN_LOG_SPREAD for log columns, and clip to ±CLIP. The floor is the
//    smallest change worth an alert: a very steady column (inventory's p50
//    at 4.0-4.1 ms in the demo) has a MAD so small that a 0.7 ms shift was
//    8 spreads and opened latency alerts no operator would act on (seen
//    live during an unrelated outage).
// 5. Time of day: the model also sees [sin, cos] of the time of day, but only
//    when the training data covers a day. From a shorter baseline the model
//    sees a narrow arc of the clock and nothing tells it what the rest means:
//    as the clock moves past the baseline, that input drifts out of anything
//    it was trained on and the scores of normal traffic creep up (seen live:
//    false alarms hours after a 20-minute baseline, alerts that would not
//    resolve). Then the input is a constant [0, 0].
// Two features are one-sided. `requests`: more traffic than usual, on its
// own, is demand and not a fault (a flash crowd that hurts shows up in
// latency and errors). `connections_per_request`: fewer connections per
// request is reuse (a fixed pool shared by a crowd), the fault is a leak or
// exhaustion, i.e. more. The harmless side is clipped at ±ONE_SIDED_CAP and
// ignored when scoring (see `oneSided`).
// Missing values stay NaN: scoring masks them out, the model sees the centre.

import { legacyPlan, planColumns, type ColumnPlan } from './columns.ts';
import { stepMs, type Series } from './series.ts';

export const CLIP = 8;
export const ONE_SIDED_CAP = 2;
/**
 * log(x + c) offset of a column that was zero all through training (a
 * service that never failed). It was 1, which put an error rate of 50%
 * at log(1.5) = 0.4 spreads from normal: invisible. At 0.001 it is
 * log(501) = 6.2 spreads, and a rate of 1% (one failure in a bucket of
 * 100 requests) is log(11) = 2.4.
 */
export const ALWAYS_ZERO_OFFSET = 1e-3;
/** Least spread of a log column: one spread is at least a 5% change of the value. */
export const MIN_LOG_SPREAD = 0.05;
/**
 * Largest squared error one feature at one step may add to a window's score,
 * in units of that feature's normal error (6 normal errors; in models saved
 * before per-feature scaling, 6 robust standard deviations). p99 latency has
 * lone spikes in normal traffic; capped, one spike moves a 4-step × 7-feature
 * window (the live detector's) by at most 36/28 ≈ 1.3, under the least
 * threshold of 16/7 ≈ 2.3, while a sustained deviation adds up over the
 * window. It also bounds the threshold from above (see detector.ts).
 */
export const ERROR_CAP = 36;
const DAY = 86_400_000;
/**
 * Time-of-day centres to choose from, coarsest first: 2 h, 1 h and 30 min
 * bins, smoothed and read linearly between bin middles (a smooth rhythm), or
 * 30 min bins read as steps (a rhythm with edges, such as a nightly batch).
 */
interface BinChoice { bins: number; smooth: boolean; linear: boolean }
const TOD_BIN_CHOICES: BinChoice[] = [
  { bins: 12, smooth: true, linear: true }, { bins: 24, smooth: true, linear: true },
  { bins: 48, smooth: true, linear: true }, { bins: 48, smooth: false, linear: false },
];
/** Values a bin needs for its own median. */
const MIN_PER_BIN = 5;

const LABELS: Record<string, string> = {
  requests: 'request rate', error_rate: 'error rate', p50_ms: 'p50 latency', p99_ms: 'p99 latency',
  bytes_in_per_request: 'bytes in per request', bytes_out_per_request: 'bytes out per request',
  connections_per_request: 'active connections per request', retries_per_request: 'retries',
  denies_per_request: 'policy denies',
};

export interface ScaledFeature {
  name: string;
  label: string;
  log: boolean;
  offset: number;
  /** Robust centre per time-of-day bin (12, 24 or 48 bins, or 1 when no rhythm was learnt). */
  centre: number[];
  spread: number;
  /** A time of day reads its centre linearly between bin middles; else (and in older models) its bin's value. */
  linear?: boolean;
  /** Which deviations count: 'low' (only below normal), 'high', or 'both'. */
  side: Side;
}

export type Side = 'low' | 'high' | 'both';

/** A deviation (or reconstruction error) with its harmless side set to zero. */
export function oneSided(e: number, side: Side): number {
  return side === 'low' ? Math.min(0, e) : side === 'high' ? Math.max(0, e) : e;
}

export interface Scaler {
  version: 1;
  /** Columns the raw input must have, in this order. */
  inputNames: string[];
  features: ScaledFeature[];
  /** Whether the model sees the time of day (step 5); absent in models saved before it, which did. */
  timeOfDay?: boolean;
  /** Which columns step 1 divided by which; absent in models saved before it (exact rollup names then). */
  plan?: ColumnPlan;
}

export interface ScaledRows {
  /** rows × features; NaN where the input was missing. */
  values: number[][];
  /** [sin, cos] of the time of day per row. */
  tod: [number, number][];
}

export function featureLabel(name: string): string { return LABELS[name] ?? name.replace(/_/g, ' '); }

/** Step 1: derived column names and values, by `plan` (default: read from the names). */
export function deriveColumns(s: Series, plan: ColumnPlan = planColumns(s.names)): Series {
  const req = plan.requests === null ? -1 : s.names.indexOf(plan.requests);
  if (req < 0) return s;
  const ratio = s.names.map((n) => plan.perRequest.some((p) => p.name === n));
  const names = s.names.map((n, j) => (ratio[j] ? `${n}_per_request` : n));
  const rows = s.rows.map((r) => r.map((v, j) => (ratio[j] ? (r[req] > 0 ? v / r[req] : NaN) : v)));
  return { ts: s.ts, names, rows };
}

/** Which deviations of a derived column count (see the header): fewer requests, more connections per request. */
function sideOf(plan: ColumnPlan, inputName: string): Side {
  if (inputName === plan.requests) return 'low';
  return plan.perRequest.some((p) => p.name === inputName && p.kind === 'connections') ? 'high' : 'both';
}

/** A label for a derived column: the rollups' own wording, else the name's words. */
function labelOf(plan: ColumnPlan, inputName: string, name: string): string {
  return inputName === plan.requests && !(name in LABELS) ? 'request rate' : featureLabel(name);
}

const median = (xs: number[]) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const todBin = (ts: number, bins: number) => Math.floor((((ts % DAY) + DAY) % DAY) / (DAY / bins));
/** Centre of the time of day: linear between the middles of the bins, around the clock. */
function centreAt(centre: number[], ts: number, linear: boolean): number {
  const n = centre.length;
  if (!linear || n === 1) return centre[todBin(ts, n)];
  const pos = ((((ts % DAY) + DAY) % DAY) / DAY) * n - 0.5;
  const lo = Math.floor(pos), frac = pos - lo;
  return centre[(lo + n) % n] * (1 - frac) + centre[(lo + 1) % n] * frac;
}

/** Median per time-of-day bin (the overall median where a bin has too few values), optionally smoothed 1-2-1 around the clock. */
function binCentres(ts: number[], xs: number[], { bins, smooth }: BinChoice): number[] {
  if (bins === 1) return [median(xs)];
  const byBin: number[][] = Array.from({ length: bins }, () => []);
  xs.forEach((x, i) => byBin[todBin(ts[i], bins)].push(x));
  const global = median(xs);
  const raw = byBin.map((b) => (b.length >= MIN_PER_BIN ? median(b) : global));
  return smooth ? raw.map((c, b) => 0.25 * raw[(b + bins - 1) % bins] + 0.5 * c + 0.25 * raw[(b + 1) % bins]) : raw;
}

/**
 * How finely to follow the daily rhythm: the choice whose centres, learnt on
 * the even days of the baseline, best predict the odd days and the other way
 * round (mean absolute residual; the coarser choice wins ties within 1%).
 * Fine bins follow a sharp daily feature (a nightly batch) but, learnt from a
 * day or two, they also learn each day's slow wander as if it were the rhythm,
 * and then the next day is "anomalous" wherever it wanders differently. From
 * one day there is nothing to compare, and the coarsest choice is used.
 */
function chooseBins(ts: number[], xs: number[], days: number): BinChoice {
  if (days < 2) return TOD_BIN_CHOICES[0];
  const t0 = ts[0];
  const fold = ts.map((t) => Math.floor((t - t0) / DAY) % 2);
  const part = (k: number) => ({ ts: ts.filter((_, i) => fold[i] === k), xs: xs.filter((_, i) => fold[i] === k) });
  const [a, b] = [part(0), part(1)];
  const errs = TOD_BIN_CHOICES.map((c) => {
    const ca = binCentres(a.ts, a.xs, c), cb = binCentres(b.ts, b.xs, c);
    let sum = 0;
    b.xs.forEach((x, i) => { sum += Math.abs(x - centreAt(ca, b.ts[i], c.linear)); });
    a.xs.forEach((x, i) => { sum += Math.abs(x - centreAt(cb, a.ts[i], c.linear)); });
    return sum / xs.length;
  });
  const best = Math.min(...errs);
  return TOD_BIN_CHOICES[errs.findIndex((e) => e <= best * 1.01)];
}

export function fitScaler(train: Series): Scaler {
  const plan = planColumns(train.names);
  const d = deriveColumns(train, plan);
  const span = train.ts.length ? train.ts[train.ts.length - 1] - train.ts[0] + stepMs(train.ts) : 0;
  const days = span / DAY;
  const features = d.names.map((name, j): ScaledFeature => {
    const col = d.rows.map((r) => r[j]);
    const finite = col.filter(Number.isFinite);
    if (finite.length < 10) throw new Error(`feature ${name}: only ${finite.length} values in the training rows, need at least 10`);
    const log = finite.every((v) => v >= 0);
    const med = median(finite);
    const positive = finite.filter((v) => v > 0);
    const offset = !log ? 0 : med > 0 ? med / 2 : positive.length ? Math.max(1e-9, Math.min(...positive, 1)) : ALWAYS_ZERO_OFFSET;
    const tf = (v: number) => (log ? Math.log(v + offset) : v);
    const at = d.ts.filter((_, i) => Number.isFinite(col[i]));
    const xs = finite.map(tf);
    const choice = days >= 1 ? chooseBins(at, xs, days) : { bins: 1, smooth: false, linear: false };
    const centre = binCentres(at, xs, choice);
    const resid = xs.map((x, i) => x - centreAt(centre, at[i], choice.linear));
    const rc = median(resid);
    let spread = 1.4826 * median(resid.map((r) => Math.abs(r - rc)));
    if (!(spread > 1e-9)) spread = Math.sqrt(resid.reduce((a, r) => a + (r - rc) ** 2, 0) / resid.length) || 1;
    if (log) spread = Math.max(spread, MIN_LOG_SPREAD);
    const input = train.names[j];
    return { name, label: labelOf(plan, input, name), log, offset, centre, linear: choice.linear, spread, side: sideOf(plan, input) };
  });
  return { version: 1, inputNames: [...train.names], features, timeOfDay: span >= DAY, plan };
}

export function applyScaler(sc: Scaler, s: Series): ScaledRows {
  if (s.names.join(',') !== sc.inputNames.join(',')) {
    throw new Error(`columns ${s.names.join(',')} do not match the model's ${sc.inputNames.join(',')}`);
  }
  const d = deriveColumns(s, sc.plan ?? legacyPlan(sc.inputNames));
  const values = d.rows.map((r, i) => sc.features.map((f, j) => {
    const v = r[j];
    if (!Number.isFinite(v)) return NaN;
    const x = ((f.log ? Math.log(Math.max(0, v) + f.offset) : v) - centreAt(f.centre, d.ts[i], f.linear === true)) / f.spread;
    return Math.max(f.side === 'high' ? -ONE_SIDED_CAP : -CLIP, Math.min(f.side === 'low' ? ONE_SIDED_CAP : CLIP, x));
  }));
  const tod = d.ts.map((t): [number, number] => {
    if (sc.timeOfDay === false) return [0, 0];
    const a = (2 * Math.PI * (((t % DAY) + DAY) % DAY)) / DAY;
    return [Math.sin(a), Math.cos(a)];
  });
  return { values, tod };
}
