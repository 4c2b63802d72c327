import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import type { L7RequestTap, TapEvent } from '../../ingest/index.ts';
import type { ConfigSnapshot } from '../control/snapshot.ts';
import { startSidecar } from './index.ts';
import { startControlServer } from './testing/control-server.ts';
import { startRecordingCollector } from './testing/recording-collector.ts';
import { l7Taps, sidecarHarness } from './testing/sidecar-harness.ts';
import { request, startHttpServer, startTcpServer } from './testing/servers.ts';

/** Each tap as [kind, direction, src_version, dst_version], absent versions as undefined. */
const versions = (taps: readonly TapEvent[]) => taps.map((e) => [e.kind, e.direction, e.src_version, e.dst_version]);

test('a sidecar labelled version=v2 records v2 as the callee on its inbound taps (and no caller version), and as the caller on its outbound ones', async (t) => {
  const inbound = await sidecarHarness(t, 'inbound', { labels: { version: 'v2', zone: 'a' } });
  assert.equal((await request(inbound.port, { path: '/pay', headers: { host: 'cart', 'x-meshlens-version': 'v9' } })).status, 200);
  await inbound.sidecar.close(); // the connection's l4.close too
  assert.deepEqual(inbound.collector.problems, []);
  assert.deepEqual(versions(inbound.collector.events()).sort(), [
    ['l4.close', 'inbound', undefined, 'v2'], ['l4.open', 'inbound', undefined, 'v2'], ['l7.request', 'inbound', undefined, 'v2'],
  ]);

  // Standalone routes name addresses only: the endpoint's version is unknown.
  const outbound = await sidecarHarness(t, 'outbound', { labels: { version: 'v2' } });
  assert.equal((await request(outbound.port, { path: '/items', headers: { host: 'cart' } })).status, 200);
  assert.deepEqual(versions(await l7Taps(outbound)), [['l7.request', 'outbound', 'v2', undefined]]);

  const unlabelled = await sidecarHarness(t, 'inbound');
  assert.equal((await request(unlabelled.port, { path: '/pay', headers: { host: 'cart' } })).status, 200);
  const [tap] = await l7Taps(unlabelled);
  assert.ok(!('src_version' in tap) && !('dst_version' in tap), 'no label, no version fields');
});

test('outbound taps carry the version label of the endpoint each request went to, and the callee sidecar records only its own', async (t) => {
  const collector = await startRecordingCollector();
  const app = (name: string) => startHttpServer((req, res) => { req.resume(); res.end(name); });
  const [paymentsApp, v3App, bareApp] = await Promise.all([app('payments-1'), app('payments-3'), app('payments-4')]);
  // payments-1 behind its own sidecar, labelled v1; the others plain workloads.
  const payments = await startSidecar({
    id: 'payments-1', service: 'payments', labels: { version: 'v1' }, collectorUrl: collector.url, closeGraceMs: 200, taps: { lingerMs: 5 },
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: paymentsApp.port },
  });
  const control = await startControlServer();
  const web = await startSidecar({
    id: 'web-1', service: 'web', labels: { version: 'v2' }, controlUrl: control.url, collectorUrl: collector.url, closeGraceMs: 200,
    controlRetryMaxMs: 50, taps: { lingerMs: 5 }, outbound: { host: '127.0.0.1', port: 0 },
  });
  t.after(async () => {
    await web.close();
    await payments.close();
    for (const c of [control, collector, paymentsApp, v3App, bareApp]) await c.close();
  });
  const endpoint = (instance: string, port: number, version?: string) => ({ instance, addr: '127.0.0.1', port, ...(version ? { labels: { version } } : {}) });
  const snapshot: ConfigSnapshot = {
    version: 1, proxy: 'web-1', service: 'web',
    routes: [{ authority: 'payments', backends: [{ cluster: 'payments', weight: 1 }] }],
    clusters: [{
      service: 'payments', lb: 'round_robin', connect_timeout_ms: 500, request_timeout_ms: 2_000,
      endpoints: [endpoint('payments-1', payments.inboundAddress!.port, 'v1'), endpoint('payments-3', v3App.port, 'v3'), endpoint('payments-4', bareApp.port)],
    }],
    taps: { query_allow: [], header_allow: [] },
    policy_digest: '',
  };
  await control.send(snapshot);
  assert.equal((await control.ackFor(1)).ok, true);
  const answeredBy: string[] = [];
  for (let i = 0; i < 6; i++) answeredBy.push((await request(web.outboundAddress!.port, { path: '/charge', headers: { host: 'payments' } })).body);
  assert.deepEqual(answeredBy, ['payments-1', 'payments-3', 'payments-4', 'payments-1', 'payments-3', 'payments-4']);
  await web.taps.flush();
  await payments.taps.flush();
  assert.deepEqual(collector.problems, []);

  const l7 = collector.events().filter((e): e is L7RequestTap => e.kind === 'l7.request');
  const outbound = l7.filter((e) => e.direction === 'outbound').sort((a, b) => a.seq - b.seq);
  assert.deepEqual(outbound.map((e) => [e.dst_instance, e.src_version, e.dst_version]), [
    ['payments-1', 'v2', 'v1'], ['payments-3', 'v2', 'v3'], ['payments-4', 'v2', undefined],
    ['payments-1', 'v2', 'v1'], ['payments-3', 'v2', 'v3'], ['payments-4', 'v2', undefined],
  ]);
  // payments-1's own side: its version as the callee; the caller's v2 is nothing it can prove.
  assert.deepEqual(l7.filter((e) => e.direction === 'inbound').map((e) => [e.proxy, e.src_version, e.dst_version]), [
    ['payments-1', undefined, 'v1'], ['payments-1', undefined, 'v1'],
  ]);
});

test('in tcp mode the l4 taps of a sidecar labelled version=v2 carry v2 as the callee and no caller version', async (t) => {
  const collector = await startRecordingCollector();
  const upstream = await startTcpServer((s) => { s.on('data', () => {}); s.on('end', () => s.end('ok')); });
  const sidecar = await startSidecar({
    id: 'db-1', service: 'db', mode: 'tcp', labels: { version: 'v2' }, collectorUrl: collector.url, closeGraceMs: 300,
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: upstream.port },
  });
  t.after(async () => { await sidecar.close(); await upstream.close(); await collector.close(); });
  await new Promise<void>((resolve, reject) => {
    const s = net.connect(sidecar.inboundAddress!.port, '127.0.0.1', () => s.end('q'));
    s.on('data', () => {});
    s.on('close', () => resolve());
    s.on('error', reject);
  });
  await sidecar.close();
  assert.deepEqual(collector.problems, []);
  assert.deepEqual(versions(collector.events()), [['l4.open', 'inbound', undefined, 'v2'], ['l4.close', 'inbound', undefined, 'v2']]);
});
