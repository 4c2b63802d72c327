import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CertificateAuthority } from '../../identity/index.ts';
import { startTestControl } from './testing/mesh-clients.ts';

test('pushes every sidecar a new snapshot when an instance registers, and deregisters it when its stream closes', async () => {
  const t = await startTestControl();
  try {
    const cart = (await t.sidecar('cart', 'cart-1')).stream('inbound=127.0.0.1:9001');
    const first = await cart.next((s) => s.clusters.some((c) => c.service === 'cart'));
    assert.deepEqual(first.clusters.map((c) => c.service), ['cart']);
    assert.equal(first.proxy, 'cart-1');

    const web = (await t.sidecar('web', 'web-1')).stream('inbound=127.0.0.1:9002');
    const both = await cart.next((s) => s.clusters.length === 2);
    assert.ok(both.version > first.version, 'versions only grow');
    assert.deepEqual(both.routes.map((r) => r.authority), ['cart', 'web']);
    assert.deepEqual(both.clusters.find((c) => c.service === 'web')!.endpoints, [{ instance: 'web-1', addr: '127.0.0.1', port: 9002 }]);

    web.close();
    const after = await cart.next((s) => s.version > both.version && (s.clusters.find((c) => c.service === 'web')?.endpoints.length ?? 0) === 0);
    assert.deepEqual(after.clusters.find((c) => c.service === 'cart')!.endpoints.map((e) => e.instance), ['cart-1']);
    assert.deepEqual(t.cp.status().services.web ?? [], []);
    cart.close();
  } finally {
    await t.close();
  }
});

test('records ACKs and NACKs per proxy version and rejects a malformed ACK naming the fields', async () => {
  const t = await startTestControl();
  try {
    const pay = await t.sidecar('payments', 'pay-1');
    const s = pay.stream('inbound=127.0.0.1:9003');
    const snap = await s.next(() => true);
    assert.equal((await pay.request('POST', '/v1/config/ack', { proxy: 'pay-1', version: snap.version, ok: true })).status, 204);
    assert.equal(t.cp.status().proxies[0].acked_version, snap.version);

    assert.equal((await pay.request('POST', '/v1/config/ack', { proxy: 'pay-1', version: snap.version + 1, ok: false, error: 'routes[0]: no backends' })).status, 204);
    assert.deepEqual(t.cp.status().proxies[0].nack, { version: snap.version + 1, error: 'routes[0]: no backends' });

    const bad = await pay.request('POST', '/v1/config/ack', { proxy: 'pay-1', version: 'x' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.toString(), /version: number/);
    s.close();
  } finally {
    await t.close();
  }
});

test('finding 3: a config stream without a certificate is refused 401 and registers nothing; the honest sidecar beside it keeps its endpoint', async () => {
  const t = await startTestControl();
  try {
    const honest = (await t.sidecar('payments', 'payments-1')).stream('inbound=127.0.0.1:9100');
    await honest.next(() => true);
    // The attack as found: a stream for a made-up proxy of payments pointing at the attacker's listener.
    const evil = t.anonymous().stream('proxy=evil-1&service=payments&inbound=127.0.0.1:9999');
    assert.equal(await evil.status, 401);
    evil.close();
    assert.deepEqual(t.cp.status().services.payments, [{ instance: 'payments-1', addr: '127.0.0.1', port: 9100 }]);
    assert.equal(t.cp.status().identity.refused_sidecar_requests, 1);
    honest.close();
  } finally {
    await t.close();
  }
});

test('finding 3: a sidecar certificate cannot register another service or proxy, nor an address it does not connect from', async () => {
  const t = await startTestControl();
  try {
    const cart = await t.sidecar('cart', 'cart-1');
    for (const [query, why] of [
      ['proxy=evil-1&inbound=127.0.0.1:9999', /proxy: "evil-1" is not the certificate's proxy "cart-1"/],
      ['service=payments&inbound=127.0.0.1:9999', /service: "payments" is not the certificate's service "cart"/],
      ['inbound=127.0.0.9:9999', /127\.0\.0\.9 is not the address this sidecar connects from \(127\.0\.0\.1\)/],
    ] as const) {
      const r = await cart.request('GET', `/v1/config/stream?${query}`);
      assert.equal(r.status, 403, query);
      assert.match(r.json<{ message: string }>().message, why);
    }
    assert.deepEqual(t.cp.status().services, {});
    // An ACK for someone else's config is refused too.
    const ack = await cart.request('POST', '/v1/config/ack', { proxy: 'payments-1', version: 1, ok: true });
    assert.equal(ack.status, 400);
    assert.match(ack.body.toString(), /ACKs only its own config/);
  } finally {
    await t.close();
  }
});

test('a certificate from another CA is not a sidecar: streams, bundles, taps and renewals are refused 401', async () => {
  const t = await startTestControl({ taps: (_req, res) => { res.writeHead(200).end(); } });
  try {
    const other = await CertificateAuthority.open({ dir: null, trustDomain: 'test.local' });
    const forged = await t.sidecar('cart', 'cart-1', other);
    for (const [method, path] of [['GET', '/v1/config/stream?inbound=127.0.0.1:9001'], ['GET', `/v1/policy/bundles/${'0'.repeat(64)}`], ['POST', '/v1/taps'], ['POST', '/v1/identity/renew']] as const) {
      const r = await forged.request(method, path, method === 'POST' ? '{}' : undefined);
      assert.equal(r.status, 401, path);
      assert.equal(r.json<{ code: string }>().code, 'MESH_ERR_UNAUTHENTICATED');
    }
    assert.deepEqual(t.cp.status().services, {});
  } finally {
    await t.close();
  }
});
