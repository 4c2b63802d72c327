import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDetector, saveDetector, trainDetector, type Detector } from './detector.ts';
import { alertFlags } from './hysteresis.ts';
import { spansOf } from './metrics.ts';
import { seededRandom } from './random.ts';
import { sliceSeries, type Series } from './series.ts';

// Two hours of 10-second rows of three noisy features; rows 900..959 of the
// scored part carry an injected latency regression (+1.0 in log ≈ ×2.7).
function tinySeries(): { s: Series; trainRows: number; anomaly: [number, number] } {
  const rng = seededRandom(11);
  const ts: number[] = [], rows: number[][] = [];
  for (let i = 0; i < 1200; i++) {
    ts.push(Date.UTC(2026, 0, 5) + i * 10_000);
    const wave = Math.sin(i / 40);
    rows.push([100 * Math.exp(0.1 * wave + 0.05 * rng.normal()), 20 * Math.exp(0.05 * rng.normal()), 0.01 + 0.002 * rng.normal()]);
  }
  for (let i = 900; i < 960; i++) rows[i][1] *= Math.E;
  return { s: { ts, names: ['requests', 'p50_ms', 'error_rate'], rows }, trainRows: 720, anomaly: [900, 960] };
}

const tiny = { window: 6, units: 4, stride: 2, epochs: 3, patience: 2, subject: 'cart → payments' };

let trained: Detector | undefined;
async function detector(): Promise<{ det: Detector; s: Series; trainRows: number; anomaly: [number, number] }> {
  const t = tinySeries();
  trained ??= await trainDetector(sliceSeries(t.s, 0, t.trainRows), tiny);
  return { det: trained, ...t };
}

test('a tiny autoencoder flags an injected latency regression, names p50 latency, and stays quiet on the clean rows', async () => {
  const { det, s, trainRows, anomaly } = await detector();
  const { scores, contributions } = det.scoreSeries(s);
  const open = alertFlags(scores.slice(trainRows), det.threshold, det.meta.hysteresis);
  const spans = spansOf(open).map((a) => ({ start: a.start + trainRows, end: a.end + trainRows }));
  assert.equal(spans.length, 1, `alerts: ${JSON.stringify(spans)}, threshold ${det.threshold}`);
  assert.ok(spans[0].start >= anomaly[0] && spans[0].start < anomaly[0] + 12, `opens at ${spans[0].start}`);
  const top = det.topFeatures(contributions[spans[0].start]);
  assert.equal(top[0].name, 'p50_ms');
  assert.equal(det.explain(top.slice(0, 1)), 'p50 latency on cart → payments');
});

test('a saved detector loads from its directory and scores a window exactly as before', async () => {
  const { det, s } = await detector();
  const dir = await mkdtemp(join(tmpdir(), 'meshlens-detector-'));
  try {
    await saveDetector(dir, det);
    assert.deepEqual((await readdir(dir)).sort(), ['detector.json', 'model.json', 'weights.bin']);
    const again = await loadDetector(dir);
    assert.equal(again.threshold, det.threshold);
    assert.deepEqual(again.meta.featureNames, ['requests', 'p50_ms', 'error_rate']);
    const window = sliceSeries(s, 930 - 6, 930);
    const a = det.score(window), b = again.score(window);
    assert.equal(b.score, a.score);
    assert.equal(a.above, true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('scoring one window in plain JavaScript agrees with tensorflow.js batch scoring of the same window', async () => {
  const { det, s } = await detector();
  const { scores } = det.scoreSeries(s);
  for (const end of [730, 905, 1100]) {
    const one = det.score(sliceSeries(s, end - 5, end + 1));
    assert.ok(Math.abs(one.score - scores[end]) <= 1e-4 * Math.max(1, scores[end]), `row ${end}: ${one.score} vs ${scores[end]}`);
  }
});

test('training refuses a series too short to hold twenty windows, saying how many rows it needs', async () => {
  const { s } = tinySeries();
  await assert.rejects(trainDetector(sliceSeries(s, 0, 50), tiny), /need at least 120 rows/);
});

test('the alert tracker turns an incident into one alert that opens with an explanation and then resolves', async () => {
  const { AlertTracker } = await import('./alerts.ts');
  const { det, s } = await detector();
  const tracker = new AlertTracker(det);
  const seen = [];
  for (let end = 720; end < 1200; end++) {
    const a = tracker.push(det.score(sliceSeries(s, end - 5, end + 1)));
    if (a) seen.push(a);
  }
  assert.deepEqual(seen.map((a) => a.state), ['open', 'resolved']);
  assert.match(seen[0].summary, /^p50 latency.* on cart → payments$/);
  assert.ok(seen[0].score > seen[0].threshold);
  assert.deepEqual(tracker.stats(), { scored: 480, opened: 1, resolved: 1, skipped: 0 });
});
