import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ejectedLine, formatLeft, meshMarks, splitLabel } from './index.ts';

const now = 1_800_000_000_000;

test('a route split by weight reads as whole percentages per version, summing to 100', () => {
  assert.equal(splitLabel([{ version: 'v1', weight: 90 }, { version: 'v2', weight: 10 }]), 'v1 90% / v2 10%');
  assert.equal(splitLabel([{ version: 'v1', weight: 1 }, { version: 'v2', weight: 1 }, { version: 'v3', weight: 1 }]), 'v1 34% / v2 33% / v3 33%');
  assert.equal(splitLabel([{ version: '', weight: 3 }, { zone: 'b', weight: 1 }]), '(no version) 75% / zone=b 25%');
  assert.equal(splitLabel([{ version: 'v1', weight: 0 }]), null, 'no weight anywhere: no split to show');
  assert.equal(splitLabel([]), null);
});

test('marks gather each service route split and its ejected instances still out, soonest back first', () => {
  const control = {
    routes: { routes: [{ service: 'payments', subsets: [{ version: 'v1', weight: 50 }, { version: 'v2', weight: 50 }], set_at: now }] },
    ejections: [
      { service: 'catalog', instance: 'catalog-2', until: now + 250_000, reason: 'errors' },
      { service: 'catalog', instance: 'catalog-3', until: now + 30_500, reason: 'slow' },
      { service: 'cart', instance: 'cart-1', until: now - 1, reason: 'over' },
    ],
  };
  assert.deepEqual(meshMarks(control, now), {
    payments: { split: 'v1 50% / v2 50%', ejected: [] },
    catalog: { split: null, ejected: [{ instance: 'catalog-3', left_s: 31, reason: 'slow' }, { instance: 'catalog-2', left_s: 250, reason: 'errors' }] },
  });
});

test('a status without routes or ejections, or of another shape, marks nothing', () => {
  assert.deepEqual(meshMarks(null, now), {});
  assert.deepEqual(meshMarks({ version: 3 }, now), {});
  assert.deepEqual(meshMarks({ routes: [], ejections: { a: 1 } }, now), {});
  assert.deepEqual(meshMarks({ routes: { routes: [{ service: 7 }, 'x'] }, ejections: [{ service: 'a', instance: 'a-1', until: 'soon' }] }, now), {});
});

test('time left and the line under a node are short enough for the node', () => {
  assert.deepEqual([formatLeft(45), formatLeft(250), formatLeft(7500)], ['45 s', '4m 10s', '2h 5m']);
  const ejected = [{ instance: 'catalog-3', left_s: 31, reason: '' }, { instance: 'catalog-2', left_s: 250, reason: '' }];
  assert.equal(ejectedLine(ejected), 'ejected: catalog-3 31 s +1 more');
  assert.equal(ejectedLine(ejected.slice(1)), 'ejected: catalog-2 4m 10s');
  assert.equal(ejectedLine([]), '');
});
