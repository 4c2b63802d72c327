import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LoadBalancing } from '../control/snapshot.ts';
import { startFaultyUpstream } from './testing/faulty-upstream.ts';
import { cluster, outboundSidecar } from './testing/outbound-harness.ts';

/** Requests each upstream served when `clients` callers each send `each` requests one after another. */
async function spread(t: { after(fn: () => Promise<void>): void }, lb: LoadBalancing, clients: number, each: number) {
  const fast = await startFaultyUpstream('fast');
  const slow = await startFaultyUpstream('slow', () => ({ status: 200, delayMs: 300 }));
  t.after(async () => { await fast.close(); await slow.close(); });
  const m = await outboundSidecar(t);
  await m.push([cluster('cart', [fast.port, slow.port], { lb })]);
  await Promise.all(Array.from({ length: clients }, async () => {
    for (let i = 0; i < each; i++) assert.equal((await m.call('cart')).status, 200);
  }));
  return { fast: fast.requests().length, slow: slow.requests().length };
}

test('round robin gives a slow endpoint its half whatever its latency', async (t) => {
  assert.deepEqual(await spread(t, 'round_robin', 4, 6), { fast: 12, slow: 12 });
});

test('least_request (two choices over requests in flight) sends a slow endpoint far fewer requests than its half', async (t) => {
  const { fast, slow } = await spread(t, 'least_request', 4, 6);
  assert.equal(fast + slow, 24);
  assert.ok(slow <= 8, `the slow endpoint got ${slow} of 24, round robin gives it 12`);
});

test('least_request on an idle cluster spreads sequential requests exactly as round robin does', async (t) => {
  const a = await startFaultyUpstream('a');
  const b = await startFaultyUpstream('b');
  const c = await startFaultyUpstream('c');
  t.after(async () => { await a.close(); await b.close(); await c.close(); });
  const m = await outboundSidecar(t);
  await m.push([cluster('cart', [a.port, b.port, c.port], { lb: 'least_request' })]);
  const served = [];
  for (let i = 0; i < 6; i++) served.push((await m.call('cart')).body);
  assert.deepEqual(served, ['a', 'b', 'c', 'a', 'b', 'c']);
});
