import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { test } from 'node:test';
import type { L7RequestTap } from '../../ingest/index.ts';
import { ERROR_HEADER, startSidecar } from './index.ts';
import { MAX_HEADER_LIST, MAX_STREAMS, RAPID_RESET_MIN_STREAMS } from './h2/index.ts';
import { mtlsRequest, testIdentities } from './testing/identities.ts';
import { FRAME, frame, h2Request, headerBlock, rawH2, startH2Workload } from './testing/h2.ts';
import { startRecordingCollector } from './testing/recording-collector.ts';
import { l7Taps, sidecarHarness } from './testing/sidecar-harness.ts';
import { request } from './testing/servers.ts';

test('a plaintext listener serves HTTP/1.1 and h2c (prior knowledge) on one port; both run the chain and are tapped with their protocol', async (t) => {
  const h = await sidecarHarness(t, 'inbound', { upstreamProtocol: 'h1' });
  const h1 = await request(h.port, { path: '/one', headers: { host: 'cart' } });
  const h2 = await h2Request(`http://127.0.0.1:${h.port}`, { ':path': '/two?x=1', ':authority': 'cart:8080', 'x-meshlens-src': 'forged' });
  assert.deepEqual([h1.status, h2.status], [200, 200]);
  assert.equal(h2.headers.connection, undefined, 'no connection-specific field in an HTTP/2 response');
  assert.equal(h2.headers['keep-alive'], undefined);
  await h.workload.arrived(2);
  const two = h.workload.seen[1];
  assert.equal(two.url, '/two?x=1');
  assert.equal(two.headers.host, 'cart:8080', ':authority becomes Host toward an HTTP/1.1 workload');
  assert.equal(two.headers['x-meshlens-src'], undefined, 'mesh headers are stripped from HTTP/2 requests too');
  assert.ok(!Object.keys(two.headers).some((k) => k.startsWith(':')), 'no pseudo-header reaches an HTTP/1.1 workload');
  const taps = await l7Taps(h);
  assert.deepEqual(taps.map((e) => [e.path, e.protocol, e.status, e.authority]), [['/one', 'http/1.1', 200, 'cart'], ['/two', 'h2c', 200, 'cart']]);
  const st = h.sidecar.stats();
  assert.equal(st.h2.sessions_total, 1);
  assert.equal(st.h2.streams_total, 1);
});

test('the mTLS inbound listener offers h2 by ALPN beside HTTP/1.1: a mesh caller gets HTTP/2, tapped h2 with its TLS version and identity; a caller with HTTP/1.1 on the same port still works', async (t) => {
  const ids = await testIdentities();
  const workload = await startH2Workload();
  const collector = await startRecordingCollector();
  const web = await ids.identity('web');
  const sidecar = await startSidecar({
    id: 'cart-1', service: 'cart', staticIdentity: await ids.identity('cart'), collectorUrl: collector.url, taps: { lingerMs: 5 }, closeGraceMs: 100,
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: workload.port }, upstreamProtocol: 'h2',
  });
  t.after(async () => { await sidecar.close(); await collector.close(); await workload.close(); });
  const port = sidecar.inboundAddress!.port;
  const tlsOpts = { ca: web.bundlePem, key: web.keyPem, cert: web.chainPem, checkServerIdentity: () => undefined };
  const session = http2.connect(`https://127.0.0.1:${port}`, tlsOpts);
  t.after(() => { session.close(); });
  const [a, b] = await Promise.all([h2Request(session, { ':path': '/a' }), h2Request(session, { ':path': '/b' })]);
  assert.equal(session.alpnProtocol, 'h2');
  assert.deepEqual([a.status, a.body, b.body], [200, 'h2 /a', 'h2 /b']);
  const old = await mtlsRequest(port, web, { path: '/c', headers: { host: 'cart' } });
  assert.deepEqual([old.status, old.body], [200, 'h2 /c'], 'HTTP/1.1 over the same mTLS port, forwarded as h2c (--upstream-protocol h2)');
  assert.deepEqual(workload.seen.map((s) => s.version), ['2.0', '2.0', '2.0']);
  const st = sidecar.stats();
  assert.equal(st.h2.sessions_total, 1, 'two streams, one session');
  assert.equal(st.h2.streams_total, 2);
  assert.equal(st.tls_handshake_failures, 0);
  const l7 = () => collector.events().filter((e): e is L7RequestTap => e.kind === 'l7.request');
  while (l7().length < 3) { await sidecar.taps.flush(); await new Promise((r) => setTimeout(r, 10)); } // a tap follows its response
  const taps = l7();
  assert.deepEqual(taps.map((e) => [e.path, e.protocol, e.tls_version, e.src_identity]).sort(), [
    ['/a', 'h2', 'TLSv1.3', 'spiffe://test.local/ns/default/sa/web'],
    ['/b', 'h2', 'TLSv1.3', 'spiffe://test.local/ns/default/sa/web'],
    ['/c', 'http/1.1', 'TLSv1.3', 'spiffe://test.local/ns/default/sa/web'],
  ]);
  // Without a mesh certificate there is no handshake, whatever ALPN says.
  const stranger = http2.connect(`https://127.0.0.1:${port}`, { ca: web.bundlePem, checkServerIdentity: () => undefined });
  await assert.rejects(new Promise((_, reject) => { stranger.on('error', reject); stranger.request({ ':path': '/' }).on('error', reject); }));
  stranger.destroy();
});

test('HTTP/2 sessions are offered SETTINGS_MAX_CONCURRENT_STREAMS and a header-list bound; a header list past it never reaches the workload', async (t) => {
  const h = await sidecarHarness(t, 'inbound', { upstreamProtocol: 'h1' });
  const session = http2.connect(`http://127.0.0.1:${h.port}`);
  t.after(() => { session.destroy(); });
  await new Promise((r) => session.once('remoteSettings', r));
  assert.equal(session.remoteSettings.maxConcurrentStreams, MAX_STREAMS);
  assert.equal(session.remoteSettings.maxHeaderListSize, MAX_HEADER_LIST);
  const big = await h2Request(session, { ':path': '/big', 'x-big': 'a'.repeat(MAX_HEADER_LIST) }).catch((e: Error) => e);
  assert.ok(big instanceof Error || big.status === 431, `refused: ${big instanceof Error ? big.message : big.status}`);
  assert.equal(h.workload.seen.length, 0);
});

test('an HTTP/2 request whose :authority and Host differ is refused 400 MESH_ERR_BAD_HOST; one with a connection-specific field is reset; neither reaches the workload; `te: trailers` passes', async (t) => {
  const h = await sidecarHarness(t, 'inbound', { upstreamProtocol: 'h1' });
  const twoNames = await h2Request(`http://127.0.0.1:${h.port}`, { ':path': '/x', ':authority': 'cart', host: 'payments' });
  assert.equal(twoNames.status, 400);
  assert.equal(twoNames.headers[ERROR_HEADER], 'MESH_ERR_BAD_HOST');
  // Node's client will not send these; a raw HEADERS frame does. nghttp2 resets the stream (PROTOCOL_ERROR) before the chain.
  for (const field of [['transfer-encoding', 'chunked'], ['connection', 'close'], ['keep-alive', '5'], ['upgrade', 'websocket'], ['te', 'gzip']] as [string, string][]) {
    const raw = await rawH2(h.port, [frame(FRAME.HEADERS, 0x5, 1, headerBlock('/y', 'cart', [field]))], 500);
    assert.deepEqual(raw.resets, [{ streamId: 1, code: http2.constants.NGHTTP2_PROTOCOL_ERROR }], field.join(': '));
  }
  assert.equal(h.workload.seen.length, 0);
  const trailersOk = await rawH2(h.port, [frame(FRAME.HEADERS, 0x5, 1, headerBlock('/te', 'cart', [['te', 'trailers']]))], 500);
  assert.deepEqual([trailersOk.resets, trailersOk.headers], [[], [1]], '`te: trailers` is the one allowed (gRPC sends it)');
  const taps = await l7Taps(h);
  assert.deepEqual(taps.map((e) => [e.path, e.status, e.error, e.protocol]), [['/x', 400, 'MESH_ERR_BAD_HOST', 'h2c'], ['/te', 200, '', 'h2c']]);
});

test('rapid reset over h2 by ALPN on the mTLS inbound listener: a stream opened and reset in one write never reaches the workload', async (t) => {
  const ids = await testIdentities();
  const workload = await startH2Workload();
  const web = await ids.identity('web');
  const sidecar = await startSidecar({
    id: 'cart-1', service: 'cart', staticIdentity: await ids.identity('cart'), closeGraceMs: 100,
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: workload.port }, upstreamProtocol: 'h2',
  });
  t.after(async () => { await sidecar.close(); await workload.close(); });
  const block = headerBlock('/flood', 'cart');
  const cancel = Buffer.alloc(4);
  cancel.writeUInt32BE(http2.constants.NGHTTP2_CANCEL);
  // Each pair in its own write: a socket read natively may hand Node one HEADERS before its RST_STREAM is parsed.
  const frames = Array.from({ length: 300 }, (_, i) => [frame(FRAME.HEADERS, 0x5, 2 * i + 1, block), frame(FRAME.RST_STREAM, 0, 2 * i + 1, cancel)]).flat();
  const out = await rawH2(sidecar.inboundAddress!.port, frames, 5_000, 2, { ca: web.bundlePem, key: web.keyPem, cert: web.chainPem, checkServerIdentity: () => undefined });
  assert.ok(out.goaways.some((g) => g.code === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM), JSON.stringify(out.goaways));
  assert.equal(sidecar.stats().h2.rapid_reset_sessions, 1);
  assert.equal(workload.seen.length, 0, 'no reset stream reached the workload');
});

test('rapid reset (CVE-2023-44487): a client opening and resetting streams at once gets GOAWAY, is counted, never reaches the workload, and the sidecar serves the next client', async (t) => {
  const h = await sidecarHarness(t, 'inbound', { upstreamProtocol: 'h1' });
  const block = headerBlock('/flood', 'cart');
  const cancel = Buffer.alloc(4);
  cancel.writeUInt32BE(http2.constants.NGHTTP2_CANCEL);
  const frames: Buffer[] = [];
  for (let i = 0; i < 2_000; i++) {
    const id = 2 * i + 1;
    frames.push(frame(FRAME.HEADERS, 0x5, id, block), frame(FRAME.RST_STREAM, 0, id, cancel));
  }
  // Over a network the attack arrives in pieces (here 10 streams a write): the sidecar's own rule sees it once RAPID_RESET_MIN_STREAMS streams are in.
  const paced = await rawH2(h.port, frames, 5_000, 20);
  assert.deepEqual(paced.goaways.map((g) => g.code), [http2.constants.NGHTTP2_ENHANCE_YOUR_CALM]);
  assert.ok(paced.goaways[0].lastStreamId < 2 * frames.length / 2, `closed before the end (last stream ${paced.goaways[0].lastStreamId})`);
  let st = h.sidecar.stats().h2;
  assert.equal(st.rapid_reset_sessions, 1);
  assert.ok(st.premature_resets >= RAPID_RESET_MIN_STREAMS / 2, JSON.stringify(st));
  // All in one write: nghttp2's reset rate limit (1000 at once) closes the session first; it is counted all the same.
  const burst = await rawH2(h.port, frames, 3_000);
  // Read natively, the whole burst is parsed at once: nghttp2's own flood guard may send its GOAWAY before ours (RFC 9113 §6.8 allows several).
  assert.ok(burst.goaways.length >= 1 && burst.goaways.length <= 2, `the session was closed with GOAWAY: ${JSON.stringify(burst.goaways)}`);
  assert.ok(burst.goaways[0].lastStreamId < 2 * frames.length / 2, `stopped before the end (last stream ${burst.goaways[0].lastStreamId})`);
  st = h.sidecar.stats().h2;
  assert.equal(st.rapid_reset_sessions, 2);
  assert.equal(h.workload.seen.length, 0, 'no reset stream reached the workload');
  const after = await h2Request(`http://127.0.0.1:${h.port}`, { ':path': '/after', ':authority': 'cart' });
  assert.equal(after.status, 200);
  assert.equal((await request(h.port, { path: '/h1-after', headers: { host: 'cart' } })).status, 200);
  const taps = await l7Taps(h);
  assert.deepEqual(taps.map((e) => e.path), ['/after', '/h1-after'], 'streams reset before they were read are counted, not tapped');
});
