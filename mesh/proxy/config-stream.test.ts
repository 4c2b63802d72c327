import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConfigSnapshot } from '../control/snapshot.ts';
import { startSidecar } from './index.ts';
import { startControlServer } from './testing/control-server.ts';
import { request, startHttpServer } from './testing/servers.ts';

function snapshot(version: number, catalogPort: number, extra: Partial<ConfigSnapshot> = {}): ConfigSnapshot {
  return {
    version, proxy: 'web-1', service: 'web',
    routes: [{ authority: 'catalog', backends: [{ cluster: 'catalog', weight: 1 }] }, { authority: 'empty', backends: [{ cluster: 'empty', weight: 1 }] }],
    clusters: [
      { service: 'catalog', endpoints: [{ instance: `catalog-${catalogPort}`, addr: '127.0.0.1', port: catalogPort }], lb: 'round_robin', connect_timeout_ms: 500, request_timeout_ms: 2_000 },
      { service: 'empty', endpoints: [], lb: 'round_robin', connect_timeout_ms: 500, request_timeout_ms: 2_000 },
    ],
    taps: { query_allow: [], header_allow: [] },
    policy_digest: '',
    ...extra,
  };
}

test('applies config snapshots from the control stream and ACKs them; NACKs an invalid one and keeps the old config', async (t) => {
  const a = await startHttpServer((_req, res) => res.end('a'));
  const b = await startHttpServer((_req, res) => res.end('b'));
  const control = await startControlServer();
  const sidecar = await startSidecar({
    id: 'web-1', service: 'web', instance: 'web-1', controlUrl: control.url, taps: { enabled: false },
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: a.port },
    outbound: { host: '127.0.0.1', port: 0 }, closeGraceMs: 200, controlRetryMaxMs: 50,
  });
  t.after(async () => { await sidecar.close(); await control.close(); await a.close(); await b.close(); });
  const out = sidecar.outboundAddress!.port;
  const get = (host: string) => request(out, { path: '/items', headers: { host } });

  await control.send(snapshot(1, a.port));
  assert.deepEqual(await control.ackFor(1), { proxy: 'web-1', version: 1, ok: true });
  assert.equal((await get('catalog')).body, 'a');
  assert.deepEqual(Object.fromEntries(control.streams[0]), { proxy: 'web-1', service: 'web', instance: 'web-1', inbound: `127.0.0.1:${sidecar.inboundAddress!.port}` });

  const broken = snapshot(2, b.port);
  broken.routes[0].backends[0].cluster = 'nope';
  await control.send(broken);
  const nack = await control.ackFor(2);
  assert.equal(nack.ok, false);
  assert.equal(nack.error, "routes[0].backends[0].cluster: unknown cluster 'nope'");
  assert.equal((await get('catalog')).body, 'a', 'the old config stays in force after a NACK');

  const badLimit = snapshot(3, b.port) as ConfigSnapshot & { clusters: { max_concurrent?: unknown }[] };
  badLimit.clusters[0].max_concurrent = -1;
  await control.send(badLimit);
  assert.equal((await control.ackFor(3)).error, 'clusters[0].max_concurrent: must be a positive integer');

  await control.send(snapshot(4, b.port));
  assert.equal((await control.ackFor(4)).ok, true);
  assert.equal((await get('catalog')).body, 'b');
  const empty = await get('empty');
  assert.equal(empty.status, 503);
  assert.equal(empty.headers['x-meshlens-error'], 'MESH_ERR_NO_ENDPOINT');
  const stats = sidecar.stats().config;
  assert.ok('applied' in stats);
  assert.deepEqual([stats.version, stats.applied, stats.rejected], [4, 2, 2]);
});

test('keeps serving the last good snapshot while the control stream is down and reconnects', async (t) => {
  const a = await startHttpServer((_req, res) => res.end('a'));
  const control = await startControlServer();
  const sidecar = await startSidecar({
    id: 'web-1', service: 'web', controlUrl: control.url, taps: { enabled: false },
    outbound: { host: '127.0.0.1', port: 0 }, closeGraceMs: 200, controlRetryMaxMs: 50,
  });
  t.after(async () => { await sidecar.close(); await control.close(); await a.close(); });
  await control.send(snapshot(1, a.port));
  await control.ackFor(1);
  control.dropStreams();
  assert.equal((await request(sidecar.outboundAddress!.port, { path: '/', headers: { host: 'catalog' } })).body, 'a');
  await control.streamCount(2);
  await control.send(snapshot(1, a.port)); // the control plane resends the current version on reconnect
  await control.ackCount(2);
  assert.deepEqual(control.acks.map((x) => [x.version, x.ok]), [[1, true], [1, true]]);
});

test('NACKs a snapshot meant for another proxy', async (t) => {
  const control = await startControlServer();
  const sidecar = await startSidecar({ id: 'web-1', service: 'web', controlUrl: control.url, taps: { enabled: false }, outbound: { host: '127.0.0.1', port: 0 }, closeGraceMs: 200 });
  t.after(async () => { await sidecar.close(); await control.close(); });
  await control.send({ ...snapshot(4, 1), proxy: 'web-2' });
  const nack = await control.ackFor(4);
  assert.deepEqual(nack, { proxy: 'web-1', version: 4, ok: false, error: "proxy: snapshot is for 'web-2', this sidecar is 'web-1'" });
});
