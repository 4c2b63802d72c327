import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestControl } from './testing/mesh-clients.ts';

// Every operator route of the control plane, tried without the token, with a
// wrong one, with a rebinding Host, from a foreign Origin and with a sidecar's
// certificate instead of the token: each refused, counted, and nothing changed.
const ROUTES: [string, string, unknown][] = [
  ['GET', '/v1/status', undefined],
  ['POST', '/v1/identity/join-tokens', { service: 'payments', proxy: 'evil-1' }],
  ['POST', '/v1/identity/rotate-ca', undefined],
  ['PUT', '/v1/policy/bundle', 'allow all'],
  ['POST', '/v1/policy/replay', { from: 0, until: 1, draft: { files: { 'd.rego': 'package meshlens.authz' } } }],
  ['GET', '/v1/routes', undefined],
  ['PUT', '/v1/routes/payments', { subsets: [{ version: 'v2', weight: 100 }] }],
  ['GET', '/v1/ejections', undefined],
  ['PUT', '/v1/ejections/cart-1', { seconds: 60, reason: 'abuse check' }],
  ['DELETE', '/v1/ejections/cart-1', undefined],
  ['GET', '/v1/ratelimits', undefined],
  ['PUT', '/v1/ratelimits/cart', { rules: [{ rps: 1, burst: 1 }] }],
  ['DELETE', '/v1/ratelimits/cart', undefined],
  ['GET', '/v1/resilience', undefined],
  ['PUT', '/v1/resilience/cart', { rules: [{ path_prefix: '/', retry: false }] }],
  ['DELETE', '/v1/resilience/cart', undefined],
];

test('operator routes refuse a missing or wrong token, a rebinding Host, a foreign Origin and a sidecar certificate; nothing changes', async () => {
  const t = await startTestControl();
  try {
    const port = new URL(t.cp.url).port;
    const sidecar = await t.sidecar('cart', 'cart-1');
    // cart-1 registered as an endpoint, so an ejection of it would be taken if let through.
    const stream = sidecar.stream('inbound=127.0.0.1:9001');
    await stream.next(() => true);
    const attempts: [string, ReturnType<typeof t.anonymous>, Record<string, string>, number][] = [
      ['no token', t.anonymous(), {}, 401],
      ['wrong token', t.anonymous(), { authorization: 'Bearer guessed' }, 401],
      ['rebinding Host', t.operator(), { host: `evil.example:${port}` }, 421],
      ['foreign Origin', t.operator(), { origin: 'http://evil.example' }, 403],
      ['a sidecar certificate, no token', sidecar, {}, 401],
    ];
    let refused = 0;
    for (const [method, path, body] of ROUTES) {
      for (const [what, client, headers, status] of attempts) {
        const r = await client.request(method, path, body as object | string | undefined, headers);
        // A state change without Origin or token is refused as cross-origin (403) before credentials are read.
        const expected = status === 401 && method !== 'GET' && !headers.authorization ? 403 : status;
        assert.equal(r.status, expected, `${method} ${path}, ${what}`);
        refused++;
      }
    }
    const st = t.cp.status();
    assert.equal(st.refused_operator_requests, refused);
    assert.equal(t.cp.tokens.outstanding, 0, 'no join token was issued');
    assert.equal(st.identity.rotation.state, 'none', 'no CA rotation began');
    assert.equal(st.policy.digest, '', 'no policy was installed');
    assert.deepEqual(st.routes.routes, [], 'no route weights were set');
    assert.deepEqual(st.ejections, [], 'no instance was ejected');
    assert.deepEqual(st.rate_limits, [], 'no rate limit was set');
    assert.deepEqual(st.route_resilience, [], 'no route resilience was set');
    // The operator, honestly, on the same routes.
    assert.equal((await t.operator().request('GET', '/v1/status')).status, 200);
    assert.equal((await t.operator().request('POST', '/v1/identity/join-tokens', { service: 'payments', proxy: 'payments-2' })).status, 201);
    assert.equal(t.cp.tokens.outstanding, 1);
    assert.equal((await t.operator().request('PUT', '/v1/ejections/cart-1', { seconds: 60, reason: 'honest' })).status, 200);
    stream.close();
  } finally {
    await t.close();
  }
});
