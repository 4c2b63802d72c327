import { test } from 'node:test';
import assert from 'node:assert/strict';
import { potThreshold } from './threshold.ts';
import { alertFlags } from './hysteresis.ts';
import { spansOf } from './metrics.ts';
import { seededRandom } from './random.ts';

test('POT threshold extrapolates an exponential tail to the 1e-4 quantile (−ln 1e-4 ≈ 9.2)', () => {
  const rng = seededRandom(7);
  const scores = Array.from({ length: 20_000 }, () => -Math.log(1 - rng.next()));
  const t = potThreshold(scores, { risk: 1e-4 });
  assert.equal(t.method, 'pot');
  assert.ok(Math.abs(t.shape) < 0.15, `shape ${t.shape}`);
  assert.ok(t.value > 8 && t.value < 11, `threshold ${t.value}`);
});

test('POT threshold grows as the accepted risk shrinks and stays above the largest normal score for tiny risk', () => {
  const rng = seededRandom(8);
  const scores = Array.from({ length: 5_000 }, () => rng.normal() ** 2);
  const a = potThreshold(scores, { risk: 1e-3 }).value;
  const b = potThreshold(scores, { risk: 1e-5 }).value;
  assert.ok(b > a, `${b} > ${a}`);
  assert.ok(b > Math.max(...scores), `${b} above max ${Math.max(...scores)}`);
});

test('from few scores (a 15-minute baseline) the threshold is an exponential tail over the median: near the 1e-5 quantile of exponential scores, far above the highest one seen', () => {
  const rng = seededRandom(9);
  // 24 validation windows: too few excesses over the 98% quantile to fit a shape.
  const trials = Array.from({ length: 200 }, () => {
    const scores = Array.from({ length: 24 }, () => 0.3 - 0.2 * Math.log(1 - rng.next())); // 0.3 + Exp(mean 0.2)
    return { t: potThreshold(scores, { risk: 1e-5 }), max: Math.max(...scores) };
  });
  assert.ok(trials.every(({ t }) => t.method === 'pot-exponential'), trials[0].t.method);
  // The true 1e-5 quantile is 0.3 + 0.2·ln(1e5) ≈ 2.60; the old fallback (max × 1.5) was ~1.1.
  const values = trials.map(({ t }) => t.value).sort((a, b) => a - b);
  const med = values[100];
  assert.ok(med > 2.0 && med < 3.2, `median threshold ${med}`);
  assert.ok(trials.every(({ t, max }) => t.value >= max), 'never below a score seen');
  assert.ok(values[100] > 1.5 * trials.map((x) => x.max).sort((a, b) => a - b)[100], 'well above the old max × 1.5');
  const tiny = potThreshold([0.5, 0.6, 0.7], { risk: 1e-5 });
  assert.deepEqual([tiny.method, Number(tiny.value.toFixed(2))], ['max-margin', 1.05], 'fewer than 5 excesses: highest × 1.5');
});

test('a least value raises a lower fitted threshold and keeps the fitted one in `learnt`; a higher fitted threshold is left alone; a most value lowers a higher one', () => {
  const rng = seededRandom(10);
  const scores = Array.from({ length: 24 }, () => 0.3 - 0.05 * Math.log(1 - rng.next()));
  const fitted = potThreshold(scores, { risk: 1e-5 });
  const raised = potThreshold(scores, { risk: 1e-5, least: 2 });
  assert.ok(fitted.value < 2, `fitted ${fitted.value}`);
  assert.deepEqual([raised.value, raised.learnt, raised.method], [2, fitted.value, fitted.method]);
  const kept = potThreshold(scores, { risk: 1e-5, least: fitted.value / 2 });
  assert.deepEqual(kept, fitted, 'no learnt field when the floor did not apply');
  const lowered = potThreshold(scores, { risk: 1e-5, most: fitted.value / 2 });
  assert.deepEqual([lowered.value, lowered.learnt], [fitted.value / 2, fitted.value], 'most lowers a higher fit');
});

test('hysteresis makes a flickering incident one alert and ignores a single spike and gaps', () => {
  const s = new Array(200).fill(0.1);
  s[10] = 5; // lone spike: openAfter 2 keeps it quiet
  for (let i = 50; i < 100; i++) s[i] = i % 3 === 0 ? 0.9 : 2; // flickers around threshold 1
  s[120] = NaN;
  const spans = spansOf(alertFlags(s, 1, { openAfter: 2, closeAfter: 10, closeRatio: 0.8 }));
  assert.equal(spans.length, 1);
  // Step 51 is 0.9 (51 % 3 = 0), so the first two consecutive highs are 52 and 53: it opens at 53.
  assert.equal(spans[0].start, 53);
  assert.ok(spans[0].end > 100 && spans[0].end <= 111);
});
