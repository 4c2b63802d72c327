import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSidecar } from './index.ts';
import { freePort, request, startHttpServer } from './testing/servers.ts';

async function twoCatalogs() {
  const seen: { name: string; path: string; src: string | undefined; srcInstance: string | undefined }[] = [];
  const make = (name: string) => startHttpServer((req, res) => {
    seen.push({ name, path: req.url ?? '', src: req.headers['x-meshlens-src'] as string, srcInstance: req.headers['x-meshlens-src-instance'] as string });
    res.end(name);
  });
  return { a: await make('a'), b: await make('b'), seen };
}

test('routes outbound requests by Host authority and round-robins between the two endpoints', async (t) => {
  const { a, b, seen } = await twoCatalogs();
  const sidecar = await startSidecar({
    service: 'web', instance: 'web-1', outbound: { host: '127.0.0.1', port: 0 }, closeGraceMs: 200,
    routes: [{ authority: 'catalog', endpoints: [{ host: '127.0.0.1', port: a.port }, { host: '127.0.0.1', port: b.port }] }],
  });
  t.after(async () => { await sidecar.close(); await a.close(); await b.close(); });
  const bodies: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await request(sidecar.outboundAddress!.port, { path: '/items', headers: { host: 'catalog:8080' } });
    assert.equal(r.status, 200);
    bodies.push(r.body);
  }
  assert.deepEqual(bodies, ['a', 'b', 'a', 'b']);
  // No header names the caller any more (the peer certificate does, between sidecars).
  assert.deepEqual(seen.map((s) => [s.path, s.src, s.srcInstance]), Array(4).fill(['/items', undefined, undefined]));
});

test('routes an absolute-form proxy request (GET http://catalog/items) and forwards origin-form upstream', async (t) => {
  const { a, b, seen } = await twoCatalogs();
  const sidecar = await startSidecar({
    service: 'web', outbound: { host: '127.0.0.1', port: 0 }, closeGraceMs: 200,
    routes: [{ authority: 'catalog', endpoints: [{ host: '127.0.0.1', port: a.port }] }],
  });
  t.after(async () => { await sidecar.close(); await a.close(); await b.close(); });
  const r = await request(sidecar.outboundAddress!.port, { path: 'http://catalog/items?id=3', headers: { host: 'catalog' } });
  assert.equal(r.status, 200);
  assert.equal(r.body, 'a');
  assert.equal(seen[0].path, '/items?id=3');
});

test('answers 404 MESH_ERR_NO_ROUTE for an unknown authority', async (t) => {
  const sidecar = await startSidecar({ service: 'web', outbound: { host: '127.0.0.1', port: 0 }, closeGraceMs: 200 });
  t.after(() => sidecar.close());
  const r = await request(sidecar.outboundAddress!.port, { path: '/x', headers: { host: 'nowhere' } });
  assert.equal(r.status, 404);
  assert.equal(r.headers['x-meshlens-error'], 'MESH_ERR_NO_ROUTE');
  assert.match(r.body, /MESH_ERR_NO_ROUTE: no route for authority 'nowhere'/);
  assert.equal(sidecar.stats().outbound.errors.MESH_ERR_NO_ROUTE, 1);
});

test('answers 503 MESH_ERR_UPSTREAM_CONNECT when the endpoint refuses the connection', async (t) => {
  const port = await freePort();
  const sidecar = await startSidecar({
    service: 'web', outbound: { host: '127.0.0.1', port: 0 }, closeGraceMs: 200,
    routes: [{ authority: 'catalog', endpoints: [{ host: '127.0.0.1', port }] }],
  });
  t.after(() => sidecar.close());
  const r = await request(sidecar.outboundAddress!.port, { path: '/items', headers: { host: 'catalog' } });
  assert.equal(r.status, 503);
  assert.equal(r.headers['x-meshlens-error'], 'MESH_ERR_UPSTREAM_CONNECT');
  assert.match(r.body, new RegExp(`connect to 127.0.0.1:${port} failed: ECONNREFUSED`));
});

test('answers 504 MESH_ERR_UPSTREAM_TIMEOUT when the workload does not answer within the request timeout', async (t) => {
  const workload = await startHttpServer(() => { /* never answers */ });
  const sidecar = await startSidecar({
    service: 'cart', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: workload.port },
    requestTimeoutMs: 100, closeGraceMs: 200,
  });
  t.after(async () => { await sidecar.close(); await workload.close(); });
  const r = await request(sidecar.inboundAddress!.port, { path: '/slow' });
  assert.equal(r.status, 504);
  assert.equal(r.headers['x-meshlens-error'], 'MESH_ERR_UPSTREAM_TIMEOUT');
});
