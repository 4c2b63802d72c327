import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteWeightsError } from './index.ts';
import { startTestControl } from './testing/mesh-clients.ts';

const SPLIT = { subsets: [{ version: 'v1', weight: 90 }, { version: 'v2', weight: 10 }] };

test('a sidecar\'s labels ride on its endpoint in every snapshot and in /v1/status; an unlabelled endpoint carries none', async () => {
  const t = await startTestControl();
  const v1 = (await t.sidecar('payments', 'payments-1')).stream('inbound=127.0.0.1:9001&labels=version=v1,zone=a');
  const plain = (await t.sidecar('cart', 'cart-1')).stream('inbound=127.0.0.1:9002');
  try {
    const snap = await plain.next((s) => s.clusters.length === 2);
    assert.deepEqual(snap.clusters.find((c) => c.service === 'payments')!.endpoints,
      [{ instance: 'payments-1', addr: '127.0.0.1', port: 9001, labels: { version: 'v1', zone: 'a' } }]);
    assert.deepEqual(snap.clusters.find((c) => c.service === 'cart')!.endpoints, [{ instance: 'cart-1', addr: '127.0.0.1', port: 9002 }]);

    const st = (await t.operator().request('GET', '/v1/status')).json<{ services: Record<string, { labels?: object }[]>; proxies: { proxy: string; labels: object }[] }>();
    assert.deepEqual(st.services.payments[0].labels, { version: 'v1', zone: 'a' });
    assert.deepEqual(st.proxies.map((p) => [p.proxy, p.labels]), [['cart-1', {}], ['payments-1', { version: 'v1', zone: 'a' }]]);
  } finally {
    v1.close();
    plain.close();
    await t.close();
  }
});

test('a config stream with bad labels is refused 403 naming every problem, and registers nothing', async () => {
  const t = await startTestControl();
  try {
    const pay = await t.sidecar('payments', 'payments-1');
    const r = await pay.request('GET', `/v1/config/stream?inbound=127.0.0.1:9001&labels=${encodeURIComponent(`version=v1,version=v2,zone,te am=x,k=${'x'.repeat(64)}`)}`);
    assert.equal(r.status, 403);
    const { code, message } = r.json<{ code: string; message: string }>();
    assert.equal(code, 'MESH_ERR_BAD_STREAM_REQUEST');
    assert.equal(message, [
      "labels: label 'version' given twice",
      'labels: expected KEY=VALUE, each 1-63 of [A-Za-z0-9._-], got "zone"',
      'labels: expected KEY=VALUE, each 1-63 of [A-Za-z0-9._-], got "te am=x"',
      `labels: expected KEY=VALUE, each 1-63 of [A-Za-z0-9._-], got "k=${'x'.repeat(64)}"`,
    ].join('; '));
    assert.deepEqual(t.cp.status().services, {});
  } finally {
    await t.close();
  }
});

test('PUT /v1/routes/<service> gives every sidecar a new version whose route has one backend per subset; GET lists it; DELETE returns the default route', async () => {
  const t = await startTestControl();
  const web = (await t.sidecar('web', 'web-1')).stream('');
  const op = t.operator();
  try {
    const first = await web.next(() => true);
    const put = await op.request('PUT', '/v1/routes/payments', SPLIT);
    assert.equal(put.status, 200);
    const body = put.json<{ service: string; subsets: unknown; version: number }>();
    assert.deepEqual([body.service, body.subsets], ['payments', SPLIT.subsets]);
    assert.ok(body.version > first.version);
    const pushed = await web.next((s) => s.version === body.version);
    // No payments instance has registered yet: the weights wait for the service.
    assert.equal(pushed.routes.some((r) => r.authority === 'payments'), false);

    const pay = (await t.sidecar('payments', 'payments-2')).stream('inbound=127.0.0.1:9002&labels=version=v2');
    const withPayments = await web.next((s) => s.routes.some((r) => r.authority === 'payments'));
    assert.deepEqual(withPayments.routes.find((r) => r.authority === 'payments')!.backends, [
      { cluster: 'payments', subset: { version: 'v1' }, weight: 90 },
      { cluster: 'payments', subset: { version: 'v2' }, weight: 10 },
    ]);
    assert.deepEqual(withPayments.routes.find((r) => r.authority === 'web')!.backends, [{ cluster: 'web', weight: 1 }], 'other routes keep the default');

    const list = await op.request('GET', '/v1/routes');
    assert.equal(list.status, 200);
    assert.deepEqual(list.json<{ routes: { service: string; subsets: unknown }[] }>().routes.map((r) => [r.service, r.subsets]), [['payments', SPLIT.subsets]]);
    assert.deepEqual(t.cp.status().routes.routes.map((r) => r.service), ['payments']);

    const del = await op.request('DELETE', '/v1/routes/payments');
    assert.equal(del.status, 200);
    const back = await web.next((s) => s.version === del.json<{ version: number }>().version);
    assert.deepEqual(back.routes.find((r) => r.authority === 'payments')!.backends, [{ cluster: 'payments', weight: 1 }]);
    assert.deepEqual((await op.request('GET', '/v1/routes')).json<{ routes: unknown[] }>().routes, []);
    const again = await op.request('DELETE', '/v1/routes/payments');
    assert.equal(again.status, 404);
    assert.equal(again.json<{ code: string }>().code, 'MESH_ERR_NOT_FOUND');
    pay.close();
  } finally {
    web.close();
    await t.close();
  }
});

test('weights that cannot be taken are refused 400 naming every problem, counted, and push nothing', async () => {
  const t = await startTestControl();
  const op = t.operator();
  try {
    const before = t.cp.status().version;
    const r = await op.request('PUT', '/v1/routes/payments', {
      subsets: [{ version: 'v1', weight: 0 }, { version: 'v1', weight: 0 }, { weight: 5 }, { version: 'v 2', weight: 1.5 }], extra: 1,
    });
    assert.equal(r.status, 400);
    const { code, problems } = r.json<{ code: string; problems: string[] }>();
    assert.equal(code, 'MESH_ERR_BAD_ROUTE_WEIGHTS');
    assert.deepEqual(problems, [
      'body: unknown field "extra" (only "subsets")',
      'subsets[1]: the same subset {version=v1} as subsets[0]',
      'subsets[2]: names no label (e.g. "version": "v2")',
      'subsets[3].weight: must be an integer in 0..100000, got 1.5',
      'subsets[3].version: value "v 2" is not 1-63 of [A-Za-z0-9._-]',
    ]);
    const allZero = await op.request('PUT', '/v1/routes/payments', { subsets: [{ version: 'v1', weight: 0 }] });
    assert.deepEqual(allZero.json<{ problems: string[] }>().problems, ['subsets: at least one weight must be > 0']);
    const badName = await op.request('PUT', '/v1/routes/pay%20ments', SPLIT);
    assert.match(badName.json<{ message: string }>().message, /service: "pay%20ments" is not 1-128 of \[A-Za-z0-9._-\]/);
    assert.equal((await op.request('PUT', '/v1/routes/payments', '{not json')).status, 400);
    assert.equal((await op.request('POST', '/v1/routes')).status, 405);

    const st = t.cp.status();
    assert.deepEqual([st.routes.accepted, st.routes.refused, st.routes.routes], [0, 4, []]);
    assert.equal(st.version, before, 'a refused change pushes nothing');
    assert.throws(() => t.cp.setRouteWeights('payments', [{ version: 'v1', weight: -1 }]),
      (e: unknown) => e instanceof RouteWeightsError && e.problems[0] === 'subsets[0].weight: must be an integer in 0..100000, got -1');
  } finally {
    await t.close();
  }
});

test('route weights without the operator token, with Host: evil.example or from a foreign Origin are refused and nothing changes', async () => {
  const t = await startTestControl();
  try {
    const port = new URL(t.cp.url).port;
    const attempts: [string, string, ReturnType<typeof t.anonymous>, Record<string, string>, number, string][] = [
      ['PUT no token', 'PUT', t.anonymous(), {}, 403, 'MESH_ERR_ORIGIN_NOT_ALLOWED'],
      ['PUT wrong token', 'PUT', t.anonymous(), { authorization: 'Bearer guessed' }, 401, 'MESH_ERR_UNAUTHENTICATED'],
      ['PUT rebinding', 'PUT', t.operator(), { host: `evil.example:${port}` }, 421, 'MESH_ERR_HOST_NOT_ALLOWED'],
      ['PUT foreign origin', 'PUT', t.operator(), { origin: 'http://evil.example' }, 403, 'MESH_ERR_ORIGIN_NOT_ALLOWED'],
      ['GET rebinding', 'GET', t.operator(), { host: `evil.example:${port}` }, 421, 'MESH_ERR_HOST_NOT_ALLOWED'],
      ['DELETE no token', 'DELETE', t.anonymous(), {}, 403, 'MESH_ERR_ORIGIN_NOT_ALLOWED'],
    ];
    for (const [what, method, client, headers, status, code] of attempts) {
      const r = await client.request(method, method === 'GET' ? '/v1/routes' : '/v1/routes/payments', method === 'PUT' ? SPLIT : undefined, headers);
      assert.equal(r.status, status, what);
      assert.equal(r.json<{ code: string }>().code, code, what);
    }
    // A sidecar's certificate is not an operator either.
    assert.equal((await (await t.sidecar('payments', 'payments-1')).request('PUT', '/v1/routes/payments', SPLIT)).status, 403);
    assert.equal(t.cp.status().refused_operator_requests, attempts.length + 1);
    assert.deepEqual(t.cp.status().routes.routes, []);
  } finally {
    await t.close();
  }
});

test('setRouteWeights, in process, pushes the same snapshot as the API; an empty list returns the default route', async () => {
  const t = await startTestControl();
  const pay = (await t.sidecar('payments', 'payments-1')).stream('inbound=127.0.0.1:9001&labels=version=v1');
  try {
    await pay.next(() => true);
    const set = t.cp.setRouteWeights('payments', [{ version: 'v1', weight: 3 }, { version: 'v2', weight: 1 }]);
    const snap = await pay.next((s) => s.version === set.version);
    assert.deepEqual(snap.routes[0].backends.map((b) => [b.subset, b.weight]), [[{ version: 'v1' }, 3], [{ version: 'v2' }, 1]]);
    const cleared = t.cp.setRouteWeights('payments', []);
    assert.deepEqual((await pay.next((s) => s.version === cleared.version)).routes[0].backends, [{ cluster: 'payments', weight: 1 }]);
  } finally {
    pay.close();
    await t.close();
  }
});
