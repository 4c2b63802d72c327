import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimitsError } from './index.ts';
import { startTestControl } from './testing/mesh-clients.ts';

const RULES = [{ caller: 'web', rps: 5, burst: 10 }, { path_prefix: '/admin', rps: 0.5, burst: 1 }];

test('PUT /v1/ratelimits/<service> gives that service\'s own sidecars the rules as rate_limits and no other sidecar any; GET lists them; DELETE clears them', async () => {
  const t = await startTestControl();
  const cart = (await t.sidecar('cart', 'cart-1')).stream('inbound=127.0.0.1:9001');
  const web = (await t.sidecar('web', 'web-1')).stream('');
  const op = t.operator();
  try {
    const first = await cart.next(() => true);
    assert.equal('rate_limits' in first, false, 'no limits, no field');
    const put = await op.request('PUT', '/v1/ratelimits/cart', { rules: RULES });
    assert.equal(put.status, 200, put.body.toString());
    const body = put.json<{ service: string; rules: unknown; version: number }>();
    assert.deepEqual([body.service, body.rules], ['cart', RULES]);
    assert.deepEqual((await cart.next((s) => s.version === body.version)).rate_limits, RULES);
    assert.equal('rate_limits' in await web.next((s) => s.version === body.version), false, 'a caller\'s snapshot carries none');

    assert.deepEqual((await op.request('GET', '/v1/ratelimits')).json<{ rate_limits: unknown }>().rate_limits, [{ service: 'cart', rules: RULES }]);
    assert.deepEqual(t.cp.status().rate_limits, [{ service: 'cart', rules: RULES }]);

    const del = await op.request('DELETE', '/v1/ratelimits/cart');
    assert.equal(del.status, 200);
    assert.equal('rate_limits' in await cart.next((s) => s.version === del.json<{ version: number }>().version), false);
    assert.deepEqual([(await op.request('DELETE', '/v1/ratelimits/cart')).status, t.cp.status().rate_limits], [404, []]);

    const set = t.cp.setRateLimits('cart', [{ rps: 1, burst: 2 }]);
    assert.deepEqual((await cart.next((s) => s.version === set.version)).rate_limits, [{ rps: 1, burst: 2 }]);
    const cleared = t.cp.setRateLimits('cart', []);
    assert.equal('rate_limits' in await cart.next((s) => s.version === cleared.version), false, '[] clears');
  } finally {
    cart.close();
    web.close();
    await t.close();
  }
});

test('rate limits that cannot be taken are refused 400 naming every problem, counted, and push nothing', async () => {
  const t = await startTestControl();
  const op = t.operator();
  try {
    const before = t.cp.status().version;
    const r = await op.request('PUT', '/v1/ratelimits/cart', {
      rules: [
        { caller: 'web', rps: 0, burst: 1.5 },
        { caller: 'we b', path_prefix: 'admin', rps: 1, burst: 1, per: 'minute' },
        { caller: 'web', rps: 2, burst: 2 },
        'fast',
      ],
      extra: true,
    });
    assert.equal(r.status, 400);
    const { code, problems } = r.json<{ code: string; problems: string[] }>();
    assert.equal(code, 'MESH_ERR_BAD_RATE_LIMITS');
    assert.deepEqual(problems, [
      'body: unknown field "extra" (only "rules")',
      'rules[0].rps: must be a number in (0, 1000000], got 0',
      'rules[0].burst: must be an integer in 1..1000000, got 1.5',
      'rules[1]: unknown field "per" (only caller, path_prefix, rps, burst)',
      'rules[1].caller: "we b" is not a service name (1-128 of [A-Za-z0-9._-])',
      'rules[1].path_prefix: "admin" is not a path starting with "/" (at most 256 visible ASCII characters, no "?" or "#")',
      'rules[2]: the same caller and path_prefix as rules[0]',
      'rules[3]: must be an object',
    ]);
    const none = await op.request('PUT', '/v1/ratelimits/cart', { rule: [] });
    assert.deepEqual(none.json<{ problems: string[] }>().problems, ['body: unknown field "rule" (only "rules")', 'rules: must be an array of {caller?, path_prefix?, rps, burst}']);
    assert.deepEqual((await op.request('PUT', '/v1/ratelimits/cart', '[]')).json<{ problems: string[] }>().problems, ['body: must be {"rules": [...]}']);
    assert.match((await op.request('PUT', '/v1/ratelimits/ca%20rt', { rules: [] })).json<{ message: string }>().message, /service: "ca%20rt" is not 1-128/);
    assert.equal((await op.request('POST', '/v1/ratelimits')).status, 405);
    assert.throws(() => t.cp.setRateLimits('cart', [{ rps: 1, burst: 0 }]),
      (e: unknown) => e instanceof RateLimitsError && e.message === 'rate limits for "cart": rules[0].burst: must be an integer in 1..1000000, got 0');

    const st = t.cp.status();
    assert.deepEqual([st.rate_limits, st.refused_changes.rate_limits], [[], 5]);
    assert.equal(st.version, before, 'a refused change pushes nothing');
  } finally {
    await t.close();
  }
});
