import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { L7RequestTap } from '../../ingest/index.ts';
import type { ConfigSnapshot } from '../control/snapshot.ts';
import { startSidecar } from './index.ts';
import { startControlServer } from './testing/control-server.ts';
import { authzBundle } from './testing/policy-bundles.ts';
import { startRecordingCollector } from './testing/recording-collector.ts';
import { startRecordingWorkload } from './testing/recording-workload.ts';
import { rawExchange, request } from './testing/servers.ts';

function snapshot(version: number, policy_digest: string): ConfigSnapshot {
  return { version, proxy: 'cart-1', service: 'cart', routes: [], clusters: [], taps: { query_allow: [], header_allow: [] }, policy_digest };
}

/** cart behind its inbound sidecar, with a policy that denies exactly the path /checkout. */
async function checkoutClosed(t: { after(fn: () => Promise<void>): void }) {
  const workload = await startRecordingWorkload();
  const control = await startControlServer();
  const collector = await startRecordingCollector();
  const sidecar = await startSidecar({
    id: 'cart-1', service: 'cart', instance: 'cart-1', controlUrl: control.url, collectorUrl: collector.url,
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: workload.port },
    closeGraceMs: 200, controlRetryMaxMs: 50, taps: { lingerMs: 5 },
  });
  t.after(async () => { await sidecar.close(); await collector.close(); await control.close(); await workload.close(); });
  const policy = await authzBundle([
    'default decision := {"allow": true, "reason": "open"}',
    'decision := {"allow": false, "reason": "checkout is closed"} if input.request.path == "/checkout"',
  ].join('\n\n'));
  control.bundles.set(policy.digest, policy.bytes);
  await control.send(snapshot(1, policy.digest));
  assert.equal((await control.ackFor(1)).ok, true);
  const taps = async () => {
    await sidecar.taps.flush();
    assert.deepEqual(collector.problems, []);
    return collector.events().filter((e): e is L7RequestTap => e.kind === 'l7.request');
  };
  return { workload, sidecar, port: sidecar.inboundAddress!.port, taps };
}

test('the policy judges the normalised path: //checkout, /%63heckout and /healthz/../checkout are all /checkout and denied; the workload never sees them; taps record /checkout', async (t) => {
  const m = await checkoutClosed(t);
  const spellings = ['/checkout', '//checkout', '/%63heckout', '/healthz/../checkout', '/x/.%2E/./checkout?card=1'];
  for (const path of spellings) {
    const r = await request(m.port, { path });
    assert.equal(r.status, 403, path);
    assert.deepEqual(JSON.parse(r.body), { error: 'MESH_ERR_POLICY_DENIED', reason: 'checkout is closed' }, path);
  }
  const honest = await request(m.port, { path: '/healthz' });
  assert.equal(honest.status, 200);
  assert.deepEqual(m.workload.seen.map((r) => r.url), ['/healthz'], 'no spelling of /checkout reached the workload');

  const taps = await m.taps();
  assert.deepEqual(taps.map((e) => [e.path, e.status, e.decision, e.error]), [
    ...spellings.map(() => ['/checkout', 403, 'deny', 'MESH_ERR_POLICY_DENIED']),
    ['/healthz', 200, 'allow', ''],
  ]);
});

test('the workload is sent the normalised path, the one the policy allowed and the tap records', async (t) => {
  const m = await checkoutClosed(t);
  const r = await request(m.port, { path: '//healthz/./deep/..//%7Euser/%2a?q=a//b' });
  assert.equal(r.status, 200);
  assert.deepEqual(m.workload.seen.map((s) => s.url), ['/healthz/~user/%2A?q=a//b']);
  const [tap] = await m.taps();
  assert.deepEqual([tap.path, tap.decision], ['/healthz/~user/%2A', 'allow']);
});

test('refuses targets without one safe spelling with 400 MESH_ERR_BAD_PATH before the policy: counted and tapped, never forwarded; an honest request beside them is unharmed', async (t) => {
  const m = await checkoutClosed(t);
  const hostile = ['/healthz%2F..%2Fcheckout', '/healthz\\..\\checkout', '/check%00out', '/check%5Cout', '/%zzcheckout', '*'];
  for (const target of hostile) {
    const reply = await rawExchange(m.port, `GET ${target} HTTP/1.1\r\nHost: cart\r\nConnection: close\r\n\r\n`);
    assert.match(reply, /^HTTP\/1\.1 400 /, target);
    assert.match(reply, /x-meshlens-error: MESH_ERR_BAD_PATH\r\n/, target);
  }
  assert.equal((await request(m.port, { path: '/healthz' })).status, 200);
  assert.deepEqual(m.workload.seen.map((r) => r.url), ['/healthz']);
  const taps = await m.taps();
  assert.deepEqual(taps.map((e) => [e.status, e.error, e.decision ?? null]), [
    ...hostile.map(() => [400, 'MESH_ERR_BAD_PATH', null]),
    [200, '', 'allow'],
  ], 'refused before the policy: no decision recorded');
  assert.equal(m.sidecar.stats().inbound.errors.MESH_ERR_BAD_PATH, hostile.length);
});

test('outbound, an absolute-form target is routed by its own authority, which replaces a Host that names another service (RFC 9112 §3.2.2); its path is normalised', async (t) => {
  const cart = await startRecordingWorkload();
  const admin = await startRecordingWorkload();
  const collector = await startRecordingCollector();
  const web = await startSidecar({
    id: 'web-1', service: 'web', collectorUrl: collector.url, closeGraceMs: 200, taps: { lingerMs: 5 },
    outbound: { host: '127.0.0.1', port: 0 },
    routes: [{ authority: 'cart', endpoints: [{ host: '127.0.0.1', port: cart.port }] }, { authority: 'admin', endpoints: [{ host: '127.0.0.1', port: admin.port }] }],
  });
  t.after(async () => { await web.close(); await collector.close(); await cart.close(); await admin.close(); });
  const r = await request(web.outboundAddress!.port, { path: 'http://Cart//a/../pay?x=1', headers: { host: 'admin' } });
  assert.equal(r.status, 200);
  assert.deepEqual(cart.seen.map((s) => [s.url, s.headers.host]), [['/pay?x=1', 'Cart']]);
  assert.deepEqual(admin.seen, []);
  await web.taps.flush();
  const [tap] = collector.events().filter((e): e is L7RequestTap => e.kind === 'l7.request');
  assert.deepEqual([tap.dst_service, tap.authority, tap.path], ['cart', 'cart', '/pay']);
});
