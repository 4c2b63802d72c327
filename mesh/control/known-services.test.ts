import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceRegistry } from './registry.ts';
import { buildSnapshot, DEFAULT_MESH_SETTINGS } from './snapshot-builder.ts';

const reg = (service: string, proxy: string, port: number) => ({ service, proxy, instance: proxy, addr: '127.0.0.1', port, since: 0 });

test('a service whose only instance is gone keeps its route with no endpoints (callers get 503, not 404); a service never registered has no route', () => {
  const registry = new ServiceRegistry();
  registry.register(reg('web', 'web-1', 9001));
  registry.register(reg('cart', 'cart-1', 9002));
  registry.deregister('cart-1');

  const snap = buildSnapshot(registry, 'web-1', 'web', 7, DEFAULT_MESH_SETTINGS);
  assert.deepEqual(snap.routes.map((r) => r.authority), ['cart', 'web']);
  assert.deepEqual(snap.clusters.map((c) => [c.service, c.endpoints.length]), [['cart', 0], ['web', 1]]);
  assert.equal(snap.routes.some((r) => r.authority === 'nowhere'), false);
  // Status (and the demo's readiness check) still list live instances only.
  assert.deepEqual([...registry.services().keys()], ['web']);

  registry.register(reg('cart', 'cart-1', 9003)); // the restarted sidecar
  const back = buildSnapshot(registry, 'web-1', 'web', 8, DEFAULT_MESH_SETTINGS);
  assert.deepEqual(back.clusters.find((c) => c.service === 'cart')!.endpoints, [{ instance: 'cart-1', addr: '127.0.0.1', port: 9003 }]);
});
