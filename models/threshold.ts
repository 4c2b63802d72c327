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
// If there are too few excesses to fit, we fall back to the highest score
// times a margin and say so in `method`.

export interface Threshold {
  value: number;
  method: 'pot' | 'max-margin';
  risk: number;
  u: number;
  shape: number;
  scale: number;
  excesses: number;
}

export interface ThresholdOptions { risk?: number; initialQuantile?: number }

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function potThreshold(scores: number[], opts: ThresholdOptions = {}): Threshold {
  const risk = opts.risk ?? 1e-5;
  const s = scores.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) throw new Error('threshold: no finite scores to learn from');
  const u = quantile(s, opts.initialQuantile ?? 0.98);
  const y = s.filter((v) => v > u).map((v) => v - u);
  const k = y.length;
  if (k < 10) {
    return { value: s[s.length - 1] * 1.5, method: 'max-margin', risk, u, shape: 0, scale: 0, excesses: k };
  }
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
