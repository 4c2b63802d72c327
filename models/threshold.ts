// Alert threshold from the tail of normal scores: peaks over threshold (POT).
//
// Why POT and not a plain quantile: we want a threshold exceeded by normal
// traffic about once in 1/risk windows (risk 1e-4 = once per ~28 hours of
// 10-second steps; the default 1e-5 is ten times rarer because neighbouring
// windows overlap, so exceedances come in clusters), which is far beyond what a couple of days of validation
// windows can show as an empirical quantile. Extreme value theory says the
// excesses over a high level u follow a generalised Pareto distribution
// (Pickands–Balkema–de Haan), so we fit GPD(shape γ, scale σ) to the excesses
// over the `initialQuantile` and extrapolate (Siffer et al., KDD 2017, "SPOT"):
//     z = u + σ/γ · ((risk · n / k)^(−γ) − 1)      (z = u − σ·ln(risk·n/k) when γ → 0)
// with n scores and k excesses. The fit is by probability-weighted moments
// (Hosking & Wallis 1987), closed form and stable for the small k we have.
// Too few excesses over that quantile to fit a shape (fewer than 10: under
// ~500 validation windows, e.g. the live detector's 20-minute first
// baseline): lower u to the median and fit the GPD's γ → 0 limit, an
// exponential tail, whose one parameter the mean excess estimates (maximum
// likelihood) from half the scores:
//     z = u + σ · ln(k / (risk · n))
// Measured live: from 15-minute baselines the old fallback, the highest of
// ~20 validation scores × 1.5, put thresholds at 0.8-1.4 and ordinary
// p99 noise (scores 1.1-1.9) opened alerts on 8 of 10 subjects within a
// minute; the demo's faults score far higher. With fewer than 5 excesses
// even for that, the highest score × 1.5 remains, and `method` says which.

export interface Threshold {
  value: number;
  method: 'pot' | 'pot-exponential' | 'max-margin';
  risk: number;
  u: number;
  shape: number;
  scale: number;
  excesses: number;
  /** The fitted value when `least` raised it or `most` lowered it (absent otherwise). */
  learnt?: number;
}

export interface ThresholdOptions {
  risk?: number;
  initialQuantile?: number;
  /**
   * Lowest threshold allowed, whatever the fit says. A short, steady baseline
   * (the live detector's first 15 minutes) gives a thin tail and a threshold
   * barely above normal scores, which the next hour's ordinary drift crosses.
   */
  least?: number;
  /** Highest threshold allowed: a window every detector must call an incident scores above it. */
  most?: number;
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function potThreshold(scores: number[], opts: ThresholdOptions = {}): Threshold {
  const t = fitThreshold(scores, opts);
  const value = Math.min(opts.most ?? Infinity, Math.max(opts.least ?? -Infinity, t.value));
  return value === t.value ? t : { ...t, value, learnt: t.value };
}

function fitThreshold(scores: number[], opts: ThresholdOptions): Threshold {
  const risk = opts.risk ?? 1e-5;
  const s = scores.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) throw new Error('threshold: no finite scores to learn from');
  const u = quantile(s, opts.initialQuantile ?? 0.98);
  const y = s.filter((v) => v > u).map((v) => v - u);
  const k = y.length;
  if (k < 10) return smallSampleThreshold(s, risk);
  // Probability-weighted moments of the (ascending) excesses.
  const b0 = y.reduce((a, v) => a + v, 0) / k;
  let b1 = 0;
  for (let i = 0; i < k; i++) b1 += ((k - 1 - i) / (k - 1)) * y[i];
  b1 /= k; // estimates E[Y·(1 − F(Y))]
  // Hosking–Wallis: k = b0/(b0 − 2·b1) − 2, σ = 2·b0·b1/(b0 − 2·b1), and γ = −k in our convention.
  // Clamp γ: a tail heavier than 0.5 in clean validation data means contamination, not physics.
  const shape = Math.min(0.5, Math.max(-0.5, 2 - b0 / (b0 - 2 * b1)));
  const scale = Math.max(1e-12, (2 * b0 * b1) / (b0 - 2 * b1));
  const r = (risk * s.length) / k;
  const value = Math.abs(shape) < 1e-6 ? u - scale * Math.log(r) : u + (scale / shape) * (Math.pow(r, -shape) - 1);
  // A fitted bounded tail (γ < 0) can end below scores we have seen; when the
  // risk asked for is rarer than one in n, no seen normal score may exceed it.
  const floor = risk < 1 / s.length ? s[s.length - 1] : u;
  return { value: Math.max(value, floor), method: 'pot', risk, u, shape, scale, excesses: k };
}

/** The threshold for few scores (see the header): an exponential tail over the median, never below the highest score. */
function smallSampleThreshold(s: number[], risk: number): Threshold {
  const u = quantile(s, 0.5);
  const y = s.filter((v) => v > u).map((v) => v - u);
  const k = y.length;
  if (k < 5) return { value: s[s.length - 1] * 1.5, method: 'max-margin', risk, u, shape: 0, scale: 0, excesses: k };
  const scale = Math.max(1e-12, y.reduce((a, v) => a + v, 0) / k);
  const value = u + scale * Math.log(k / (risk * s.length));
  return { value: Math.max(value, s[s.length - 1]), method: 'pot-exponential', risk, u, shape: 0, scale, excesses: k };
}
