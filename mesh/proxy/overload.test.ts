import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { L7RequestTap } from '../../ingest/index.ts';
import type { Cluster, ConfigSnapshot } from '../control/snapshot.ts';
import { ERROR_HEADER, parseSidecarArgs, SidecarConfigError, startSidecar, type Sidecar, type SidecarOptions } from './index.ts';
import { startControlServer } from './testing/control-server.ts';
import { startRecordingCollector, type RecordingCollector } from './testing/recording-collector.ts';
import { startRecordingWorkload } from './testing/recording-workload.ts';
import { request } from './testing/servers.ts';

async function l7Taps(sidecar: Sidecar, collector: RecordingCollector): Promise<L7RequestTap[]> {
  await sidecar.taps.flush();
  assert.deepEqual(collector.problems, []);
  return collector.events().filter((e): e is L7RequestTap => e.kind === 'l7.request');
}

/** Polls stats until `cond` holds: the sync point for "that request is now waiting in the sidecar". */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 2));
}

/** cart's inbound sidecar with the given bounds, in front of a workload that holds every /slow request. */
async function boundedCart(t: { after(fn: () => Promise<void>): void }, bounds: Pick<SidecarOptions, 'maxConcurrent' | 'maxQueue' | 'maxQueueWaitMs'>) {
  const workload = await startRecordingWorkload((r) => r.url === '/slow');
  const collector = await startRecordingCollector();
  const sidecar = await startSidecar({
    id: 'cart-1', service: 'cart', collectorUrl: collector.url, closeGraceMs: 200, taps: { lingerMs: 5 }, ...bounds,
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: workload.port },
  });
  t.after(async () => { workload.releaseAll(); await sidecar.close(); await collector.close(); await workload.close(); });
  return { workload, collector, sidecar, port: sidecar.inboundAddress!.port };
}

test('beyond --max-concurrent a request is refused at once with 503 MESH_ERR_OVERLOADED and retry-after, counted and tapped; the admitted one and the next are unharmed', async (t) => {
  const m = await boundedCart(t, { maxConcurrent: 1 });
  const slow = request(m.port, { path: '/slow' });
  await m.workload.arrived(1);
  const shed = await request(m.port, { path: '/fast' });
  assert.equal(shed.status, 503);
  assert.equal(shed.headers[ERROR_HEADER], 'MESH_ERR_OVERLOADED');
  assert.equal(shed.headers['retry-after'], '1');
  assert.match(shed.body, /inbound requests of this sidecar: 1 in flight \(limit 1\), 0 waiting \(queue 0\)/);
  assert.deepEqual(m.sidecar.stats().admission.inbound, { in_flight: 1, waiting: 0, admitted: 1, queued: 0, shed: 1 });

  m.workload.releaseAll();
  assert.equal((await slow).status, 200);
  assert.equal((await request(m.port, { path: '/fast' })).status, 200, 'the slot came back');
  assert.deepEqual(m.workload.seen.map((r) => r.url), ['/slow', '/fast'], 'the shed request never reached the workload');
  const taps = await l7Taps(m.sidecar, m.collector);
  assert.deepEqual(taps.map((e) => [e.path, e.status, e.error]), [['/fast', 503, 'MESH_ERR_OVERLOADED'], ['/slow', 200, ''], ['/fast', 200, '']]);
  const stats = m.sidecar.stats();
  assert.equal(stats.inbound.errors.MESH_ERR_OVERLOADED, 1);
  assert.deepEqual(stats.admission.inbound, { in_flight: 0, waiting: 0, admitted: 2, queued: 0, shed: 1 });
});

test('with --max-queue a request waits for the slot instead of being refused, in order; only one beyond the queue is shed', async (t) => {
  const m = await boundedCart(t, { maxConcurrent: 1, maxQueue: 1, maxQueueWaitMs: 60_000 });
  const slow = request(m.port, { path: '/slow' });
  await m.workload.arrived(1);
  const queued = request(m.port, { path: '/queued' });
  await until(() => m.sidecar.stats().admission.inbound.waiting === 1);
  const shed = await request(m.port, { path: '/shed' });
  assert.deepEqual([shed.status, shed.headers[ERROR_HEADER]], [503, 'MESH_ERR_OVERLOADED']);
  assert.deepEqual(m.workload.seen.map((r) => r.url), ['/slow'], 'the queued request waits in the sidecar, not at the workload');

  m.workload.releaseAll();
  assert.deepEqual([(await slow).status, (await queued).status], [200, 200]);
  assert.deepEqual(m.workload.seen.map((r) => r.url), ['/slow', '/queued']);
  const taps = await l7Taps(m.sidecar, m.collector);
  assert.deepEqual(taps.map((e) => [e.path, e.status, e.error]), [['/shed', 503, 'MESH_ERR_OVERLOADED'], ['/slow', 200, ''], ['/queued', 200, '']]);
  assert.deepEqual(m.sidecar.stats().admission.inbound, { in_flight: 0, waiting: 0, admitted: 2, queued: 1, shed: 1 });
});

function cluster(service: string, port: number, bound: Partial<Cluster> = {}): Cluster {
  return { service, endpoints: [{ instance: `${service}-1`, addr: '127.0.0.1', port }], lb: 'round_robin', connect_timeout_ms: 1_000, request_timeout_ms: 5_000, ...bound };
}

test('outbound, a cluster\'s max_concurrent from the snapshot bounds requests to that cluster only: cart is shed while catalog is served', async (t) => {
  const cart = await startRecordingWorkload((r) => r.url === '/slow');
  const catalog = await startRecordingWorkload();
  const control = await startControlServer();
  const collector = await startRecordingCollector();
  const web = await startSidecar({
    id: 'web-1', service: 'web', controlUrl: control.url, collectorUrl: collector.url, closeGraceMs: 200, controlRetryMaxMs: 50, taps: { lingerMs: 5 },
    outbound: { host: '127.0.0.1', port: 0 },
  });
  t.after(async () => { cart.releaseAll(); await web.close(); await collector.close(); await control.close(); await cart.close(); await catalog.close(); });
  const snap: ConfigSnapshot = {
    version: 1, proxy: 'web-1', service: 'web', taps: { query_allow: [], header_allow: [] }, policy_digest: '',
    clusters: [cluster('cart', cart.port, { max_concurrent: 1 }), cluster('catalog', catalog.port)],
    routes: [{ authority: 'cart', backends: [{ cluster: 'cart', weight: 1 }] }, { authority: 'catalog', backends: [{ cluster: 'catalog', weight: 1 }] }],
  };
  await control.send(snap);
  assert.equal((await control.ackFor(1)).ok, true);
  const port = web.outboundAddress!.port;

  const slow = request(port, { path: '/slow', headers: { host: 'cart' } });
  await cart.arrived(1);
  const shed = await request(port, { path: '/pay', headers: { host: 'cart' } });
  assert.deepEqual([shed.status, shed.headers[ERROR_HEADER], shed.headers['retry-after']], [503, 'MESH_ERR_OVERLOADED', '1']);
  assert.match(shed.body, /cluster 'cart': 1 in flight \(limit 1\)/);
  assert.equal((await request(port, { path: '/items', headers: { host: 'catalog' } })).status, 200, 'another cluster is not bounded by cart\'s limit');
  cart.releaseAll();
  assert.equal((await slow).status, 200);

  const taps = await l7Taps(web, collector);
  assert.deepEqual(taps.map((e) => [e.dst_service, e.path, e.status, e.error]), [
    ['cart', '/pay', 503, 'MESH_ERR_OVERLOADED'], ['catalog', '/items', 200, ''], ['cart', '/slow', 200, ''],
  ]);
  const a = web.stats().admission;
  assert.deepEqual([a.clusters.cart.shed, a.clusters.cart.admitted, a.outbound.shed, a.outbound.admitted], [1, 1, 0, 3]);
  assert.equal(a.clusters.catalog, undefined, 'no bound named, no gate');
});

test('--max-concurrent, --max-queue and --max-queue-wait-ms are flags, checked with the others', () => {
  const o = parseSidecarArgs(['--service', 'cart', '--listen', '127.0.0.1:0', '--upstream', '127.0.0.1:1', '--max-concurrent', '8', '--max-queue', '4', '--max-queue-wait-ms', '50']);
  assert.deepEqual([o.maxConcurrent, o.maxQueue, o.maxQueueWaitMs], [8, 4, 50]);
  assert.throws(() => parseSidecarArgs(['--service', 'cart', '--listen', '127.0.0.1:0', '--upstream', '127.0.0.1:1', '--max-concurrent', '0', '--max-queue', '-1']),
    (e: unknown) => e instanceof SidecarConfigError && e.problems.length === 2
      && /--max-concurrent: expected an integer >= 1, got '0'/.test(e.problems[0]) && /--max-queue: expected an integer >= 0/.test(e.problems[1]));
});
