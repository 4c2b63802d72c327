import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServiceRegistry } from './registry.ts';
import { DEFAULT_RESILIENCE } from './resilience.ts';
import { buildSnapshot, DEFAULT_MESH_SETTINGS, meshSettingsProblems } from './snapshot-builder.ts';
import { startTestControl } from './testing/mesh-clients.ts';

function registry(): ServiceRegistry {
  const r = new ServiceRegistry();
  r.register({ proxy: 'cart-1', service: 'cart', instance: 'cart-1', addr: '127.0.0.1', port: 9001, since: 0 });
  r.register({ proxy: 'payments-1', service: 'payments', instance: 'payments-1', addr: '127.0.0.1', port: 9002, since: 0 });
  return r;
}

test('every cluster gets the mesh\'s resilience defaults: least_request, 256 connections, retries with a budget, outlier ejection on gateway errors, no health check', () => {
  const snap = buildSnapshot(registry(), 'web-1', 'web', 1, DEFAULT_MESH_SETTINGS);
  for (const c of snap.clusters) {
    assert.deepEqual([c.lb, c.max_connections, c.max_pending, c.retry, c.outlier, c.health_check], ['least_request', 256, 0, DEFAULT_RESILIENCE.retry, DEFAULT_RESILIENCE.outlier, undefined]);
  }
  assert.deepEqual(DEFAULT_RESILIENCE.retry, {
    attempts: 2, backoff_base_ms: 25, backoff_max_ms: 250, on: ['connect-failure', 'reset', 'timeout', 'unavailable'],
    budget: { ratio: 0.2, min_per_s: 10 }, non_idempotent: 'never', max_body_bytes: 65_536,
  });
  assert.deepEqual(meshSettingsProblems(DEFAULT_MESH_SETTINGS), []);
});

test('resilience_by_service replaces the defaults field by field for the services it names', () => {
  const hc = { path: '/healthz', interval_ms: 5_000, timeout_ms: 1_000, unhealthy_threshold: 3, healthy_threshold: 2 };
  const snap = buildSnapshot(registry(), 'web-1', 'web', 1, { ...DEFAULT_MESH_SETTINGS, resilience_by_service: { payments: { health_check: hc, retry: undefined, lb: 'round_robin' } } });
  const [cart, payments] = snap.clusters;
  assert.deepEqual([cart.service, cart.lb, cart.health_check, cart.retry !== undefined], ['cart', 'least_request', undefined, true]);
  assert.deepEqual([payments.service, payments.lb, payments.health_check, 'retry' in payments, payments.outlier], ['payments', 'round_robin', hc, false, DEFAULT_RESILIENCE.outlier]);
});

test('a control plane refuses to start with resilience settings a sidecar would NACK, naming each problem', async () => {
  const settings = { resilience_by_service: { cart: { max_connections: 0, retry: { ...DEFAULT_RESILIENCE.retry!, attempts: 9 } } } };
  assert.deepEqual(meshSettingsProblems({ ...DEFAULT_MESH_SETTINGS, ...settings }), [
    'settings.resilience_by_service.cart.max_connections: must be an integer in 1..65535, got 0',
    'settings.resilience_by_service.cart.retry.attempts: must be an integer in 1..5, got 9',
  ]);
  await assert.rejects(startTestControl({ settings }), /control plane settings: settings\.resilience_by_service\.cart\.max_connections/);
});
