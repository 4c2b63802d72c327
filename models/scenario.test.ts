import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateScenario, INCIDENT_KINDS, ROLLUP_FEATURES } from './scenario.ts';

test('a scenario is reproducible from its seed and differs between seeds', () => {
  const a = generateScenario({ seed: 9, trainDays: 0.2, testDays: 0.5 });
  const b = generateScenario({ seed: 9, trainDays: 0.2, testDays: 0.5 });
  const c = generateScenario({ seed: 10, trainDays: 0.2, testDays: 0.5 });
  assert.deepEqual(a.series.rows[500], b.series.rows[500]);
  assert.deepEqual(a.incidents, b.incidents);
  assert.notDeepEqual(a.series.rows[500], c.series.rows[500]);
});

test('the scored part holds every incident kind once and two benign flash crowds, none overlapping and none in training', () => {
  const s = generateScenario({ seed: 4 });
  assert.deepEqual(s.series.names, [...ROLLUP_FEATURES]);
  assert.equal(s.series.rows.length, 4 * 8640);
  assert.deepEqual(s.incidents.filter((e) => !e.benign).map((e) => e.kind).sort(), [...INCIDENT_KINDS].sort());
  assert.deepEqual(s.incidents.filter((e) => e.benign).map((e) => e.kind), ['flash_crowd', 'flash_crowd']);
  const sorted = [...s.incidents].sort((x, y) => x.start - y.start);
  sorted.forEach((e, k) => {
    assert.ok(e.start >= s.trainRows && e.end > e.start);
    if (k > 0) assert.ok(e.start >= sorted[k - 1].end, `${e.kind} overlaps ${sorted[k - 1].kind}`);
  });
});

test('incidents move the features they are about: exfiltration raises bytes out per request, a traffic drop lowers requests', () => {
  const s = generateScenario({ seed: 4 });
  const mean = (from: number, to: number, f: (r: number[]) => number) => {
    const v = s.series.rows.slice(from, to).map(f).filter(Number.isFinite);
    return v.reduce((a, x) => a + x, 0) / v.length;
  };
  const bytesPerReq = (r: number[]) => r[5] / r[0];
  const ex = s.incidents.find((e) => e.kind === 'exfiltration')!;
  assert.ok(mean(ex.start + 20, ex.end, bytesPerReq) > 2 * mean(ex.start - 120, ex.start, bytesPerReq));
  const drop = s.incidents.find((e) => e.kind === 'traffic_drop')!;
  assert.ok(mean(drop.start + 20, drop.end, (r) => r[0]) < 0.5 * mean(drop.start - 60, drop.start, (r) => r[0]));
});

test('the daily rhythm swings request rate by more than ×2 between the quietest and busiest hour of a clean day', () => {
  const s = generateScenario({ seed: 4 });
  const hourly = Array.from({ length: 24 }, (_, h) => {
    const v = s.series.rows.slice(h * 360, (h + 1) * 360).map((r) => r[0]).filter(Number.isFinite);
    return v.reduce((a, x) => a + x, 0) / v.length;
  });
  assert.ok(Math.max(...hourly) > 2 * Math.min(...hourly));
});
