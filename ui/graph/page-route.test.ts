import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPointedTap, parseRoute, reportHref, tapContextPaths, tapContextRows, tapHref, TAPS_AROUND } from './index.ts';

test('the fragment picks the view: reports, one report, the taps around one tap, else the mesh', () => {
  assert.deepEqual(parseRoute(''), { view: 'mesh' });
  assert.deepEqual(parseRoute('#'), { view: 'mesh' });
  assert.deepEqual(parseRoute('#reports'), { view: 'reports', report: null });
  assert.deepEqual(parseRoute('#reports/rpt-20260309T060000Z-3f9a1c'), { view: 'reports', report: 'rpt-20260309T060000Z-3f9a1c' });
  assert.deepEqual(parseRoute('#taps?proxy=cart-1&seq=1013&ts=1772409420000'), { view: 'taps', tap: { proxy: 'cart-1', seq: 1013, ts: 1772409420000 } });
});

test('a malformed fragment falls back: a bad report id opens none, a bad tap link shows the mesh', () => {
  assert.deepEqual(parseRoute('#reports/../../etc'), { view: 'reports', report: null });
  assert.deepEqual(parseRoute('#reports/rpt-20260309T060000Z-3F9A1C'), { view: 'reports', report: null });
  for (const h of ['#taps?proxy=cart-1&seq=x&ts=1', '#taps?proxy=&seq=1&ts=1', '#taps?seq=1&ts=1', '#taps?proxy=a&seq=-1&ts=1',
    '#taps?proxy=a&seq=1', `#taps?proxy=${'p'.repeat(129)}&seq=1&ts=1`, '#taps?proxy=a%0Ab&seq=1&ts=1', '#tapsproxy=a']) {
    assert.deepEqual(parseRoute(h), { view: 'mesh' }, h);
  }
});

test('a counterexample that points at a tap links to it, its proxy encoded; other evidence links nowhere', () => {
  const href = tapHref({ proxy: 'cart-1&x=<b>', seq: 7, ts: 1000, path: '/a' });
  assert.equal(href, '#taps?proxy=cart-1%26x%3D%3Cb%3E&seq=7&ts=1000');
  assert.deepEqual(parseRoute(href!), { view: 'taps', tap: { proxy: 'cart-1&x=<b>', seq: 7, ts: 1000 } }, 'the link reads back as the same tap');
  for (const c of [{ ref: 'chain cart-1/taps batch 41', ts: 1 }, { proxy: 'a', seq: '7', ts: 1 }, { proxy: 'a', seq: 1.5, ts: 1 }, null, 'cart-1']) {
    assert.equal(tapHref(c), null, JSON.stringify(c));
  }
  assert.equal(reportHref('rpt-20260309T060000Z-3f9a1c'), '#reports/rpt-20260309T060000Z-3f9a1c');
  assert.equal(reportHref('javascript:alert(1)'), '#reports');
});

test('the taps around a tap: one read up to and with its millisecond, one just after; shown newest first, the oldest after ones only', () => {
  const p = { proxy: 'cart 1', seq: 5, ts: 1_000_000 };
  assert.deepEqual(tapContextPaths(p), [
    `/api/taps?proxy=cart%201&until=1000001&limit=${TAPS_AROUND + 1}`,
    '/api/taps?proxy=cart%201&since=1000001&until=1010001&limit=1000',
  ]);
  const after = Array.from({ length: 30 }, (_, i) => 100 - i);
  assert.deepEqual(tapContextRows([9, 8], after), [...after.slice(30 - TAPS_AROUND), 9, 8]);
  assert.equal(isPointedTap({ proxy: 'cart 1', seq: 5, ts: 1_000_000 }, p), true);
  assert.equal(isPointedTap({ proxy: 'cart 1', seq: 5, ts: 1_000_001 }, p), false, 'the same seq at another time is another stream\'s tap');
  assert.equal(isPointedTap({ proxy: 'cart 2', seq: 5, ts: 1_000_000 }, p), false);
  assert.equal(isPointedTap({ proxy: 'cart 1', seq: 5, ts: 1_000_000 }, null), false);
});
