import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HealthCheck } from '../control/resilience.ts';
import { startFaultyUpstream } from './testing/faulty-upstream.ts';
import { cluster, outboundSidecar, until, type Outbound } from './testing/outbound-harness.ts';
import { startSmallMesh } from './testing/small-mesh.ts';
import { freePort } from './testing/servers.ts';

// Generous timeouts: a check that misses one on a busy machine would fail the endpoint for nothing.
const check = (over: Partial<HealthCheck> = {}): HealthCheck => ({ path: '/healthz', interval_ms: 200, timeout_ms: 200, unhealthy_threshold: 2, healthy_threshold: 2, ...over });
const healthOf = (m: Outbound, service: string) => Object.fromEntries((m.sidecar.stats().resilience[service]?.endpoints ?? []).map((e) => [e.instance, e.health]));

test('a dead endpoint is left out by its health check before any request is sent to it: every request succeeds', async (t) => {
  const alive = await startFaultyUpstream('alive');
  const sick = await startFaultyUpstream('sick', (_n, hit) => ({ status: hit.url === '/healthz' ? 503 : 200 }));
  t.after(async () => { await alive.close(); await sick.close(); });
  const dead = await freePort();
  const m = await outboundSidecar(t);
  await m.push([cluster('cart', [alive.port, sick.port, dead], { health_check: check({ interval_ms: 1_000, timeout_ms: 1_000 }) })]);
  // A new endpoint waits for its first check: once one has passed, the others are out until theirs do.
  await until(() => healthOf(m, 'cart')[`cart-${alive.port}`] === 'healthy');
  for (let i = 0; i < 6; i++) assert.deepEqual([(await m.call('cart')).status], [200]);
  assert.equal(alive.requests().length, 6);
  assert.deepEqual(sick.hits.filter((h) => h.url !== '/healthz'), [], 'only health checks reached the sick one');
  const taps = await m.taps();
  assert.ok(taps.every((e) => e.flags === 'health_excluded' && e.upstream === `127.0.0.1:${alive.port}`), JSON.stringify(taps.map((e) => e.flags)));
  await until(() => healthOf(m, 'cart')[`cart-${dead}`] === 'unhealthy' && healthOf(m, 'cart')[`cart-${sick.port}`] === 'unhealthy');
  const c = m.sidecar.stats().resilience.cart;
  assert.ok(c.health_checks > c.health_check_failures && c.health_check_failures >= 2, JSON.stringify(c));
  assert.equal(c.health_exclusions, 6);
});

test('an endpoint failing unhealthy_threshold checks in a row is left out, and taken back after healthy_threshold passes', async (t) => {
  let healthy = true;
  const a = await startFaultyUpstream('a', (_n, hit) => ({ status: hit.url === '/healthz' && !healthy ? 500 : 200 }));
  const b = await startFaultyUpstream('b');
  t.after(async () => { await a.close(); await b.close(); });
  const m = await outboundSidecar(t);
  await m.push([cluster('cart', [a.port, b.port], { health_check: check() })]);
  const state = () => healthOf(m, 'cart')[`cart-${a.port}`];
  await until(() => state() === 'healthy' && healthOf(m, 'cart')[`cart-${b.port}`] === 'healthy');
  healthy = false;
  await until(() => state() === 'unhealthy');
  const checksWhenOut = a.hits.filter((h) => h.url === '/healthz').length;
  for (let i = 0; i < 4; i++) assert.equal((await m.call('cart')).body, 'b');
  healthy = true;
  await until(() => state() === 'healthy');
  assert.ok(a.hits.filter((h) => h.url === '/healthz').length >= checksWhenOut + 2, 'two passes to come back');
  const served = [];
  for (let i = 0; i < 4; i++) served.push((await m.call('cart')).body);
  assert.deepEqual(served.sort(), ['a', 'a', 'b', 'b']);
});

test('in a mesh, health checks go over the same mutual TLS pools as requests, pushed by the control plane for the services it names', async (t) => {
  const mesh = await startSmallMesh(t, {
    // A generous timeout (bounded by the interval): the first check opens an mTLS connection, which a loaded machine may take past 200 ms over (a failure).
    settings: { resilience_by_service: { payments: { health_check: check({ path: '/', interval_ms: 3_000, timeout_ms: 3_000 }) } } },
  });
  await mesh.instance('payments', 'payments-1');
  await mesh.instance('payments', 'payments-2');
  await mesh.instance('catalog', 'catalog-1');
  const web = await mesh.caller('web', 'web-1');
  await mesh.settled();
  const health = () => web.sidecar.stats().resilience.payments?.endpoints.map((e) => [e.instance, e.health]).sort() ?? [];
  await until(() => health().every(([, h]) => h === 'healthy') && health().length === 2);
  assert.deepEqual(health(), [['payments-1', 'healthy'], ['payments-2', 'healthy']], 'each peer sidecar proved its identity and answered');
  assert.equal(web.sidecar.stats().resilience.payments.health_check_failures, 0);
  const catalog = web.sidecar.stats().resilience.catalog;
  assert.deepEqual([catalog.health_checks, catalog.endpoints.map((e) => e.health)], [0, ['unchecked']], 'no health check where none is set');
  assert.equal((await web.call('payments')).status, 200);
});
