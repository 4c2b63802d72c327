import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import type { L4CloseTap, L7RequestTap } from '../../ingest/index.ts';
import { startSidecar } from './index.ts';
import { startRecordingCollector } from './testing/recording-collector.ts';
import { testIdentities } from './testing/identities.ts';
import { request, startHttpServer } from './testing/servers.ts';

const ids = await testIdentities();

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

/** web's outbound sidecar → catalog's inbound sidecar; with `mtls`, identities of one CA make the hop mTLS, as in a mesh; without, catalog takes plaintext and every caller is external. */
async function meshOfTwo(mtls = false) {
  const collector = await startRecordingCollector();
  const workload = await startHttpServer((req, res) => { req.resume(); req.on('end', () => res.end('hello')); });
  const catalog = await startSidecar({
    id: 'catalog-1', service: 'catalog', instance: 'catalog-1', collectorUrl: collector.url, closeGraceMs: 300,
    staticIdentity: mtls ? await ids.identity('catalog', 'catalog-1') : undefined,
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: workload.port },
    queryAllow: ['page', 'id'], headerAllow: ['x-request-id', 'authorization', 'cookie', 'user-agent'],
  });
  const web = await startSidecar({
    id: 'web-1', service: 'web', instance: 'web-1', collectorUrl: collector.url, closeGraceMs: 300,
    staticIdentity: mtls ? await ids.identity('web', 'web-1') : undefined,
    outbound: { host: '127.0.0.1', port: 0 },
    routes: [{ authority: 'catalog', endpoints: [{ host: '127.0.0.1', port: catalog.inboundAddress!.port }] }],
    queryAllow: ['page', 'id'], headerAllow: ['x-request-id', 'authorization', 'cookie', 'user-agent'],
  });
  // Close the caller first so the callee sees its pooled connection end.
  const close = async () => { await web.close(); await catalog.close(); await workload.close(); await collector.close(); };
  return { collector, workload, catalog, web, close };
}

test('records one l7.request tap per request and direction with status, sizes, latency, upstream, trace id, identities and TLS version', async (t) => {
  const m = await meshOfTwo(true);
  t.after(m.close);
  const r = await request(m.web.outboundAddress!.port, {
    method: 'POST', path: '/items?id=3&token=s3cret&page=2', body: 'b'.repeat(1234),
    headers: { host: 'catalog', traceparent: `00-${TRACE}-00f067aa0ba902b7-01`, 'x-request-id': 'req-7', authorization: 'Bearer s3cret', cookie: 'sid=s3cret' },
  });
  assert.equal(r.status, 200);
  await m.web.close();
  await m.catalog.close();
  assert.deepEqual(m.collector.problems, []);

  const l7 = m.collector.events().filter((e): e is L7RequestTap => e.kind === 'l7.request');
  assert.equal(l7.length, 2);
  const out = l7.find((e) => e.direction === 'outbound')!;
  const inb = l7.find((e) => e.direction === 'inbound')!;
  const catalogPort = m.catalog.inboundAddress!.port;
  assert.equal(out.proxy, 'web-1');
  assert.deepEqual([out.src_service, out.src_instance, out.dst_service, out.dst_addr, out.dst_port], ['web', 'web-1', 'catalog', '127.0.0.1', catalogPort]);
  assert.equal(out.upstream, `127.0.0.1:${catalogPort}`);
  assert.equal(inb.proxy, 'catalog-1');
  assert.deepEqual([inb.src_service, inb.src_instance, inb.dst_service, inb.dst_instance], ['web', 'web-1', 'catalog', 'catalog-1']);
  assert.equal(inb.upstream, `127.0.0.1:${m.workload.port}`);
  // Both ends name both identities the handshake proved, and the TLS version.
  for (const e of [out, inb]) {
    assert.deepEqual([e.src_identity, e.dst_identity, e.tls_version], ['spiffe://test.local/ns/default/sa/web', 'spiffe://test.local/ns/default/sa/catalog', 'TLSv1.3']);
  }
  for (const e of [out, inb]) {
    assert.equal(e.method, 'POST');
    assert.equal(e.authority, 'catalog');
    assert.equal(e.status, 200);
    assert.equal(e.req_bytes, 1234);
    assert.equal(e.resp_bytes, 5);
    assert.ok(e.latency_ms > 0);
    assert.equal(e.trace_id, TRACE);
    assert.equal(e.error, '');
  }
  const everything = JSON.stringify(m.collector.batches);
  assert.doesNotMatch(everything, /s3cret/, 'a secret left the sidecar');
});

test('strips query strings except allow-listed keys and never records Authorization or Cookie even when allow-listed', async (t) => {
  const m = await meshOfTwo();
  t.after(m.close);
  await request(m.catalog.inboundAddress!.port, {
    path: '/items?token=s3cret&page=2&id=3#frag',
    headers: { 'x-request-id': 'req-8', authorization: 'Basic czNjcmV0', cookie: 'sid=s3cret', 'user-agent': 'probe/1' },
  });
  await m.catalog.close();
  const [tap] = m.collector.events().filter((e): e is L7RequestTap => e.kind === 'l7.request');
  assert.equal(tap.path, '/items?page=2&id=3');
  assert.deepEqual(tap.headers, { 'x-request-id': 'req-8', 'user-agent': 'probe/1' });
  assert.equal(tap.src_service, 'external');
  assert.equal(tap.trace_id, '');
});

test('records the error code and the status the client got when the upstream is unreachable', async (t) => {
  const m = await meshOfTwo();
  t.after(m.close);
  await m.workload.close();
  const r = await request(m.catalog.inboundAddress!.port, { path: '/down' });
  assert.equal(r.status, 503);
  await m.catalog.close();
  const [tap] = m.collector.events().filter((e): e is L7RequestTap => e.kind === 'l7.request');
  assert.equal(tap.status, 503);
  assert.equal(tap.error, 'MESH_ERR_UPSTREAM_CONNECT');
  assert.equal(tap.upstream, `127.0.0.1:${m.workload.port}`);
});

test('emits l4.open and l4.close for each downstream HTTP connection with its bytes and who ended it', async (t) => {
  const m = await meshOfTwo();
  t.after(m.close);
  const port = m.catalog.inboundAddress!.port;
  // 1: the client asks for Connection: close, so the sidecar ends the connection.
  const r = await request(port, { path: '/x', headers: { connection: 'close' } });
  assert.equal(r.status, 200);
  // 2: a keep-alive client that hangs up itself after its response.
  const ask = 'GET /y HTTP/1.1\r\nHost: catalog\r\n\r\n';
  const answer = await new Promise<number>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(ask));
    let got = 0;
    s.on('data', (c: Buffer) => { got += c.length; if (c.toString().includes('hello')) s.end(); });
    s.on('close', () => resolve(got));
    s.on('error', reject);
  });
  await m.catalog.close();
  const events = m.collector.events();
  const open = events.filter((e) => e.kind === 'l4.open');
  const close = events.filter((e): e is L4CloseTap => e.kind === 'l4.close');
  const l7 = events.filter((e) => e.kind === 'l7.request');
  assert.equal(open.length, 2);
  assert.deepEqual(close.map((c) => c.conn_id).sort(), open.map((o) => o.conn_id).sort());
  assert.deepEqual(l7.map((e) => e.conn_id).sort(), open.map((o) => o.conn_id).sort());
  const byConn = (id: string) => close.find((c) => c.conn_id === id)!;
  const first = byConn(l7.find((e) => e.kind === 'l7.request' && e.path === '/x')!.conn_id);
  const second = byConn(l7.find((e) => e.kind === 'l7.request' && e.path === '/y')!.conn_id);
  assert.equal(first.end, 'local_close');
  assert.equal(second.end, 'remote_close');
  assert.equal(second.bytes_in, Buffer.byteLength(ask));
  assert.equal(second.bytes_out, answer);
});
