import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { test } from 'node:test';
import type { L7RequestTap } from '../../ingest/index.ts';
import { ERROR_HEADER, startSidecar, type SidecarOptions } from './index.ts';
import { testIdentities } from './testing/identities.ts';
import { h2Request, startH2Workload } from './testing/h2.ts';
import { startRecordingCollector } from './testing/recording-collector.ts';
import { freePort, request, startHttpServer } from './testing/servers.ts';

/** A plaintext inbound sidecar (no identity) in front of `port`. */
async function inbound(t: { after(fn: () => Promise<void>): void }, port: number, more: Partial<SidecarOptions> = {}) {
  const sidecar = await startSidecar({
    id: 'cart-1', service: 'cart', taps: { enabled: false }, closeGraceMs: 100,
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port }, ...more,
  });
  t.after(() => sidecar.close());
  return { sidecar, url: `http://127.0.0.1:${sidecar.inboundAddress!.port}`, port: sidecar.inboundAddress!.port };
}

test('--upstream-protocol: same keeps HTTP/2 as h2c toward the workload; h1 sends it as HTTP/1.1 (a body without length chunked); h2 sends HTTP/1.1 as h2c', async (t) => {
  const h2w = await startH2Workload((req, res) => { const c: Buffer[] = []; req.on('data', (d: Buffer) => c.push(d)); req.on('end', () => res.end(`h2 ${req.method} ${Buffer.concat(c)}`)); });
  const h1Seen: string[] = [];
  const h1w = await startHttpServer((req, res) => {
    const c: Buffer[] = [];
    req.on('data', (d: Buffer) => c.push(d));
    req.on('end', () => { h1Seen.push(`${req.httpVersion} ${req.headers['transfer-encoding'] ?? req.headers['content-length']}`); res.end(`h1 ${req.method} ${Buffer.concat(c)}`); });
  });
  t.after(async () => { await h2w.close(); await h1w.close(); });

  const same = await inbound(t, h2w.port);
  const viaSame = await h2Request(same.url, { ':path': '/s', ':method': 'POST', ':authority': 'cart' }, 'ping');
  assert.deepEqual([viaSame.status, viaSame.body], [200, 'h2 POST ping']);

  const h1 = await inbound(t, h1w.port, { upstreamProtocol: 'h1', id: 'cart-2' });
  const viaH1 = await h2Request(h1.url, { ':path': '/o', ':method': 'POST', ':authority': 'cart' }, 'pong');
  assert.deepEqual([viaH1.status, viaH1.body], [200, 'h1 POST pong']);
  assert.deepEqual(h1Seen, ['1.1 chunked']);

  const h2 = await inbound(t, h2w.port, { upstreamProtocol: 'h2', id: 'cart-3' });
  const viaH2 = await request(h2.port, { path: '/t', method: 'PUT', headers: { host: 'cart' }, body: 'pang' });
  assert.deepEqual([viaH2.status, viaH2.body], [200, 'h2 PUT pang']);
  assert.deepEqual(h2w.seen.map((s) => [s.version, s.path, s.headers[':authority']]), [['2.0', '/s', 'cart'], ['2.0', '/t', 'cart']]);
});

test('outbound → inbound over mTLS keeps HTTP/2 end to end: ALPN h2 between the sidecars, one multiplexed session per hop for 20 concurrent requests, taps h2c and h2', async (t) => {
  const ids = await testIdentities();
  const workload = await startH2Workload();
  const collector = await startRecordingCollector();
  const cart = await startSidecar({
    id: 'cart-1', service: 'cart', staticIdentity: await ids.identity('cart'), collectorUrl: collector.url, taps: { lingerMs: 5 }, closeGraceMs: 100,
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: workload.port },
  });
  const web = await startSidecar({
    id: 'web-1', service: 'web', staticIdentity: await ids.identity('web'), collectorUrl: collector.url, taps: { lingerMs: 5 }, closeGraceMs: 100,
    outbound: { host: '127.0.0.1', port: 0 }, routes: [{ authority: 'cart', endpoints: [{ host: '127.0.0.1', port: cart.inboundAddress!.port }] }],
  });
  t.after(async () => { await web.close(); await cart.close(); await collector.close(); await workload.close(); });
  const session = http2.connect(`http://127.0.0.1:${web.outboundAddress!.port}`);
  t.after(() => { session.close(); });
  const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => h2Request(session, { ':path': `/item/${i}`, ':authority': 'cart' })));
  assert.deepEqual(replies.map((r) => r.status), Array(20).fill(200));
  assert.equal(replies[7].body, 'h2 /item/7');
  assert.equal(web.stats().h2.upstream_sessions, 1, 'one session from web to cart');
  assert.equal(cart.stats().h2.sessions_total, 1, 'cart accepted one session');
  assert.equal(cart.stats().h2.upstream_sessions, 1, 'one session from cart to its workload');
  assert.equal(workload.sessions(), 1);
  assert.deepEqual(new Set(workload.seen.map((s) => s.version)), new Set(['2.0']));
  await web.taps.flush();
  await cart.taps.flush();
  const taps = collector.events().filter((e): e is L7RequestTap => e.kind === 'l7.request');
  const one = (dir: string) => taps.find((e) => e.direction === dir && e.path === '/item/3')!;
  assert.deepEqual([one('outbound').protocol, one('outbound').tls_version, one('outbound').dst_identity], ['h2c', 'TLSv1.3', 'spiffe://test.local/ns/default/sa/cart']);
  assert.deepEqual([one('inbound').protocol, one('inbound').tls_version, one('inbound').src_identity], ['h2', 'TLSv1.3', 'spiffe://test.local/ns/default/sa/web']);
});

test('after a GOAWAY from the workload the next request opens a new session, and it is counted', async (t) => {
  const workload = await startH2Workload((req, res) => {
    res.end('ok');
    if (req.url === '/bye') res.stream.session!.goaway(http2.constants.NGHTTP2_NO_ERROR);
  });
  t.after(() => workload.close());
  const cart = await inbound(t, workload.port);
  const a = await h2Request(cart.url, { ':path': '/bye', ':authority': 'cart' });
  await new Promise((r) => setTimeout(r, 50)); // the GOAWAY follows the response
  const b = await h2Request(cart.url, { ':path': '/again', ':authority': 'cart' });
  assert.deepEqual([a.status, b.status], [200, 200]);
  assert.equal(workload.sessions(), 2);
  assert.equal(cart.sidecar.stats().h2.upstream_goaways, 1);
  assert.equal(cart.sidecar.stats().h2.upstream_sessions, 2);
});

test('a workload that resets the stream is answered 502 MESH_ERR_UPSTREAM_RESET naming the RST_STREAM code; one that is down, 503 MESH_ERR_UPSTREAM_CONNECT', async (t) => {
  const workload = await startH2Workload((req) => { req.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR); });
  t.after(() => workload.close());
  const cart = await inbound(t, workload.port);
  const reset = await h2Request(cart.url, { ':path': '/r', ':authority': 'cart' });
  assert.equal(reset.status, 502);
  assert.equal(reset.headers[ERROR_HEADER], 'MESH_ERR_UPSTREAM_RESET');
  assert.match(reset.body, /reset the stream \(RST_STREAM INTERNAL_ERROR\) before answering/);
  const down = await inbound(t, await freePort(), { id: 'cart-2' });
  const refused = await h2Request(down.url, { ':path': '/d', ':authority': 'cart' });
  assert.equal(refused.status, 503);
  assert.equal(refused.headers[ERROR_HEADER], 'MESH_ERR_UPSTREAM_CONNECT');
  assert.match(refused.body, /ECONNREFUSED/);
});
