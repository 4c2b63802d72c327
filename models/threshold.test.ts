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
