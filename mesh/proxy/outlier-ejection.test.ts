import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OutlierDetection } from '../control/resilience.ts';
import { startFaultyUpstream, type FaultyUpstream } from './testing/faulty-upstream.ts';
import { cluster, outboundSidecar, until, type Outbound } from './testing/outbound-harness.ts';

const outlier = (over: Partial<OutlierDetection> = {}): OutlierDetection => ({
  consecutive_5xx: 0, consecutive_gateway_errors: 2, base_ejection_ms: 300, max_ejection_ms: 10_000, max_ejection_percent: 50, ...over,
});

async function upstreams(t: { after(fn: () => Promise<void>): void }, ...statuses: number[]): Promise<FaultyUpstream[]> {
  const all = await Promise.all(statuses.map((status, i) => startFaultyUpstream(String.fromCharCode(97 + i), () => ({ status }))));
  t.after(async () => { for (const u of all) await u.close(); });
  return all;
}

const endpointsOf = (m: Outbound, service: string) => m.sidecar.stats().resilience[service]?.endpoints ?? [];
const ejectedNow = (m: Outbound, service: string) => endpointsOf(m, service).filter((e) => e.ejected_by === 'sidecar').map((e) => e.instance).sort();

test('gateway errors in a row eject an endpoint: no request reaches it until base_ejection_ms is over, and its next ejection lasts twice as long', async (t) => {
  const [a, b] = await upstreams(t, 503, 200);
  const m = await outboundSidecar(t);
  await m.push([cluster('cart', [a.port, b.port], { outlier: outlier() })]);
  const served = [];
  for (let i = 0; i < 7; i++) served.push((await m.call('cart')).body);
  assert.deepEqual(served, ['a', 'b', 'a', 'b', 'b', 'b', 'b'], 'a is out after its second 503 in a row');
  const [first] = endpointsOf(m, 'cart').filter((e) => e.ejected_by);
  assert.deepEqual([first.instance, first.ejection_ms, first.ejections], [`cart-${a.port}`, 300, 1]);
  const taps = await m.taps();
  assert.deepEqual(taps.map((e) => e.flags ?? ''), ['', '', 'ejected', 'ejected_skip', 'ejected_skip', 'ejected_skip', 'ejected_skip']);

  await until(() => Date.now() >= first.ejected_until!);
  assert.deepEqual(ejectedNow(m, 'cart'), [], 'back after its time, without a new config');
  while (ejectedNow(m, 'cart').length === 0) await m.call('cart');
  const [second] = endpointsOf(m, 'cart').filter((e) => e.ejected_by);
  assert.deepEqual([second.instance, second.ejection_ms, second.ejections], [`cart-${a.port}`, 600, 2]);
  assert.equal(a.requests().length, 4, 'two 503s in a row each time');
  assert.deepEqual([m.sidecar.stats().resilience.cart.ejections, m.sidecar.stats().resilience.cart.ejected_skips], [2, 4]);
});

test('the ejected share is capped: at most max_ejection_percent of a cluster is out at once, one endpoint may always be, never the last', async (t) => {
  const four = await upstreams(t, 503, 503, 503, 503);
  const two = await upstreams(t, 503, 503);
  const one = await upstreams(t, 503);
  const m = await outboundSidecar(t);
  // Ejections that outlast the test, however slow the machine.
  const od = (max_ejection_percent: number) => outlier({ consecutive_gateway_errors: 1, max_ejection_percent, base_ejection_ms: 600_000, max_ejection_ms: 600_000 });
  await m.push([cluster('four', four.map((u) => u.port), { outlier: od(50) }), cluster('two', two.map((u) => u.port), { outlier: od(10) }), cluster('one', one.map((u) => u.port), { outlier: od(100) })]);
  for (let i = 0; i < 8; i++) for (const s of ['four', 'two', 'one']) assert.equal((await m.call(s)).status, 503);
  const r = m.sidecar.stats().resilience;
  assert.deepEqual([ejectedNow(m, 'four').length, ejectedNow(m, 'two').length, ejectedNow(m, 'one').length], [2, 1, 0]);
  assert.deepEqual([r.four.ejections, r.two.ejections, r.one.ejections], [2, 1, 0]);
  assert.ok(r.four.ejections_capped > 0 && r.two.ejections_capped > 0 && r.one.ejections_capped === 8, JSON.stringify(r));
  assert.equal(four.filter((u) => u.requests().length > 0).length, 4, 'every endpoint was tried before the cap held');
});

test('the control plane\'s ejection (the endpoint left out of the snapshot) and the sidecar\'s own are both honoured; stats name the sidecar\'s', async (t) => {
  const [a, b, c] = await upstreams(t, 503, 200, 200);
  const m = await outboundSidecar(t);
  const od = outlier({ consecutive_gateway_errors: 1, max_ejection_percent: 100, base_ejection_ms: 60_000, max_ejection_ms: 60_000 });
  await m.push([cluster('cart', [a.port, b.port, c.port], { outlier: od })]);
  assert.equal((await m.call('cart')).body, 'a');
  assert.deepEqual(ejectedNow(m, 'cart'), [`cart-${a.port}`]);
  // As the control plane ejects c: a new version without it.
  await m.push([cluster('cart', [a.port, b.port], { outlier: od })]);
  const served = [];
  for (let i = 0; i < 4; i++) served.push((await m.call('cart')).body);
  assert.deepEqual(served, ['b', 'b', 'b', 'b']);
  const who = Object.fromEntries(endpointsOf(m, 'cart').map((e) => [e.instance, e.ejected_by ?? '']));
  assert.deepEqual(who, { [`cart-${a.port}`]: 'sidecar', [`cart-${b.port}`]: '' });
  assert.equal(m.sidecar.stats().resilience.cart.drained, 1, 'c, dropped from the config, was drained');
});
