import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RetryPolicy } from '../control/resilience.ts';
import { ERROR_HEADER } from './index.ts';
import { startFaultyUpstream } from './testing/faulty-upstream.ts';
import { cluster, outboundSidecar } from './testing/outbound-harness.ts';
import { freePort } from './testing/servers.ts';

const retry = (over: Partial<RetryPolicy> = {}): RetryPolicy => ({
  attempts: 2, backoff_base_ms: 1, backoff_max_ms: 2, on: ['connect-failure', 'reset', 'timeout', 'unavailable'], budget: { ratio: 1, min_per_s: 100 }, ...over,
});

async function twoEndpoints(t: { after(fn: () => Promise<void>): void }) {
  const failing = await startFaultyUpstream('a', () => ({ status: 503 }));
  const healthy = await startFaultyUpstream('b');
  t.after(async () => { await failing.close(); await healthy.close(); });
  return { failing, healthy };
}

test('an idempotent GET answered 503 is retried on the other endpoint and served there; its tap says retries 1 and flags retried', async (t) => {
  const { failing, healthy } = await twoEndpoints(t);
  const m = await outboundSidecar(t);
  await m.push([cluster('cart', [failing.port, healthy.port], { retry: retry() })]);
  const r = await m.call('cart', { path: '/items' });
  assert.deepEqual([r.status, r.body], [200, 'b'], 'the 503 never reached the client');
  assert.deepEqual([failing.requests().length, healthy.requests().length], [1, 1]);
  const [tap] = await m.taps();
  assert.deepEqual([tap.status, tap.retries, tap.flags, tap.upstream, tap.dst_instance, tap.error, tap.protocol], [200, 1, 'retried', `127.0.0.1:${healthy.port}`, `cart-${healthy.port}`, '', 'http/1.1']);
  assert.equal(m.sidecar.stats().resilience.cart.retries, 1);
});

test('a GET whose connection is refused or reset before an answer is retried; a 500 is not (not in `on`) and passes through as it was', async (t) => {
  const resetting = await startFaultyUpstream('r', () => 'reset');
  const healthy = await startFaultyUpstream('b');
  t.after(async () => { await resetting.close(); await healthy.close(); });
  const down = await freePort();
  const m = await outboundSidecar(t);
  await m.push([
    cluster('down', [down, healthy.port], { retry: retry() }),
    cluster('flaky', [resetting.port, healthy.port], { retry: retry() }),
  ]);
  assert.deepEqual([(await m.call('down')).status, (await m.call('flaky')).status], [200, 200]);
  assert.equal(resetting.requests().length, 1, 'tried once there, then elsewhere');
  healthy.behave(() => ({ status: 500 }));
  await m.push([cluster('err', [healthy.port], { retry: retry() })]);
  const r = await m.call('err');
  assert.deepEqual([r.status, r.body], [500, 'b']);
  const taps = await m.taps();
  assert.deepEqual(taps.map((e) => [e.dst_service, e.status, e.retries, e.flags]), [['down', 200, 1, 'retried'], ['flaky', 200, 1, 'retried'], ['err', 500, 0, undefined]]);
});

test('a POST is never retried unless the cluster allows marked requests; a client cannot force it with x-meshlens-retryable, and the mark never reaches the workload', async (t) => {
  // Each body's first try is answered 503, a second try of the same body 200.
  const flaky = await startFaultyUpstream('a', (_n, hit) => ({ status: flaky.requests().filter((h) => h.body === hit.body).length === 1 ? 503 : 200 }));
  t.after(() => flaky.close());
  const m = await outboundSidecar(t);
  await m.push([cluster('cart', [flaky.port], { retry: retry() })]);
  const forced = await m.call('cart', { method: 'POST', path: '/pay', body: 'amount=1', headers: { 'x-meshlens-retryable': '1' } });
  assert.equal(forced.status, 503, 'the mark is not honoured where the policy says never: the 503 passes through');

  await m.push([cluster('cart', [flaky.port], { retry: retry({ non_idempotent: 'when_marked' }) })]);
  assert.equal((await m.call('cart', { method: 'POST', path: '/pay', body: 'amount=2' })).status, 503, 'allowed, but not marked');
  const marked = await m.call('cart', { method: 'POST', path: '/pay', body: 'amount=3', headers: { 'x-meshlens-retryable': '1' } });
  assert.deepEqual([marked.status, marked.body], [200, 'a']);
  assert.deepEqual(flaky.requests().map((h) => [h.body, h.headers['content-length'], 'x-meshlens-retryable' in h.headers]),
    [['amount=1', '8', false], ['amount=2', '8', false], ['amount=3', '8', false], ['amount=3', '8', false]], 'the kept body sent twice, byte for byte; the mark stripped');

  const taps = await m.taps();
  assert.deepEqual(taps.map((e) => [e.method, e.status, e.retries, e.flags, e.req_bytes]), [
    ['POST', 503, 0, 'retry_not_allowed', 8], ['POST', 503, 0, 'retry_not_allowed', 8], ['POST', 200, 1, 'retried', 8],
  ]);
  assert.equal(m.sidecar.stats().resilience.cart.retry_not_allowed, 2);
});

test('a body larger than max_body_bytes, or chunked, streams to the upstream and is not retried, even when marked and allowed', async (t) => {
  const { failing } = await twoEndpoints(t);
  const m = await outboundSidecar(t);
  await m.push([cluster('cart', [failing.port], { retry: retry({ non_idempotent: 'when_marked', max_body_bytes: 16 }) })]);
  const big = 'x'.repeat(17);
  const r = await m.call('cart', { method: 'PUT', path: '/blob', body: big });
  assert.deepEqual([r.status, r.body], [503, 'a']);
  const chunked = await m.call('cart', { method: 'PUT', path: '/blob', body: 'small', headers: { 'transfer-encoding': 'chunked' } });
  assert.equal(chunked.status, 503);
  assert.deepEqual(failing.requests().map((h) => h.body), [big, 'small'], 'each sent once, whole');
  const taps = await m.taps();
  assert.deepEqual(taps.map((e) => [e.status, e.retries, e.flags, e.req_bytes]), [[503, 0, 'retry_not_allowed', 17], [503, 0, 'retry_not_allowed', 5]]);
});

test('under a total outage the retry budget caps retries at its ratio of requests: 50 GETs make 60 tries, not 150 (no retry storm)', async (t) => {
  const down = await startFaultyUpstream('down', () => ({ status: 503 }));
  t.after(() => down.close());
  const m = await outboundSidecar(t);
  await m.push([cluster('cart', [down.port], { retry: retry({ attempts: 2, budget: { ratio: 0.2, min_per_s: 0 } }) })]);
  // Sequential, so the count is exact: request 5k may retry once (its retries stay within 0.2 × 5k); its second try is refused.
  for (let i = 0; i < 50; i++) assert.equal((await m.call('cart')).status, 503);
  assert.equal(down.requests().length, 60);
  const taps = await m.taps();
  assert.equal(taps.reduce((n, e) => n + e.retries, 0), 10);
  assert.ok(taps.every((e) => e.flags === (e.retries ? 'retried,retry_budget_exhausted' : 'retry_budget_exhausted')), 'each request says its retry was refused by the budget');
  const c = m.sidecar.stats().resilience.cart;
  assert.deepEqual([c.retries, c.retry_budget_exhausted], [10, 50]);
});

test('retries wait a jittered, growing backoff: each wait at least half of min(backoff_max_ms, base × 2^(n-1))', async (t) => {
  const down = await startFaultyUpstream('down', () => ({ status: 503 }));
  t.after(() => down.close());
  const m = await outboundSidecar(t);
  await m.push([cluster('cart', [down.port], { retry: retry({ attempts: 4, backoff_base_ms: 40, backoff_max_ms: 100 }) })]);
  assert.equal((await m.call('cart')).status, 503);
  const at = down.requests().map((h) => h.at);
  assert.equal(at.length, 5);
  const gaps = at.slice(1).map((x, i) => x - at[i]);
  // Caps 40, 80, 100, 100: waits of at least 20, 40, 50, 50 ms (1 ms of timer rounding allowed).
  [20, 40, 50, 50].forEach((least, i) => assert.ok(gaps[i] >= least - 1, `wait ${i + 1} was ${gaps[i].toFixed(1)} ms, under ${least}`));
});

test('a try that outlives per_try_timeout_ms is given up and retried; the tap says retried and per_try_timeout, and the held request is abandoned', async (t) => {
  const slow = await startFaultyUpstream('slow', () => 'hold');
  const healthy = await startFaultyUpstream('b');
  t.after(async () => { slow.releaseAll(); await slow.close(); await healthy.close(); });
  const m = await outboundSidecar(t);
  await m.push([cluster('cart', [slow.port, healthy.port], { retry: retry({ per_try_timeout_ms: 100 }) })]);
  const r = await m.call('cart');
  assert.deepEqual([r.status, r.body], [200, 'b']);
  const [tap] = await m.taps();
  assert.deepEqual([tap.retries, tap.flags], [1, 'retried,per_try_timeout']);
  assert.equal(m.sidecar.stats().resilience.cart.per_try_timeouts, 1);
});

test('the cluster\'s request timeout bounds every try together: 504 with timed_out, whatever tries were left', async (t) => {
  const slow = await startFaultyUpstream('slow', () => 'hold');
  t.after(async () => { slow.releaseAll(); await slow.close(); });
  const m = await outboundSidecar(t);
  await m.push([cluster('cart', [slow.port], { request_timeout_ms: 300, retry: retry({ attempts: 5, per_try_timeout_ms: 100 }) })]);
  const r = await m.call('cart');
  assert.deepEqual([r.status, r.headers[ERROR_HEADER]], [504, 'MESH_ERR_UPSTREAM_TIMEOUT']);
  const [tap] = await m.taps();
  assert.ok(tap.retries >= 1 && tap.retries < 5, `retries ${tap.retries}`);
  assert.equal(tap.flags, 'retried,per_try_timeout,timed_out');
});
