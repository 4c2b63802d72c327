import assert from 'node:assert/strict';
import type http from 'node:http';
import { test } from 'node:test';
import type { L7RequestTap } from '../../ingest/index.ts';
import { bundleDigest } from '../../policy/index.ts';
import type { ConfigSnapshot } from '../control/snapshot.ts';
import { ERROR_HEADER, startSidecar, type Sidecar } from './index.ts';
import { startControlServer, type ControlServer } from './testing/control-server.ts';
import { allowCallers, authzBundle } from './testing/policy-bundles.ts';
import { startRecordingCollector, type RecordingCollector } from './testing/recording-collector.ts';
import { mtlsRequest, testIdentities, type StaticIdentity } from './testing/identities.ts';
import { request, startHttpServer } from './testing/servers.ts';

const ids = await testIdentities();
const callers = new Map<string, Promise<StaticIdentity>>();
/** The SVID of `service`'s first sidecar (one per service for the file). */
const svidOf = (service: string) => {
  if (!callers.has(service)) callers.set(service, ids.identity(service));
  return callers.get(service)!;
};

function snapshot(version: number, policy_digest: string): ConfigSnapshot {
  return { version, proxy: 'cart-1', service: 'cart', routes: [], clusters: [], taps: { query_allow: [], header_allow: [] }, policy_digest };
}

/** cart's inbound sidecar in front of a real workload that counts what reaches it. */
async function cartBehindSidecar(t: { after(fn: () => Promise<void>): void }, opts: { failOpen?: boolean; warmMs?: number; hold?: (res: http.ServerResponse) => void } = {}) {
  const seen: string[] = [];
  const workload = await startHttpServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    if (opts.hold && seen.length === 1) opts.hold(res); else res.end('ok');
  });
  const control = await startControlServer();
  const collector = await startRecordingCollector();
  const sidecar = await startSidecar({
    id: 'cart-1', service: 'cart', instance: 'cart-1', controlUrl: control.url, collectorUrl: collector.url,
    staticIdentity: await svidOf('cart'),
    listen: { host: '127.0.0.1', port: 0 }, ingress: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: workload.port },
    closeGraceMs: 200, controlRetryMaxMs: 50, policyFailOpen: opts.failOpen, policyWarmMs: opts.warmMs, taps: { lingerMs: 5 },
  });
  t.after(async () => { await sidecar.close(); await collector.close(); await control.close(); await workload.close(); });
  // A mesh caller presents its service's SVID (mTLS); a caller outside the mesh comes in through the ingress listener.
  const call = async (from: string | null, path = '/cart', headers: Record<string, string> = {}) =>
    (from ? mtlsRequest(sidecar.inboundAddress!.port, await svidOf(from), { path, headers }) : request(sidecar.ingressAddress!.port, { path, headers }));
  return { seen, workload, control, collector, sidecar, call };
}

async function inboundTaps(sidecar: Sidecar, collector: RecordingCollector): Promise<L7RequestTap[]> {
  await sidecar.taps.flush();
  assert.deepEqual(collector.problems, []);
  return collector.events().filter((e): e is L7RequestTap => e.kind === 'l7.request' && e.direction === 'inbound');
}

async function pushPolicy(control: ControlServer, version: number, bundle: { bytes: Uint8Array; digest: string }) {
  control.bundles.set(bundle.digest, bundle.bytes);
  await control.send(snapshot(version, bundle.digest));
  return control.ackFor(version);
}

test('enforces the pushed policy: allowed requests reach the workload, denied ones get 403 with the reason and never do; taps carry decision and reason', async (t) => {
  const m = await cartBehindSidecar(t);
  await m.control.send(snapshot(1, ''));
  assert.equal((await m.control.ackFor(1)).ok, true);
  assert.equal((await m.call('catalog', '/open')).status, 200, 'no policy named: traffic flows');

  const onlyWeb = await allowCallers(['web'], 'only web may call cart');
  assert.deepEqual(await pushPolicy(m.control, 2, onlyWeb), { proxy: 'cart-1', version: 2, ok: true }, 'ACKed once the bundle is loaded');

  const allowed = await m.call('web', '/cart');
  assert.equal(allowed.status, 200);
  const denied = await m.call('catalog', '/cart');
  assert.equal(denied.status, 403);
  assert.equal(denied.headers[ERROR_HEADER], 'MESH_ERR_POLICY_DENIED');
  assert.equal(denied.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(denied.body), { error: 'MESH_ERR_POLICY_DENIED', reason: 'only web may call cart' });
  assert.equal((await m.call(null, '/admin')).status, 403, 'a caller outside the mesh is not on the list either');
  assert.deepEqual(m.seen, ['GET /open', 'GET /cart'], 'denied requests never reach the workload');

  const taps = await inboundTaps(m.sidecar, m.collector);
  assert.deepEqual(taps.map((e) => [e.src_service, e.path, e.status, e.decision, e.decision_reason, e.error]), [
    ['catalog', '/open', 200, 'none', '', ''],
    ['web', '/cart', 200, 'allow', 'web is allowed', ''],
    ['catalog', '/cart', 403, 'deny', 'only web may call cart', 'MESH_ERR_POLICY_DENIED'],
    ['external', '/admin', 403, 'deny', 'only web may call cart', 'MESH_ERR_POLICY_DENIED'],
  ]);
  const p = m.sidecar.stats().policy;
  assert.deepEqual([p.loaded_digest, p.loaded_version, p.allowed, p.denied, p.errors, p.load_failures], [onlyWeb.digest, 2, 1, 2, 0, 0]);
});

test('the policy sees the documented input: source, destination, method, path without query, allow-listed headers only', async (t) => {
  const m = await cartBehindSidecar(t);
  const echo = await authzBundle('decision := {"allow": true, "reason": json.marshal(input)}');
  assert.equal((await pushPolicy(m.control, 1, echo)).ok, true);
  const r = await m.call('web', '/checkout?card=4111', { authorization: 'Bearer t', cookie: 'sid=1', 'x-request-id': 'r-1' });
  assert.equal(r.status, 200);
  const [tap] = await inboundTaps(m.sidecar, m.collector);
  assert.deepEqual(JSON.parse(tap.decision_reason!), {
    source: { service: 'web', identity: 'spiffe://test.local/ns/default/sa/web' },
    destination: { service: 'cart' },
    request: { method: 'GET', path: '/checkout', headers: { authorization: 'Bearer t', 'x-request-id': 'r-1' } },
  });
});

test('a new bundle changes decisions without a restart; a corrupt or mismatched bundle is NACKed and the previous policy keeps deciding', async (t) => {
  const m = await cartBehindSidecar(t);
  const webOnly = await allowCallers(['web'], 'web only');
  const adminOnly = await allowCallers(['admin'], 'admin only');
  assert.equal((await pushPolicy(m.control, 1, webOnly)).ok, true);
  assert.deepEqual([(await m.call('web')).status, (await m.call('admin')).status], [200, 403]);

  assert.equal((await pushPolicy(m.control, 2, adminOnly)).ok, true);
  assert.deepEqual([(await m.call('web')).status, (await m.call('admin')).status], [403, 200], 'swapped without a restart');

  const junk = Buffer.from('not a bundle at all');
  const corrupt = await pushPolicy(m.control, 3, { bytes: junk, digest: bundleDigest(junk) });
  assert.equal(corrupt.ok, false);
  assert.match(corrupt.error!, /not a readable OPA bundle/);
  const mismatched = await pushPolicy(m.control, 4, { bytes: webOnly.bytes, digest: 'f'.repeat(64) });
  assert.equal(mismatched.ok, false);
  assert.match(mismatched.error!, /digest mismatch/);
  await m.control.send(snapshot(5, '../../v1/status'));
  assert.deepEqual(await m.control.ackFor(5), { proxy: 'cart-1', version: 5, ok: false, error: 'policy_digest: must be "" or a sha256 in lower-case hex' });
  assert.deepEqual([(await m.call('web')).status, (await m.call('admin')).status], [403, 200], 'the last good policy still decides');

  const p = m.sidecar.stats().policy;
  assert.deepEqual([p.loaded_digest, p.loaded_version, p.loads, p.load_failures], [adminOnly.digest, 2, 2, 2]);
  assert.equal(p.wanted_digest, 'f'.repeat(64));
});

test('a request already past the policy finishes after a swap to a policy that would deny it', async (t) => {
  let release = () => {};
  let arrived = () => {};
  const atWorkload = new Promise<void>((r) => { arrived = r; });
  const held = new Promise<void>((r) => { release = r; });
  // The workload holds its first response until told.
  const m = await cartBehindSidecar(t, { hold: (res) => { arrived(); void held.then(() => res.end('late')); } });
  assert.equal((await pushPolicy(m.control, 1, await allowCallers(['web'], 'web only'))).ok, true);
  const inFlight = m.call('web', '/pay');
  await atWorkload;
  assert.equal((await pushPolicy(m.control, 2, await allowCallers([], 'nobody'))).ok, true);
  const after = await m.call('web', '/pay');
  assert.deepEqual([after.status, JSON.parse(after.body).reason], [403, 'nobody'], 'new requests meet the new policy');
  release();
  const r = await inFlight;
  assert.deepEqual([r.status, r.body], [200, 'late'], 'the request decided under the old policy completes');
});

test('a decision outside the contract denies with policy_error and is counted', async (t) => {
  const m = await cartBehindSidecar(t);
  assert.equal((await pushPolicy(m.control, 1, await authzBundle('decision := "yes"'))).ok, true);
  const r = await m.call('web');
  assert.equal(r.status, 403);
  assert.deepEqual(JSON.parse(r.body), { error: 'MESH_ERR_POLICY_DENIED', reason: 'policy_error' });
  assert.deepEqual(m.seen, []);
  const p = m.sidecar.stats().policy;
  assert.equal(p.errors, 1);
  assert.match(p.last_error, /must be \{allow: boolean, reason: string\}, got "yes"/);
});

test('fails closed while a named bundle cannot be fetched (403 policy_unavailable, NACK), and ACKs the version once a retry loads it', async (t) => {
  const m = await cartBehindSidecar(t);
  const webOnly = await allowCallers(['web'], 'web only');
  await m.control.send(snapshot(1, webOnly.digest)); // the control plane does not have it (404)
  const nack = await m.control.ackFor(1);
  assert.equal(nack.ok, false);
  assert.match(nack.error!, /fetch \/v1\/policy\/bundles\/[0-9a-f]{64} from .* failed: control plane answered 404/);

  const r = await m.call('web');
  assert.equal(r.status, 403);
  assert.deepEqual(JSON.parse(r.body), { error: 'MESH_ERR_POLICY_DENIED', reason: 'policy_unavailable' });
  assert.deepEqual(m.seen, []);

  m.control.bundles.set(webOnly.digest, webOnly.bytes);
  await m.control.ackCount(2);
  assert.deepEqual(m.control.acks[1], { proxy: 'cart-1', version: 1, ok: true }, 'a retry loaded it: version 1 is in force now');
  assert.equal((await m.call('web')).status, 200);

  const taps = await inboundTaps(m.sidecar, m.collector);
  assert.deepEqual(taps.map((e) => [e.status, e.decision, e.decision_reason]), [[403, 'deny', 'policy_unavailable'], [200, 'allow', 'web is allowed']]);
  assert.equal(m.sidecar.stats().policy.unavailable, 1);
});

test('a new sidecar holds a request met while its first policy is in flight and lets that policy decide it, instead of denying policy_unavailable', async (t) => {
  const m = await cartBehindSidecar(t);
  const webOnly = await allowCallers(['web'], 'web only');
  m.control.bundles.set(webOnly.digest, webOnly.bytes);
  const release = m.control.holdBundles();
  await m.control.send(snapshot(1, webOnly.digest));
  while (m.control.bundleFetches.length === 0) await new Promise((r) => setTimeout(r, 5));
  const early = [m.call('web'), m.call('catalog')];
  while (m.sidecar.stats().policy.warm_waits < 2) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(m.seen, [], 'nothing reaches the workload while the policy is loading');
  release();
  assert.deepEqual((await Promise.all(early)).map((r) => r.status), [200, 403]);
  assert.equal((await m.control.ackFor(1)).ok, true);
  const taps = await inboundTaps(m.sidecar, m.collector);
  assert.deepEqual(taps.map((e) => [e.src_service, e.decision, e.decision_reason]).sort(), [['catalog', 'deny', 'web only'], ['web', 'allow', 'web is allowed']]);
  const p = m.sidecar.stats().policy;
  assert.deepEqual([p.unavailable, p.warm_waits], [0, 2]);
});

test('before its first snapshot a sidecar decides nothing: a request waits for it, and is denied policy_unavailable if none comes within the warm-up bound', async (t) => {
  const m = await cartBehindSidecar(t, { warmMs: 300 });
  const r = await m.call('web');
  assert.equal(r.status, 403);
  assert.deepEqual(JSON.parse(r.body), { error: 'MESH_ERR_POLICY_DENIED', reason: 'policy_unavailable' });
  assert.deepEqual(m.seen, []);
  const waiting = m.call('web');
  while (m.sidecar.stats().policy.warm_waits < 2) await new Promise((r) => setTimeout(r, 5));
  await m.control.send(snapshot(1, ''));
  assert.equal((await waiting).status, 200, 'a snapshot naming no policy lets the held request through');
  assert.equal((await m.call('web')).status, 200);
  const p = m.sidecar.stats().policy;
  assert.deepEqual([p.unavailable, p.warm_waits], [1, 2], 'warm once the first snapshot is in: later requests do not wait');
});

test('with policyFailOpen a named bundle that cannot be fetched lets requests through with decision none, reason policy_unavailable_fail_open', async (t) => {
  const m = await cartBehindSidecar(t, { failOpen: true });
  await m.control.send(snapshot(1, 'a'.repeat(64)));
  assert.equal((await m.control.ackFor(1)).ok, false);
  assert.equal((await m.call('catalog')).status, 200);
  assert.deepEqual(m.seen, ['GET /cart']);
  const [tap] = await inboundTaps(m.sidecar, m.collector);
  assert.deepEqual([tap.decision, tap.decision_reason], ['none', 'policy_unavailable_fail_open']);
  const p = m.sidecar.stats().policy;
  assert.deepEqual([p.fail_open, p.unavailable, p.denied], [true, 1, 0]);
});

test('finding 2: x-meshlens-src cannot make a caller someone else: plaintext to the mesh listener never reaches the policy, a mesh caller is its certificate, an outside caller stays external', async (t) => {
  const m = await cartBehindSidecar(t);
  const webOnly = await allowCallers(['web'], 'only web may call cart');
  assert.equal((await pushPolicy(m.control, 1, webOnly)).ok, true);
  // The attack as found: curl -H 'x-meshlens-src: web' straight to the sidecar, in plaintext.
  await assert.rejects(request(m.sidecar.inboundAddress!.port, { path: '/cart', headers: { 'x-meshlens-src': 'web' } }), /socket hang up|ECONNRESET|EPROTO/);
  // A certificate-less TLS client does not get through the handshake either.
  await assert.rejects(mtlsRequest(m.sidecar.inboundAddress!.port, null, { path: '/cart', headers: { 'x-meshlens-src': 'web' }, bundlePem: ids.ca.bundle.toPem() }));
  // catalog's real certificate with web's name in the header: still catalog, denied.
  const spoofed = await m.call('catalog', '/cart', { 'x-meshlens-src': 'web', 'x-meshlens-src-instance': 'web-1' });
  assert.equal(spoofed.status, 403);
  // From outside, through the ingress: external, denied.
  assert.equal((await m.call(null, '/cart', { 'x-meshlens-src': 'web' })).status, 403);
  // The honest caller beside them.
  assert.equal((await m.call('web', '/cart', { 'x-meshlens-src': 'payments' })).status, 200);
  assert.deepEqual(m.seen, ['GET /cart'], 'only the honest request reached the workload');
  const taps = await inboundTaps(m.sidecar, m.collector);
  assert.deepEqual(taps.map((e) => [e.src_service, e.src_identity ?? '', e.status, e.tls_version ?? '']), [
    ['catalog', 'spiffe://test.local/ns/default/sa/catalog', 403, 'TLSv1.3'],
    ['external', '', 403, ''],
    ['web', 'spiffe://test.local/ns/default/sa/web', 200, 'TLSv1.3'],
  ], 'exactly one tap per request that got past the handshake, each naming the proven caller');
  assert.ok(taps.every((e) => e.dst_identity === 'spiffe://test.local/ns/default/sa/cart'));
  assert.equal(m.sidecar.stats().tls_handshake_failures, 2);
});

test('the workload never sees an x-meshlens-* header, whatever the caller sent', async (t) => {
  let seen: http.IncomingHttpHeaders = {};
  const workload = await startHttpServer((req, res) => { seen = req.headers; res.end('ok'); });
  const sidecar = await startSidecar({
    id: 'cart-1', service: 'cart', staticIdentity: await svidOf('cart'), listen: { host: '127.0.0.1', port: 0 },
    upstream: { host: '127.0.0.1', port: workload.port }, taps: { enabled: false }, closeGraceMs: 100,
  });
  t.after(async () => { await sidecar.close(); await workload.close(); });
  const r = await mtlsRequest(sidecar.inboundAddress!.port, await svidOf('web'), { headers: { 'x-meshlens-src': 'admin', 'X-Meshlens-Anything': '1', 'x-keep': 'yes' } });
  assert.equal(r.status, 200);
  assert.equal(seen['x-keep'], 'yes');
  assert.deepEqual(Object.keys(seen).filter((h) => h.startsWith('x-meshlens-')), []);
});

test('a sidecar refuses to start with a certificate of another proxy or service (its taps would all be refused)', async () => {
  const listen = { host: '127.0.0.1', port: 0 };
  const upstream = { host: '127.0.0.1', port: 9 };
  await assert.rejects(startSidecar({ id: 'cart-2', service: 'cart', staticIdentity: await svidOf('cart'), listen, upstream }), /is for cart\/cart-1, this sidecar is cart\/cart-2/);
  await assert.rejects(startSidecar({ id: 'cart-1', service: 'payments', staticIdentity: await svidOf('cart'), listen, upstream }), /is for cart\/cart-1, this sidecar is payments\/cart-1/);
});
