import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERROR_HEADER } from './index.ts';
import { startFaultyUpstream } from './testing/faulty-upstream.ts';
import { cluster, outboundSidecar, until } from './testing/outbound-harness.ts';

test('max_connections bounds the connections to an endpoint: more requests wait for one instead of opening another', async (t) => {
  const slow = await startFaultyUpstream('slow', () => 'hold');
  t.after(async () => { slow.releaseAll(); await slow.close(); });
  const m = await outboundSidecar(t);
  await m.push([cluster('cart', [slow.port], { max_connections: 1 })]);
  const calls = [m.call('cart', { path: '/1' }), m.call('cart', { path: '/2' }), m.call('cart', { path: '/3' })];
  await slow.arrived(1);
  await until(() => m.sidecar.stats().resilience.cart?.endpoints[0]?.outstanding === 3);
  assert.deepEqual([slow.requests().length, slow.connections()], [1, 1], 'two wait in the pool');
  for (const n of [2, 3]) { slow.releaseAll(); await slow.arrived(n); }
  slow.releaseAll();
  assert.deepEqual((await Promise.all(calls)).map((r) => r.status), [200, 200, 200]);
  assert.equal(slow.connections(), 1, 'all three over the one connection');
});

test('the cluster\'s breaker (max_concurrent, max_pending) refuses beyond its bounds with 503 MESH_ERR_OVERLOADED, flagged breaker_open and counted', async (t) => {
  const slow = await startFaultyUpstream('slow', () => 'hold');
  t.after(async () => { slow.releaseAll(); await slow.close(); });
  const m = await outboundSidecar(t);
  await m.push([cluster('cart', [slow.port], { max_concurrent: 1, max_pending: 1 })]);
  const first = m.call('cart', { path: '/first' });
  await slow.arrived(1);
  const pending = m.call('cart', { path: '/pending' });
  await until(() => m.sidecar.stats().admission.clusters.cart?.waiting === 1);
  const refused = await m.call('cart', { path: '/refused' });
  assert.deepEqual([refused.status, refused.headers[ERROR_HEADER]], [503, 'MESH_ERR_OVERLOADED']);
  slow.releaseAll();
  assert.equal((await first).status, 200);
  await slow.arrived(2);
  slow.releaseAll();
  assert.equal((await pending).status, 200);
  const taps = await m.taps();
  assert.deepEqual(taps.map((e) => [e.path, e.status, e.flags]), [['/refused', 503, 'breaker_open'], ['/first', 200, undefined], ['/pending', 200, undefined]]);
  assert.equal(m.sidecar.stats().admission.clusters.cart.shed, 1);
});
