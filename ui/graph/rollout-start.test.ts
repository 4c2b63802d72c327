import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSteps, rolloutChoices } from './index.ts';

const at = (version: string, i: number) => ({ instance: `x-${i}`, addr: '127.0.0.1', port: 9000 + i, labels: { version } });

test('offers the services with two or more versions, each without the version its route weights most', () => {
  const control = {
    services: {
      payments: [at('v1', 1), at('v2', 2), at('v3', 3)],
      catalog: [at('v1', 4), at('v1', 5)],
      web: [],
      cart: [{ instance: 'cart-1', labels: {} }, at('v2', 6)],
    },
    routes: { routes: [{ service: 'payments', subsets: [{ version: 'v2', weight: 20 }, { version: 'v3', weight: 70 }, { version: 'v1', weight: 10 }] }] },
  };
  assert.deepEqual(rolloutChoices(control), [{ service: 'payments', versions: ['v1', 'v2', 'v3'], from: 'v3', targets: ['v1', 'v2'] }]);
});

test('without a route the version with the most instances carries the traffic; a tie goes to the first by name', () => {
  const control = { services: { b: [at('v2', 1), at('v1', 2), at('v2', 3)], a: [at('v2', 4), at('v1', 5)] }, routes: { routes: [] } };
  assert.deepEqual(rolloutChoices(control), [
    { service: 'a', versions: ['v1', 'v2'], from: 'v1', targets: ['v2'] },
    { service: 'b', versions: ['v1', 'v2'], from: 'v2', targets: ['v1'] },
  ]);
});

test('a status of another shape offers nothing', () => {
  for (const control of [null, undefined, 'up', [], { services: [] }, { services: { a: 'v1' } }, { services: { a: [null, 7, { labels: { version: 2 } }] } }]) {
    assert.deepEqual(rolloutChoices(control), [], JSON.stringify(control));
  }
});

test('steps read as whole percentages; anything else is named as the problem', () => {
  assert.deepEqual(parseSteps('5,25,50,100'), { steps: [5, 25, 50, 100] });
  assert.deepEqual(parseSteps(' 10 , 100 '), { steps: [10, 100] });
  assert.deepEqual(parseSteps('5,2.5,x,100'), { problem: 'steps: not whole percentages: "2.5", "x"; give them comma-separated, e.g. 5,25,50,100' });
  assert.deepEqual(parseSteps('5,,100'), { problem: 'steps: not whole percentages: ""; give them comma-separated, e.g. 5,25,50,100' });
  assert.deepEqual(parseSteps('  '), { problem: 'steps: none given; give whole percentages, comma-separated, e.g. 5,25,50,100' });
});
