import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventScore, median, pointScore, spansOf } from './metrics.ts';

const events = [
  { start: 10, end: 20, benign: false },
  { start: 40, end: 50, benign: false },
  { start: 70, end: 80, benign: true }, // flash crowd
];

test('event score counts an incident once however many alerts open inside it, and each outside alert as a false alarm', () => {
  // Two alerts inside incident 1 (found, delay 2), none in incident 2 (missed),
  // one on the benign flash crowd and one in quiet time: 2 false alarms.
  const alerts = [{ start: 12, end: 14 }, { start: 15, end: 19 }, { start: 72, end: 75 }, { start: 90, end: 91 }];
  const s = eventScore(events, alerts);
  assert.equal(s.incidents, 2);
  assert.equal(s.found, 1);
  assert.equal(s.falseAlarms, 2);
  assert.equal(s.precision, 1 / 3); // 1 found / (1 found + 2 false)
  assert.equal(s.recall, 0.5);
  assert.equal(s.f1, (2 * (1 / 3) * 0.5) / (1 / 3 + 0.5)); // 0.4
  assert.deepEqual(s.delays, [2]);
});

test('event score treats an alert opening within the grace rows after an incident as neither found nor false', () => {
  const late = [{ start: 22, end: 30 }];
  assert.equal(eventScore(events, late, 0).falseAlarms, 1);
  const g = eventScore(events, late, 5);
  assert.equal(g.falseAlarms, 0);
  assert.equal(g.found, 0);
});

test('point score compares rows without point-adjustment', () => {
  // Predicted rows 15..24 open: 5 inside incident 1 (tp), 5 after it (fp); fn = 5 + 10.
  const pred = new Array(100).fill(false);
  for (let i = 15; i < 25; i++) pred[i] = true;
  pred[75] = true; // benign rows are negatives: fp
  const p = pointScore(events, pred);
  assert.deepEqual({ tp: p.tp, fp: p.fp, fn: p.fn }, { tp: 5, fp: 6, fn: 15 });
  assert.equal(p.precision, 5 / 11);
  assert.equal(p.recall, 5 / 20);
});

test('spansOf turns open flags into alert spans, including one still open at the end', () => {
  assert.deepEqual(spansOf([false, true, true, false, true]), [{ start: 1, end: 3 }, { start: 4, end: 5 }]);
  assert.equal(median([3, 1, 2, 10]), 2.5);
});
