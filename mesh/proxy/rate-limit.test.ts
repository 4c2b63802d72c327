import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { L7RequestTap } from '../../ingest/index.ts';
import type { ConfigSnapshot } from '../control/snapshot.ts';
import { ERROR_HEADER, startSidecar } from './index.ts';
import { startControlServer } from './testing/control-server.ts';
import { startRecordingCollector } from './testing/recording-collector.ts';
import { startRecordingWorkload } from './testing/recording-workload.ts';
import { request } from './testing/servers.ts';
import { startSmallMesh } from './testing/small-mesh.ts';

/** cart-1 (taps recorded) called by web-1 and shop-1, all settled. */
async function cartWithTwoCallers(t: { after(fn: () => Promise<void>): void }) {
  const collector = await startRecordingCollector();
  t.after(() => collector.close());
  const mesh = await startSmallMesh(t);
  const cart = await mesh.instance('cart', 'cart-1', collector.url);
  const web = await mesh.caller('web', 'web-1');
  const shop = await mesh.caller('shop', 'shop-1');
  await mesh.settled();
  const taps = async () => {
    await cart.taps.flush();
    assert.deepEqual(collector.problems, []);
    return collector.events().filter((e): e is L7RequestTap => e.kind === 'l7.request').map((e) => [e.src_service, e.path, e.status, e.error]);
  };
  return { mesh, cart, web, shop, taps };
}

test('a caller past its rate gets 429 MESH_ERR_RATE_LIMITED with retry-after and the code in the callee\'s tap, while another caller of the same service is not limited', async (t) => {
  const { mesh, cart, web, shop, taps } = await cartWithTwoCallers(t);
  // Each caller its own bucket of 2, refilled once every 100 s: nothing refills during the test.
  await mesh.applied(mesh.control.cp.setRateLimits('cart', [{ rps: 0.01, burst: 2 }]).version);

  const fromWeb = [await web.call('cart', '/a'), await web.call('cart', '/b'), await web.call('cart', '/c')];
  assert.deepEqual(fromWeb.map((r) => r.status), [200, 200, 429]);
  const limited = fromWeb[2];
  assert.equal(limited.headers[ERROR_HEADER], 'MESH_ERR_RATE_LIMITED');
  assert.equal(limited.headers['retry-after'], '100');
  assert.equal(limited.headers['content-type'], 'application/json');
  const body = JSON.parse(limited.body) as { code: string; message: string };
  assert.equal(body.code, 'MESH_ERR_RATE_LIMITED');
  assert.match(body.message, /^web -> cart is over its rate limit \(rule rate_limits\[0\]: each caller, 0\.01 rps, burst 2\); GET \/c refused$/);

  assert.deepEqual([(await shop.call('cart', '/d')).status, (await shop.call('cart', '/e')).status], [200, 200], 'shop has a bucket of its own');

  assert.deepEqual(await taps(), [
    ['web', '/a', 200, ''], ['web', '/b', 200, ''], ['web', '/c', 429, 'MESH_ERR_RATE_LIMITED'], ['shop', '/d', 200, ''], ['shop', '/e', 200, ''],
  ]);
  const st = cart.stats();
  assert.deepEqual(st.rate_limits, { checked: 5, limited: 1, limited_by_caller: { web: 1 } });
  assert.equal(st.inbound.errors.MESH_ERR_RATE_LIMITED, 1);
});

test('a rule naming a caller and a path prefix limits only that caller on those paths, and a snapshot that keeps the rule keeps its buckets', async (t) => {
  const { mesh, web, shop } = await cartWithTwoCallers(t);
  const cp = mesh.control.cp;
  await mesh.applied(cp.setRateLimits('cart', [{ caller: 'web', path_prefix: '/admin', rps: 0.01, burst: 1 }]).version);
  const status = async (c: typeof web, path: string) => (await c.call('cart', path)).status;

  assert.deepEqual([await status(web, '/admin/users'), await status(web, '/admin'), await status(web, '/shop')], [200, 429, 200]);
  assert.deepEqual([await status(shop, '/admin/users'), await status(shop, '/admin/users')], [200, 200]);
  // A new version for something else (another service's limits) does not refill web's bucket.
  await mesh.applied(cp.setRateLimits('web', [{ rps: 1, burst: 1 }]).version);
  assert.equal(await status(web, '/admin/users'), 429);
  // Cleared, nobody is limited.
  await mesh.applied(cp.setRateLimits('cart', []).version);
  assert.equal(await status(web, '/admin/users'), 200);
});

test('a snapshot with bad rate limits is NACKed naming the field, and the sidecar keeps the limits it had', async (t) => {
  const control = await startControlServer();
  const workload = await startRecordingWorkload();
  const cart = await startSidecar({
    id: 'cart-1', service: 'cart', controlUrl: control.url, closeGraceMs: 200, controlRetryMaxMs: 50, taps: { enabled: false },
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: workload.port },
  });
  t.after(async () => { await cart.close(); await control.close(); await workload.close(); });
  const snap = (version: number, rateLimits: unknown): ConfigSnapshot => ({
    version, proxy: 'cart-1', service: 'cart', routes: [], clusters: [], taps: { query_allow: [], header_allow: [] }, policy_digest: '',
    rate_limits: rateLimits as ConfigSnapshot['rate_limits'],
  });
  await control.send(snap(1, [{ rps: 1, burst: 1 }]));
  assert.equal((await control.ackFor(1)).ok, true);
  for (const [version, rules, problem] of [
    [2, [{ rps: -1, burst: 1 }], 'rate_limits[0].rps: must be a number in (0, 1000000], got -1'],
    [3, [{ rps: 1, burst: 1 }, { caller: 'web', rps: 1, burst: 1, path_prefix: 'x' }], 'rate_limits[1].path_prefix: "x" is not a path starting with "/" (at most 256 visible ASCII characters, no "?" or "#")'],
    [4, { rps: 1 }, 'rate_limits: must be an array of {caller?, path_prefix?, rps, burst}'],
  ] as [number, unknown, string][]) {
    await control.send(snap(version, rules));
    assert.deepEqual(await control.ackFor(version), { proxy: 'cart-1', version, ok: false, error: problem });
  }
  assert.equal(cart.stats().config.version, 1, 'version 1 and its limits stay in force');
  // Plaintext (no control plane issuing SVIDs here): every caller is "external", and has one token.
  const statuses = [(await request(cart.inboundAddress!.port, { path: '/x' })).status, (await request(cart.inboundAddress!.port, { path: '/y' })).status];
  assert.deepEqual(statuses, [200, 429]);
  assert.deepEqual(cart.stats().rate_limits.limited_by_caller, { external: 1 });
});
