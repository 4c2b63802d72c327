import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyScaler, CLIP, deriveColumns, fitScaler, MIN_LOG_SPREAD, ONE_SIDED_CAP } from './features.ts';
import { seededRandom } from './random.ts';
import type { Series } from './series.ts';

const DAY = 86_400_000;

// Two days of 10-second rows whose request rate swings ×4 between night and day.
function rhythm(): Series {
  const rng = seededRandom(5);
  const ts: number[] = [], rows: number[][] = [];
  for (let i = 0; i < 2 * 8640; i++) {
    const t = Date.UTC(2026, 0, 5) + i * 10_000;
    const day = 0.625 + 0.375 * Math.sin((2 * Math.PI * t) / DAY);
    const req = 100 * day * Math.exp(0.05 * rng.normal());
    ts.push(t);
    rows.push([req, req * 500 * Math.exp(0.05 * rng.normal()), 30 * Math.exp(0.1 * rng.normal())]);
  }
  return { ts, names: ['requests', 'bytes_out', 'p99_ms'], rows };
}

test('the daily rhythm is normal: scaled request rate stays near zero at both the daily peak and the trough', () => {
  const s = rhythm();
  const x = applyScaler(fitScaler(s), s);
  const peak = Math.round(8640 / 4), trough = Math.round((3 * 8640) / 4);
  const mean = (from: number) => x.values.slice(from - 30, from + 30).reduce((a, r) => a + r[0], 0) / 60;
  assert.ok(Math.abs(mean(peak)) < 0.5, `peak ${mean(peak)}`);
  assert.ok(Math.abs(mean(trough)) < 0.5, `trough ${mean(trough)}`);
});

test('volumes become per-request ratios, so bytes out that follow the request rate look normal', () => {
  const d = deriveColumns(rhythm());
  assert.deepEqual(d.names, ['requests', 'bytes_out_per_request', 'p99_ms']);
  assert.ok(Math.abs(d.rows[100][1] / 500 - 1) < 0.3);
});

test('heavy tails are clipped, traffic above normal is capped, and gaps stay gaps', () => {
  const s = rhythm();
  const sc = fitScaler(s);
  const probe: Series = { ts: [s.ts[0], s.ts[1], s.ts[2]], names: s.names, rows: [[1e6, 1e9, 1e7], [NaN, NaN, NaN], [1, 500, 30]] };
  const x = applyScaler(sc, probe);
  assert.equal(x.values[0][0], ONE_SIDED_CAP); // a flash of traffic is not a fault on its own
  assert.equal(x.values[0][2], CLIP); // a p99 of 10^7 ms is far out, but bounded
  assert.ok(x.values[1].every(Number.isNaN));
  assert.ok(x.values[2][0] < -5, `a traffic drop to 1 req/s scores ${x.values[2][0]}`);
});

test('scaling rejects columns that differ from the ones it was fitted on', () => {
  const s = rhythm();
  const sc = fitScaler(s);
  assert.throws(() => applyScaler(sc, { ...s, names: ['requests', 'p99_ms', 'bytes_out'] }), /do not match/);
});

test('the model sees the time of day only when the baseline covers a day: a 20-minute baseline gives a constant input, a saved scaler without the flag keeps the clock', () => {
  const s = rhythm();
  const day = fitScaler(s);
  assert.equal(day.timeOfDay, true);
  const later = { ...s, ts: s.ts.slice(0, 500).map((t) => t + DAY / 3), rows: s.rows.slice(0, 500) };
  const withClock = applyScaler(day, later).tod;
  assert.ok(new Set(withClock.map(([a]) => a.toFixed(3))).size > 100, 'sin of the clock varies');
  const short = { ...s, ts: s.ts.slice(0, 120), rows: s.rows.slice(0, 120) }; // 20 minutes
  const sc = fitScaler(short);
  assert.equal(sc.timeOfDay, false);
  assert.ok(applyScaler(sc, later).tod.every(([a, b]) => a === 0 && b === 0), 'constant hours after the baseline');
  const { timeOfDay: _, ...saved } = sc; // a model saved before the flag existed
  assert.deepEqual(applyScaler(saved, later).tod, withClock);
});

test('an error rate that was zero all through training is far out at 50% and clearly out at 1%; a steady p50 needs more than a few percent to move one spread', () => {
  const rng = seededRandom(6);
  const ts: number[] = [], rows: number[][] = [];
  for (let i = 0; i < 120; i++) {
    ts.push(Date.UTC(2026, 0, 5) + i * 10_000);
    rows.push([100 * Math.exp(0.03 * rng.normal()), 0, 4 * Math.exp(0.005 * rng.normal())]);
  }
  const train: Series = { ts, names: ['requests', 'error_rate', 'p50_ms'], rows };
  const sc = fitScaler(train);
  assert.equal(sc.features[2].spread, MIN_LOG_SPREAD, 'a p50 this steady gets the floor, not its own tiny MAD');
  const probe: Series = { ts: ts.slice(0, 3), names: train.names, rows: [[100, 0.5, 4], [100, 0.01, 4], [100, 0, 4 * 1.07]] };
  const x = applyScaler(sc, probe).values;
  assert.ok(x[0][1] > 6, `50% errors: ${x[0][1]} spreads (was 0.4 with an offset of 1)`);
  assert.ok(x[1][1] > 2, `1% errors: ${x[1][1]}`);
  assert.ok(x[2][2] > 0.5 && x[2][2] < 2, `p50 +7%: ${x[2][2]} spreads`);
});

// Days of 1-minute rows: a smooth daily curve with a slow wander of demand
// (half-hour memory, a different path each day) and a nightly batch job that
// doubles p50 from 02:00 to 02:30.
function wanderAndBatch(days: number, seed: number): Series {
  const rng = seededRandom(seed);
  const ts: number[] = [], rows: number[][] = [];
  let walk = 0;
  for (let i = 0; i < days * 1440; i++) {
    const t = Date.UTC(2026, 0, 5) + i * 60_000;
    walk = 0.97 * walk + 0.04 * rng.normal();
    const req = 100 * (0.625 + 0.375 * Math.sin((2 * Math.PI * t) / DAY)) * Math.exp(walk + 0.02 * rng.normal());
    const minute = (t % DAY) / 60_000;
    const p50 = 20 * (minute >= 120 && minute < 150 ? 2 : 1) * Math.exp(0.03 * rng.normal());
    ts.push(t);
    rows.push([req, p50]);
  }
  return { ts, names: ['requests', 'p50_ms'], rows };
}

test('the rhythm is followed as finely as another day confirms: 30-min bins for a nightly batch, coarse ones for a wandering demand', () => {
  const sc = fitScaler(wanderAndBatch(4, 11));
  const bins = Object.fromEntries(sc.features.map((f) => [f.name, f.centre.length]));
  assert.equal(bins.p50_ms, 48, 'the 30-minute batch needs 30-minute bins');
  assert.equal(bins.requests, 12, 'the demand wander is not learnt as rhythm');
  // The next day, the batch is normal and so is a different wander.
  const next = wanderAndBatch(5, 12);
  const x = applyScaler(sc, { ...next, ts: next.ts.slice(4 * 1440), rows: next.rows.slice(4 * 1440) });
  const batch = x.values.slice(120, 150).map((r) => Math.abs(r[1])).sort((p, q) => p - q);
  assert.ok(batch[15] < 2, `batch p50 a median ${batch[15].toFixed(2)} spreads from normal`);
  const far = x.values.filter((r) => r[0] < -4).length;
  assert.ok(far < 1440 * 0.01, `${far} minutes of the next day's demand more than 4 spreads low`);
});

test('from one day the rhythm is learnt in 2-hour bins: one day cannot tell its wander from the rhythm', () => {
  const sc = fitScaler(wanderAndBatch(1, 13));
  assert.deepEqual(sc.features.map((f) => f.centre.length), [12, 12]);
  assert.equal(fitScaler(wanderAndBatch(0.5, 13)).features[0].centre.length, 1, 'under a day: one centre');
});

test('columns named by another exporter get the same treatment: tx_bytes per rps, and only a drop of rps counts', () => {
  const s = rhythm();
  const renamed: Series = { ...s, names: ['rps', 'tx_bytes', 'latency_p99'] };
  const sc = fitScaler(renamed);
  assert.deepEqual(sc.features.map((f) => [f.name, f.label, f.side]), [
    ['rps', 'request rate', 'low'], ['tx_bytes_per_request', 'tx bytes per request', 'both'], ['latency_p99', 'latency p99', 'both'],
  ]);
  // A flash crowd: three times the requests, each with its usual bytes.
  const crowd: Series = { ...renamed, rows: renamed.rows.map((r) => [r[0] * 3, r[1] * 3, r[2]]) };
  const x = applyScaler(sc, crowd).values.slice(1000, 1100);
  assert.ok(x.every((r) => Math.abs(r[1]) < 4), 'bytes per request stay normal');
  assert.ok(x.every((r) => r[0] <= ONE_SIDED_CAP), 'more requests are capped as harmless');
});
