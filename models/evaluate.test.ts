import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate } from './evaluate.ts';
import { robustZRaw, windowZScores } from './baselines.ts';
import { generateScenario } from './scenario.ts';

const scn = generateScenario({ seed: 21, trainDays: 1, testDays: 1 });

test('the harness gives a perfect score to an oracle that scores 1 inside real incidents and 0 elsewhere', async () => {
  const oracle = () => {
    const scores = scn.series.rows.map(() => 0);
    for (const e of scn.incidents) if (!e.benign) for (let i = e.start; i < e.end; i++) scores[i] = 1;
    return { scores, threshold: 0.5 };
  };
  const r = await evaluate('oracle', oracle, [scn], { hysteresis: { openAfter: 1, closeAfter: 1, closeRatio: 1 } });
  assert.equal(r.incidents, 9);
  assert.equal(r.found, 9);
  assert.equal(r.falseAlarms, 0);
  assert.equal(r.eventF1, 1);
  assert.equal(r.pointF1, 1);
  assert.equal(r.medianDelayS, 0);
  assert.equal(r.falseAlarmsPerServiceDay, 0);
});

test('an always-alerting scorer finds nothing new after its first alert and is charged for it', async () => {
  const r = await evaluate('always', () => ({ scores: scn.series.rows.map(() => 1), threshold: 0.5 }), [scn]);
  assert.equal(r.found, 0); // the one alert opened before any incident and never closed
  assert.equal(r.falseAlarms, 1);
  assert.equal(r.falseAlarmsPerServiceDay, 1);
});

test('on the same scenario, window z² on engineered features finds more incidents than robust z-score on raw rollups', async () => {
  const raw = await evaluate('raw', (s) => robustZRaw(s.series, s.trainRows), [scn]);
  const eng = await evaluate('eng', (s) => windowZScores(s.series, s.trainRows), [scn]);
  assert.ok(eng.found > raw.found, `${eng.found} > ${raw.found}`);
});
