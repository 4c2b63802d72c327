// The canary judge: is the new version of a service worse than the old one,
// over the same windows? It reads the per-version rollups of the buckets
// since the rollout's current step began, keeps the buckets in which both
// versions had traffic (so both saw the same load, time of day, faults
// downstream), and runs two tests that stay honest at low traffic:
//
// - errors: Fisher's exact test, one-sided (is the canary's share of errors
//   larger than chance would give, with these totals?). Exact at any count,
//   so 3 errors in 40 requests is judged as it is, not through a normal
//   approximation that needs hundreds.
// - latency: a sign test over the paired buckets (in how many was the
//   canary's p50 clearly slower?), and, for a slowdown too large to wait
//   for many buckets, a quantile test within one: if the canary's p50 is
//   above the baseline's p99, at least half its n requests were slower than
//   99% of the baseline's, which under "no difference" has binomial
//   probability P(Bin(n, 0.01) >= n/2) (Bonferroni over the buckets). Both
//   with a size bound, so a significant but trivial slowdown never halts a
//   rollout.
// - alerts: an anomaly alert on the service (or an edge into it) opened
//   since the step began counts against the canary when its own figures are
//   worse than the baseline's at all.
//
// Too little canary traffic is "inconclusive": the rollout waits, it never
// advances on silence.

import type { JudgeVerdict } from './contract.ts';

export interface VersionBucket { bucket: number; version: string; requests: number; errors: number; p50_ms: number; p99_ms: number }

export interface JudgeOptions {
  /** Canary requests needed before any verdict but "inconclusive". */
  minRequests: number;
  /** One-sided p-value below which a difference counts. */
  alpha: number;
  /** Error rates closer than this are never "worse", however significant. */
  minErrorDelta: number;
  /** A bucket is "slower" when canary p50 > baseline p50 × (1 + tolerance) + slack ms. */
  latencyTolerance: number;
  latencySlackMs: number;
}

export const DEFAULT_JUDGE: JudgeOptions = { minRequests: 20, alpha: 0.01, minErrorDelta: 0.01, latencyTolerance: 0.2, latencySlackMs: 5 };

export function judgeCanary(
  rows: VersionBucket[], from: string, to: string, alertsSinceStep: { id: string; subject: string }[], o: JudgeOptions = DEFAULT_JUDGE,
): JudgeVerdict {
  const byBucket = new Map<number, { base?: VersionBucket; canary?: VersionBucket }>();
  for (const r of rows) {
    if (r.version !== from && r.version !== to) continue;
    const e = byBucket.get(r.bucket) ?? {};
    if (r.version === from) e.base = r; else e.canary = r;
    byBucket.set(r.bucket, e);
  }
  const pairs = [...byBucket.values()].filter((e) => e.base && e.base.requests > 0 && e.canary && e.canary.requests > 0) as { base: VersionBucket; canary: VersionBucket }[];
  const base = summarise(from, pairs.map((p) => p.base));
  const canary = summarise(to, pairs.map((p) => p.canary));
  const out = (verdict: JudgeVerdict['verdict'], reasons: string[]): JudgeVerdict => ({ verdict, reasons, baseline: base, canary, windows: pairs.length });
  if (canary.requests < o.minRequests) {
    return out('inconclusive', [`${to} had ${canary.requests} requests in ${pairs.length} windows shared with ${from}; the judge needs ${o.minRequests}`]);
  }
  const reasons: string[] = [];
  let bad = false;
  const cRate = canary.errors / canary.requests;
  const bRate = base.requests ? base.errors / base.requests : 0;
  const pErr = fisherGreater(canary.errors, canary.requests, base.errors, base.requests);
  const errWorse = pErr < o.alpha && cRate - bRate >= o.minErrorDelta;
  reasons.push(`errors: ${to} ${pct(cRate)} (${canary.errors}/${canary.requests}) vs ${from} ${pct(bRate)} (${base.errors}/${base.requests}), Fisher one-sided p=${fmtP(pErr)}${errWorse ? ': worse' : ''}`);
  bad ||= errWorse;
  const slower = pairs.filter((p) => p.canary.p50_ms > p.base.p50_ms * (1 + o.latencyTolerance) + o.latencySlackMs).length;
  const pLat = signTestGreater(slower, pairs.length);
  const beyond = pairs.filter((p) => p.canary.p50_ms > p.base.p99_ms);
  const pTail = Math.min(1, pairs.length * Math.min(1, ...beyond.map((p) => binomialTail(p.canary.requests, Math.ceil(p.canary.requests / 2), 0.01))));
  const latWorse = (pLat < o.alpha * 5 || pTail < o.alpha) && canary.p50_ms > base.p50_ms * (1 + o.latencyTolerance) + o.latencySlackMs;
  reasons.push(`latency: p50 ${to} ${canary.p50_ms.toFixed(1)} ms vs ${from} ${base.p50_ms.toFixed(1)} ms, p99 ${canary.p99_ms.toFixed(1)} vs ${base.p99_ms.toFixed(1)} ms; slower in ${slower} of ${pairs.length} windows, sign test p=${fmtP(pLat)}` +
    (beyond.length ? `; ${to}'s p50 above ${from}'s p99 in ${beyond.length}, binomial p=${fmtP(pTail)}` : '') + (latWorse ? ': worse' : ''));
  bad ||= latWorse;
  if (alertsSinceStep.length > 0) {
    const worseAtAll = cRate > bRate || canary.p50_ms > base.p50_ms;
    reasons.push(`alerts since the step began: ${alertsSinceStep.map((a) => `${a.id} (${a.subject})`).join(', ')}${worseAtAll ? `, and ${to}'s own figures are worse: counts against it` : `, but ${to}'s own figures are not worse`}`);
    bad ||= worseAtAll;
  }
  return out(bad ? 'unhealthy' : 'healthy', reasons);
}

function summarise(version: string, rows: VersionBucket[]): JudgeVerdict['baseline'] {
  const requests = rows.reduce((n, r) => n + r.requests, 0);
  const w = (f: (r: VersionBucket) => number) => (requests ? rows.reduce((n, r) => n + f(r) * r.requests, 0) / requests : 0);
  return { version, requests, errors: rows.reduce((n, r) => n + r.errors, 0), p50_ms: w((r) => r.p50_ms), p99_ms: w((r) => r.p99_ms) };
}

/**
 * P(X >= a) for X hypergeometric: `a` errors among the canary's `n1`
 * requests, given `a + b` errors in `n1 + n2` requests (one-sided Fisher).
 */
export function fisherGreater(a: number, n1: number, b: number, n2: number): number {
  const k = a + b;
  const n = n1 + n2;
  if (n1 === 0 || k === 0) return 1;
  const logC = (x: number, y: number) => lnFact(x) - lnFact(y) - lnFact(x - y);
  const denom = logC(n, n1);
  let p = 0;
  for (let x = a; x <= Math.min(k, n1); x++) p += Math.exp(logC(k, x) + logC(n - k, n1 - x) - denom);
  return Math.min(1, p);
}

/** P(X >= k) for X binomial(n, 1/2): k of n paired windows went the canary's worse way. */
export function signTestGreater(k: number, n: number): number {
  if (n === 0) return 1;
  let p = 0;
  for (let x = k; x <= n; x++) p += Math.exp(lnFact(n) - lnFact(x) - lnFact(n - x) - n * Math.LN2);
  return Math.min(1, p);
}

/** P(X >= k) for X binomial(n, q). */
export function binomialTail(n: number, k: number, q: number): number {
  if (k <= 0) return 1;
  let p = 0;
  for (let x = k; x <= n; x++) p += Math.exp(lnFact(n) - lnFact(x) - lnFact(n - x) + x * Math.log(q) + (n - x) * Math.log1p(-q));
  return Math.min(1, p);
}

const factCache: number[] = [0];
function lnFact(n: number): number {
  for (let i = factCache.length; i <= n; i++) factCache[i] = factCache[i - 1] + Math.log(i);
  return factCache[n];
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const fmtP = (p: number) => (p < 0.0001 ? p.toExponential(1) : p.toFixed(4));
