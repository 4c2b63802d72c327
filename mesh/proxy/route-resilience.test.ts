import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RetryPolicy } from '../control/resilience.ts';
import type { ConfigSnapshot } from '../control/snapshot.ts';
import { ERROR_HEADER } from './index.ts';
import { startFaultyUpstream } from './testing/faulty-upstream.ts';
import { cluster, outboundSidecar } from './testing/outbound-harness.ts';

const retry = (over: Partial<RetryPolicy> = {}): RetryPolicy => ({
  attempts: 2, backoff_base_ms: 1, backoff_max_ms: 2, on: ['connect-failure', 'reset', 'timeout', 'unavailable'], budget: { ratio: 1, min_per_s: 100 }, ...over,
});

test('a route rule gives its paths a shorter request timeout: /slow answers 504 timed_out while other paths of the cluster wait as long as it allows', async (t) => {
  const slow = await startFaultyUpstream('a', (_n, hit) => ({ status: 200, delayMs: hit.url.startsWith('/slow') ? 400 : 150 }));
  t.after(() => slow.close());
  const m = await outboundSidecar(t);
  await m.push([cluster('cart', [slow.port], { request_timeout_ms: 5_000 })], { cart: [{ path_prefix: '/slow', request_timeout_ms: 100 }, { path_prefix: '/fast', request_timeout_ms: 100 }] });
  const cut = await m.call('cart', { path: '/slow/report?x=1' });
  assert.deepEqual([cut.status, cut.headers[ERROR_HEADER]], [504, 'MESH_ERR_UPSTREAM_TIMEOUT']);
  assert.match(cut.body, /within 100 ms/);
  const whole = await m.call('cart', { path: '/other' });
  assert.deepEqual([whole.status, whole.body], [200, 'a'], 'the cluster\'s 5 s, not a rule\'s 100 ms');
  const taps = await m.taps();
  assert.deepEqual(taps.map((e) => [e.path, e.status, e.flags]), [['/slow/report', 504, 'timed_out'], ['/other', 200, undefined]]);
  assert.equal(m.sidecar.stats().resilience.cart.route_overrides, 1, 'only the request a rule took');
});

test('a route rule turns retries off for its method and path, and another gives a per-try timeout to the cluster\'s retry policy; each shows in the tap', async (t) => {
  // Each method and path: its first try fails (/hang: held, others: 503), a second one is served.
  const flaky = await startFaultyUpstream('a', (_n, hit) => {
    const first = flaky.requests().filter((h) => h.method === hit.method && h.url === hit.url).length === 1;
    return !first ? { status: 200 } : hit.url === '/hang' ? 'hold' : { status: 503 };
  });
  t.after(async () => { flaky.releaseAll(); await flaky.close(); });
  const m = await outboundSidecar(t);
  await m.push([cluster('cart', [flaky.port], { retry: retry() })], {
    cart: [{ path_prefix: '/once', methods: ['GET'], retry: false }, { path_prefix: '/hang', per_try_timeout_ms: 100 }],
  });
  assert.equal((await m.call('cart', { path: '/once' })).status, 503, 'not retried: the 503 passes through');
  assert.equal((await m.call('cart', { path: '/once', method: 'HEAD' })).status, 200, 'the rule names GET only: a HEAD is retried as the cluster says');
  const hang = await m.call('cart', { path: '/hang' });
  assert.deepEqual([hang.status, hang.body], [200, 'a'], 'the held try was given up after 100 ms and tried again');
  const taps = await m.taps();
  assert.deepEqual(taps.map((e) => [e.method, e.path, e.status, e.retries, e.flags]), [
    ['GET', '/once', 503, 0, undefined], ['HEAD', '/once', 200, 1, 'retried'], ['GET', '/hang', 200, 1, 'retried,per_try_timeout'],
  ]);
  const c = m.sidecar.stats().resilience.cart;
  assert.deepEqual([c.route_overrides, c.per_try_timeouts, c.retries], [2, 1, 2]);
});

test('a snapshot whose route rules are bad, or void against their cluster, is NACKed naming the field, and the rules in force stay', async (t) => {
  const slow = await startFaultyUpstream('a', () => ({ status: 200, delayMs: 300 }));
  t.after(() => slow.close());
  const m = await outboundSidecar(t);
  await m.push([cluster('cart', [slow.port])], { cart: [{ path_prefix: '/', request_timeout_ms: 100 }] });
  const bad = (version: number, resilience: unknown): ConfigSnapshot => ({
    version, proxy: 'web-1', service: 'web', taps: { query_allow: [], header_allow: [] }, policy_digest: '',
    clusters: [cluster('cart', [slow.port], { request_timeout_ms: 1_000 })],
    routes: [{ authority: 'cart', backends: [{ cluster: 'cart', weight: 1 }], resilience: resilience as never }],
  });
  const nacks: [unknown, string][] = [
    [[{ path_prefix: '/', request_timeout_ms: -1 }], 'routes[0].resilience[0].request_timeout_ms: must be an integer in 1..86400000, got -1'],
    [[{ path_prefix: '/', per_try_timeout_ms: 50 }], 'routes[0].resilience[0].per_try_timeout_ms: the cluster has no retry policy to bound the tries of; give retry too'],
    [[{ path_prefix: '/', retry: retry({ per_try_timeout_ms: 2_000 }) }], 'routes[0].resilience[0].retry.per_try_timeout_ms: 2000 is more than the cluster\'s request_timeout_ms (1000), which bounds every try together'],
    [[{ path_prefix: '/x', retry: false }, { path_prefix: '/x', request_timeout_ms: 5 }], 'routes[0].resilience[1]: the same path_prefix "/x" and no methods as routes[0].resilience[0]'],
    ['everything', 'routes[0].resilience: must be an array of {path_prefix, methods?, request_timeout_ms?, per_try_timeout_ms?, retry?}'],
  ];
  for (const [i, [rules, error]] of nacks.entries()) {
    await m.control.send(bad(100 + i, rules));
    assert.deepEqual(await m.control.ackFor(100 + i), { proxy: 'web-1', version: 100 + i, ok: false, error });
  }
  assert.equal((await m.call('cart')).status, 504, 'the 100 ms rule of the version in force still applies');
});
