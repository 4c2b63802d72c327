import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestControl } from './testing/mesh-clients.ts';

test('connect_by_service puts CONNECT ports on that service\'s cluster only; settings a sidecar would NACK stop the control plane from starting', async () => {
  const t = await startTestControl({ settings: { connect_by_service: { cart: { allow_ports: [5432] } } } });
  const cart = (await t.sidecar('cart', 'cart-1')).stream('inbound=127.0.0.1:9001');
  const web = (await t.sidecar('web', 'web-1')).stream('inbound=127.0.0.1:9002');
  try {
    const s = await web.next((x) => x.clusters.length === 2);
    assert.deepEqual(s.clusters.map((c) => [c.service, c.connect]).sort(), [['cart', { allow_ports: [5432] }], ['web', undefined]]);
  } finally {
    cart.close();
    web.close();
    await t.close();
  }
  await assert.rejects(startTestControl({ settings: { connect_by_service: { cart: { allow_ports: [0, 5432, 5432] } } } }),
    /control plane settings: settings\.connect_by_service\.cart\.allow_ports\[0\]: must be a port in 1\.\.65535, got 0; settings\.connect_by_service\.cart\.allow_ports\[2\]: 5432 is named twice/);
});
