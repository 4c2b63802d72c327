// The live detector learns from a short baseline (15-20 minutes) of a demo
// service whose columns are very unlike each other: a p99 that flips between
// two levels, a steady p50, a near-zero error rate, a constant response size.
// These tests build that shape (modelled on the demo's catalog service) and
// check what an operator needs from it: a quiet column that breaks alone is
// an alert even beside a noisy one, and a few percent of drift in a steady
// column is not.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LEAST_FEATURE_UNITS, MOST_FEATURE_UNITS, trainDetector, type Detector } from './detector.ts';
import { alertFlags } from './hysteresis.ts';
import { spansOf } from './metrics.ts';
import { seededRandom, type Random } from './random.ts';
import { sliceSeries, type Series } from './series.ts';

const NAMES = ['requests', 'error_rate', 'p50_ms', 'p99_ms', 'bytes_in', 'bytes_out', 'retries'];
const BASELINE = 90; // 15 minutes of 10 s rows, as `--model-warmup-min 15`
const OUTAGE: [number, number] = [150, 168]; // 3 minutes: error rate 100%, nothing else moves
const DRIFT: [number, number] = [230, 290]; // 10 minutes: p50 7% higher

function poisson(rng: Random, mean: number): number {
  let k = 0, p = Math.exp(-mean), s = p;
  const u = rng.next();
  while (u > s) { k++; p *= mean / k; s += p; }
  return k;
}

function catalogLike(seed: number): Series {
  const rng = seededRandom(seed);
  const ts: number[] = [], rows: number[][] = [];
  for (let i = 0; i < 320; i++) {
    ts.push(Date.UTC(2026, 10, 29, 7, 30) + i * 10_000);
    const req = Math.round(860 * Math.exp(0.03 * rng.normal()));
    // 1% of requests take +120 ms, so the bucket's p99 is ~120 ms when at least 1% were slow, ~20 ms when not.
    const p99 = poisson(rng, 0.01 * req) >= Math.ceil(0.01 * req) ? 122 * Math.exp(0.01 * rng.normal()) : 20 * Math.exp(0.2 * rng.normal());
    let errors = poisson(rng, 0.002 * req);
    let p50 = 5 * Math.exp(0.01 * rng.normal());
    if (i >= OUTAGE[0] && i < OUTAGE[1]) errors = req;
    if (i >= DRIFT[0] && i < DRIFT[1]) p50 *= 1.07;
    rows.push([req, errors / req, p50, p99, 0, 34 * req, 0]);
  }
  return { ts, names: NAMES, rows };
}

const live = { window: 4, units: 16, stride: 1, epochs: 15, patience: 2, seed: 1, subject: 'catalog' };

async function alertsOn(seed: number): Promise<{ det: Detector; spans: { start: number; end: number }[]; s: Series; scores: number[] }> {
  const s = catalogLike(seed);
  const det = await trainDetector(sliceSeries(s, 0, BASELINE), live);
  const { scores } = det.scoreSeries(s);
  const open = alertFlags(scores.slice(BASELINE), det.threshold, det.meta.hysteresis);
  return { det, s, scores, spans: spansOf(open).map((a) => ({ start: a.start + BASELINE, end: a.end + BASELINE })) };
}

for (const seed of [1, 2]) {
  test(`seed ${seed}: beside a p99 that flips between two levels, an error rate going to 100% alone opens one alert, explained by the error rate; a 7% rise of a steady p50 opens none`, async () => {
    const { det, spans, scores } = await alertsOn(seed);
    const inside = spans.filter((a) => a.start >= OUTAGE[0] && a.start < OUTAGE[1]);
    assert.equal(inside.length, 1, `alerts ${JSON.stringify(spans)}, threshold ${det.threshold.toFixed(2)}, outage scores ${scores.slice(...OUTAGE).map((v) => v.toFixed(1))}`);
    assert.deepEqual(spans.filter((a) => a !== inside[0]), [], 'no other alert: not before the outage, not on the p50 drift');
    const { contributions } = det.scoreSeries(catalogLike(seed));
    assert.equal(det.topFeatures(contributions[inside[0].start])[0].name, 'error_rate');
  });
}

test('a threshold from a short baseline stays between one feature 4 normal errors out and one feature at the cap, for a whole window', async () => {
  const { det } = await alertsOn(1);
  const F = det.meta.featureNames.length;
  assert.ok(det.threshold >= LEAST_FEATURE_UNITS / F - 1e-12 && det.threshold <= MOST_FEATURE_UNITS / F + 1e-12, `threshold ${det.threshold}`);
  assert.equal(det.meta.errorScale?.length, F, 'normal error per feature is saved with the model');
  assert.ok(det.meta.errorScale!.every((e) => e >= 0.5), `error scales ${det.meta.errorScale}`);
});
