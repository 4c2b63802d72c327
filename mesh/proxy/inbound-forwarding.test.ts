import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { test } from 'node:test';
import { startSidecar } from './index.ts';
import { request, startHttpServer } from './testing/servers.ts';

test('streams a 5 MB response through the inbound proxy: first bytes reach the client before the workload has finished', async (t) => {
  let release!: () => void;
  const released = new Promise<void>((r) => { release = r; });
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const total = 5 * 1024 * 1024;
  const sent = createHash('sha256');
  const workload = await startHttpServer(async (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.write(chunk); sent.update(chunk);
    await released; // the rest only once the client has seen the first bytes
    for (let n = chunk.length; n < total; n += chunk.length) {
      const c = Buffer.alloc(chunk.length, String.fromCharCode(97 + ((n / chunk.length) % 26)));
      sent.update(c);
      if (!res.write(c)) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  });
  const sidecar = await startSidecar({ service: 'cart', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: workload.port }, closeGraceMs: 200 });
  t.after(async () => { await sidecar.close(); await workload.close(); });

  const got = createHash('sha256');
  let bytes = 0;
  let firstBytesBeforeEnd = false;
  await new Promise<void>((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error('no bytes reached the client while the workload held the body open: the proxy buffers')), 5_000);
    http.get({ host: '127.0.0.1', port: sidecar.inboundAddress!.port, path: '/big', agent: false }, (res) => {
      res.on('data', (c: Buffer) => {
        if (bytes === 0) { firstBytesBeforeEnd = true; clearTimeout(guard); release(); }
        bytes += c.length; got.update(c);
      });
      res.on('end', resolve);
      res.on('error', reject);
    }).on('error', reject);
  });
  assert.equal(firstBytesBeforeEnd, true);
  assert.equal(bytes, total);
  assert.equal(got.digest('hex'), sent.digest('hex'));
});

test('keeps upstream connections alive: 20 sequential requests from 20 client connections reuse at most 2 workload sockets', async (t) => {
  const workload = await startHttpServer((_req, res) => res.end('ok'));
  const sidecar = await startSidecar({ service: 'cart', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: workload.port }, closeGraceMs: 200 });
  t.after(async () => { await sidecar.close(); await workload.close(); });
  for (let i = 0; i < 20; i++) {
    const r = await request(sidecar.inboundAddress!.port, { path: `/n/${i}` });
    assert.equal(r.status, 200);
    assert.equal(r.body, 'ok');
  }
  assert.ok(workload.connections() <= 2, `workload saw ${workload.connections()} connections`);
  assert.equal(sidecar.stats().inbound.requests, 20);
});

test('forwards request bodies and strips hop-by-hop and caller headers before the workload sees them', async (t) => {
  let seen: http.IncomingHttpHeaders = {};
  let body = '';
  const workload = await startHttpServer((req, res) => {
    seen = req.headers;
    req.setEncoding('utf8');
    req.on('data', (c: string) => { body += c; });
    req.on('end', () => res.end('done'));
  });
  const sidecar = await startSidecar({ service: 'cart', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: workload.port }, closeGraceMs: 200 });
  t.after(async () => { await sidecar.close(); await workload.close(); });
  const r = await request(sidecar.inboundAddress!.port, {
    method: 'POST', path: '/orders', body: 'a'.repeat(10_000),
    headers: { 'x-meshlens-src': 'web', 'x-meshlens-src-instance': 'web-1', 'proxy-connection': 'keep-alive', 'x-keep': 'yes' },
  });
  assert.equal(r.status, 200);
  assert.equal(body.length, 10_000);
  assert.equal(seen['x-meshlens-src'], undefined);
  assert.equal(seen['x-meshlens-src-instance'], undefined);
  assert.equal(seen['proxy-connection'], undefined);
  assert.equal(seen['x-keep'], 'yes');
});
