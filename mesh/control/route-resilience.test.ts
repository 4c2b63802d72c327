import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchingRule, matchOrder, overridden, RouteResilienceError, type RouteResilienceRule } from './index.ts';
import { DEFAULT_RETRY } from './resilience.ts';
import { startTestControl } from './testing/mesh-clients.ts';

const RULES: RouteResilienceRule[] = [
  { path_prefix: '/search', request_timeout_ms: 2_000, per_try_timeout_ms: 500 },
  { path_prefix: '/pay', methods: ['POST'], retry: false },
];

test('PUT /v1/resilience/<service> puts the rules on that service\'s route in every sidecar\'s snapshot; GET lists them; DELETE clears them', async () => {
  const t = await startTestControl();
  const cart = (await t.sidecar('cart', 'cart-1')).stream('inbound=127.0.0.1:9001');
  const web = (await t.sidecar('web', 'web-1')).stream('inbound=127.0.0.1:9002');
  const op = t.operator();
  try {
    const first = await web.next((s) => s.routes.some((r) => r.authority === 'cart'));
    assert.equal(first.routes.some((r) => 'resilience' in r), false, 'no rules, no field');
    const put = await op.request('PUT', '/v1/resilience/cart', { rules: RULES });
    assert.equal(put.status, 200, put.body.toString());
    const body = put.json<{ service: string; rules: unknown; version: number }>();
    assert.deepEqual([body.service, body.rules], ['cart', RULES]);
    for (const s of [web, cart]) {
      const snap = await s.next((x) => x.version === body.version);
      assert.deepEqual(snap.routes.find((r) => r.authority === 'cart')!.resilience, RULES, `${snap.proxy}: the callers apply them, so every sidecar gets them`);
      assert.equal('resilience' in snap.routes.find((r) => r.authority === 'web')!, false, 'only the named service\'s route');
    }
    assert.deepEqual((await op.request('GET', '/v1/resilience')).json<{ resilience: unknown }>().resilience, [{ service: 'cart', rules: RULES }]);
    assert.deepEqual(t.cp.status().route_resilience, [{ service: 'cart', rules: RULES }]);

    const del = await op.request('DELETE', '/v1/resilience/cart');
    assert.equal(del.status, 200);
    const cleared = await web.next((s) => s.version === del.json<{ version: number }>().version);
    assert.equal('resilience' in cleared.routes.find((r) => r.authority === 'cart')!, false);
    assert.deepEqual([(await op.request('DELETE', '/v1/resilience/cart')).status, t.cp.status().route_resilience], [404, []]);

    const set = t.cp.setRouteResilience('cart', [{ path_prefix: '/', request_timeout_ms: 100 }]);
    assert.deepEqual((await web.next((s) => s.version === set.version)).routes.find((r) => r.authority === 'cart')!.resilience, [{ path_prefix: '/', request_timeout_ms: 100 }]);
  } finally {
    cart.close();
    web.close();
    await t.close();
  }
});

test('route resilience that cannot be taken, or that the cluster it overrides would make void, is refused 400 naming every problem, counted, and pushes nothing', async () => {
  // The mesh's request timeout is 3 s and cart's retry policy bounds each try to 1 s: rules are judged against those.
  const t = await startTestControl({ settings: { request_timeout_ms: 3_000, resilience_by_service: { cart: { retry: { ...DEFAULT_RETRY, per_try_timeout_ms: 1_000 } } } } });
  const op = t.operator();
  try {
    const before = t.cp.status().version;
    const r = await op.request('PUT', '/v1/resilience/cart', {
      rules: [
        { path_prefix: 'search', request_timeout_ms: 0, hedge: true },
        { path_prefix: '/a', methods: ['GET', 'CONNECT', 'GET'] },
        { path_prefix: '/a', methods: ['GET'], per_try_timeout_ms: 5_000 },
        { path_prefix: '/b', retry: false, per_try_timeout_ms: 100 },
        { path_prefix: '/c', request_timeout_ms: 500 },
        { path_prefix: '/d', retry: { attempts: 9, backoff_base_ms: 1, backoff_max_ms: 1, on: ['teapot'], budget: { ratio: 2, min_per_s: 1 } } },
        { path_prefix: '/e', methods: [], retry: { ...DEFAULT_RETRY, per_try_timeout_ms: 10 }, per_try_timeout_ms: 20 },
        { path_prefix: '/f?x=1', retry: false },
        7,
      ],
      extra: 1,
    });
    assert.equal(r.status, 400);
    const { code, problems } = r.json<{ code: string; problems: string[] }>();
    assert.equal(code, 'MESH_ERR_BAD_ROUTE_RESILIENCE');
    assert.deepEqual(problems, [
      'body: unknown field "extra" (only "rules")',
      'rules[0]: unknown field "hedge" (only path_prefix, methods, request_timeout_ms, per_try_timeout_ms, retry)',
      'rules[0].path_prefix: "search" is not a path starting with "/" (at most 256 visible ASCII characters, no "?" or "#")',
      'rules[0].request_timeout_ms: must be an integer in 1..86400000, got 0',
      'rules[1].methods[1]: "CONNECT" is not one of GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, TRACE',
      'rules[1].methods[2]: "GET" is named twice',
      'rules[1]: overrides nothing (name request_timeout_ms, per_try_timeout_ms or retry)',
      'rules[2].per_try_timeout_ms: 5000 is more than the request timeout in force (3000), which bounds every try together',
      'rules[2]: the same path_prefix "/a" and method GET as rules[1]',
      'rules[3].per_try_timeout_ms: retry is false, so there are no tries to bound (a single try is bounded by request_timeout_ms)',
      'rules[4].request_timeout_ms: 500 is less than the cluster\'s retry.per_try_timeout_ms (1000); give per_try_timeout_ms too',
      'rules[5].retry.attempts: must be an integer in 1..5, got 9',
      'rules[5].retry.on[0]: "teapot" is not one of connect-failure, reset, timeout, unavailable, gateway-error, 5xx, rate-limited',
      'rules[5].retry.budget.ratio: must be a number in 0..1, got 2',
      'rules[6].methods: must be a non-empty array of GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, TRACE (or absent: every method)',
      'rules[6].per_try_timeout_ms: also given as retry.per_try_timeout_ms; name it once',
      'rules[7].path_prefix: "/f?x=1" is not a path starting with "/" (at most 256 visible ASCII characters, no "?" or "#")',
      'rules[8]: must be an object',
    ]);
    const many = Array.from({ length: 65 }, (_, i) => ({ path_prefix: `/p${i}`, retry: false }));
    assert.deepEqual((await op.request('PUT', '/v1/resilience/cart', { rules: many })).json<{ problems: string[] }>().problems, ['rules: 65 rules, at most 64']);
    assert.deepEqual((await op.request('PUT', '/v1/resilience/cart', '[]')).json<{ problems: string[] }>().problems, ['body: must be {"rules": [...]}']);
    assert.deepEqual((await op.request('PUT', '/v1/resilience/cart', { rules: {} })).json<{ problems: string[] }>().problems,
      ['rules: must be an array of {path_prefix, methods?, request_timeout_ms?, per_try_timeout_ms?, retry?}']);
    assert.match((await op.request('PUT', '/v1/resilience/..%2Fcart', { rules: [] })).json<{ message: string }>().message, /service: "..%2Fcart" is not 1-128/);
    const big = await op.request('PUT', '/v1/resilience/cart', { rules: [{ path_prefix: `/${'x'.repeat(70_000)}`, retry: false }] });
    assert.deepEqual([big.status, big.json<{ problems: string[] }>().problems], [400, ['body larger than 65536 bytes']]);
    assert.equal((await op.request('POST', '/v1/resilience')).status, 405);
    assert.throws(() => t.cp.setRouteResilience('cart', [{ path_prefix: '/', per_try_timeout_ms: 4_000 }]),
      (e: unknown) => e instanceof RouteResilienceError && /rules\[0\]\.per_try_timeout_ms: 4000 is more than the request timeout in force \(3000\)/.test(e.message));

    const st = t.cp.status();
    assert.deepEqual([st.route_resilience, st.refused_changes.route_resilience], [[], 7]);
    assert.equal(st.version, before, 'a refused change pushes nothing');
  } finally {
    await t.close();
  }
});

test('a request takes the rule with the longest prefix, a rule naming its method before one naming none; what it leaves out is the cluster\'s', () => {
  const rules: RouteResilienceRule[] = [
    { path_prefix: '/', request_timeout_ms: 1 },
    { path_prefix: '/api/', request_timeout_ms: 2 },
    { path_prefix: '/api/', methods: ['POST'], retry: false },
    { path_prefix: '/api/slow', request_timeout_ms: 4 },
  ];
  const ordered = matchOrder(rules);
  const take = (method: string, path: string) => rules.indexOf(matchingRule(ordered, method, path)!);
  assert.deepEqual([take('GET', '/x'), take('GET', '/api/x'), take('POST', '/api/x'), take('POST', '/api/slowly'), take('GET', '/ap')], [0, 1, 2, 3, 0]);
  assert.equal(matchingRule(matchOrder([{ path_prefix: '/api', retry: false }]), 'GET', '/'), undefined);

  const cluster = { request_timeout_ms: 10_000, retry: { ...DEFAULT_RETRY, per_try_timeout_ms: 1_000 } };
  assert.deepEqual(overridden({ path_prefix: '/', request_timeout_ms: 3_000 }, cluster), { request_timeout_ms: 3_000, retry: cluster.retry });
  assert.deepEqual(overridden({ path_prefix: '/', per_try_timeout_ms: 200 }, cluster), { request_timeout_ms: 10_000, retry: { ...DEFAULT_RETRY, per_try_timeout_ms: 200 } });
  assert.deepEqual(overridden({ path_prefix: '/', retry: false }, cluster), { request_timeout_ms: 10_000 });
  assert.equal(cluster.retry.per_try_timeout_ms, 1_000, 'the cluster\'s policy is not changed by a rule');
});
