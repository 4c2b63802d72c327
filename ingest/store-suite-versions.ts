// Store behaviours of instance versions (the taps' src_version and
// dst_version, rollup_version_10s), run inside the shared store suite
// (./store-suite.ts) so they hold on chdb and on the 18.16 server alike.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleChain, sampleL4Open, sampleL7 } from './sample-taps.ts';
import type { TapEvent } from './schema/v1.ts';
import type { TapStore, VersionRollupRow } from './store.ts';
import type { StoreBackend } from './store-suite.ts';

/** What versionRollups should say, worked out from raw l7.request taps as the store gives them back (recentTaps). */
function rollupsOf(raw: readonly Record<string, unknown>[]): unknown[][] {
  const groups = new Map<string, Record<string, unknown>[]>();
  for (const r of raw) {
    if (r.kind !== 'l7.request' || r.direction !== 'inbound') continue;
    const key = JSON.stringify([Math.floor(Number(r.ts) / 10_000) * 10_000, r.dst_service, r.dst_version ?? '']);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const sum = (rs: Record<string, unknown>[], f: (r: Record<string, unknown>) => number) => rs.reduce((n, r) => n + f(r), 0);
  return [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, rs]) => {
    const [bucket, service, version] = JSON.parse(key) as [number, string, string];
    const latencies = new Set(rs.map((r) => r.latency_ms));
    assert.equal(latencies.size, 1, 'one latency per group, so that p50 and p99 are exact');
    return [bucket, `${service}@${version}`, service, version, rs.length,
      sum(rs, (r) => (Number(r.status) >= 500 || r.status === 0 ? 1 : 0)), sum(rs, (r) => Number(r.req_bytes)), sum(rs, (r) => Number(r.resp_bytes)),
      sum(rs, (r) => Number(r.retries)), sum(rs, (r) => (r.decision === 'deny' ? 1 : 0)), new Set(rs.map((r) => r.conn_id)).size,
      [...latencies][0], [...latencies][0]];
  });
}

const STATS = ['requests', 'errors', 'req_bytes', 'resp_bytes', 'retries', 'denies'] as const;

const shown = (rows: readonly VersionRollupRow[]) => rows.map((r) => [
  r.bucket, r.subject, r.service, r.version, r.requests, r.errors, r.req_bytes, r.resp_bytes, r.retries, r.denies, r.connections, r.p50_ms, r.p99_ms,
]);

export function versionStoreTests(openStore: (place?: string) => Promise<TapStore>, backend: StoreBackend): void {
  test('versionRollups gives each bucket of each service and callee version what its raw inbound taps say, each batch once, by bucket, service and version', async () => {
    const s = await openStore();
    const b0 = Math.floor(Date.now() / 10_000) * 10_000 - 60_000;
    // payments' sidecars, inbound: v1 on payments-1, v2 on payments-2, and payments-3 without a version label.
    const served = (proxy: string, version: string, latency: number, n: number, at: number): TapEvent[] => Array.from({ length: n }, (_, i) => sampleL7({
      ts: at + i, direction: 'inbound', src_service: 'cart', dst_service: 'payments', dst_instance: proxy, conn_id: `${proxy}-c${i % 2}`,
      latency_ms: latency, status: i % 5 === 1 ? 503 : i % 7 === 3 ? 0 : 200, req_bytes: 10 + i, resp_bytes: 100 * i, retries: i % 3 === 0 ? 1 : 0,
      ...(i % 4 === 2 ? { decision: 'deny' as const, decision_reason: 'no' } : {}),
      ...(version ? { dst_version: version } : {}),
    }));
    const v1 = sampleChain('payments-1', 'p1', [served('payments-1', 'v1', 10, 12, b0), served('payments-1', 'v1', 12, 5, b0 + 10_000)]);
    const v2 = sampleChain('payments-2', 'p2', [[...served('payments-2', 'v2', 40, 8, b0), ...served('payments-2', 'v2', 41, 3, b0 + 10_005)]]);
    const unlabelled = sampleChain('payments-3', 'p3', [served('payments-3', '', 7, 2, b0)]);
    const web = sampleChain('web-1', 'w1', [[
      sampleL7({ ts: b0 + 3, direction: 'inbound', src_service: 'external', dst_service: 'web', dst_version: 'v7', latency_ms: 3 }),
      // Not a request served: never in the rollups.
      sampleL4Open({ ts: b0 + 3, direction: 'inbound', src_service: 'external', dst_service: 'web', dst_version: 'v7' }),
    ]]);
    // cart's sidecar, outbound to payments v2: the caller's side, not payments' own view.
    const cart = sampleChain('cart-1', 'c1', [[sampleL7({ ts: b0 + 1, direction: 'outbound', src_service: 'cart', dst_service: 'payments', src_version: 'v1', dst_version: 'v2', latency_ms: 99 })]]);
    await s.writeBatches([v1[0], v2[0], cart[0]]);
    await s.writeBatches([v1[1], unlabelled[0], web[0], v1[0]]); // v1[0] again, inside another group
    await s.writeBatch(v2[0]); // and v2's on its own

    const raw = await s.recentTaps({}, 1000);
    assert.equal(raw.length, 12 + 5 + 11 + 2 + 2 + 1, 'every tap stored once');
    assert.deepEqual(raw.filter((r) => r.direction === 'outbound').map((r) => [r.src_version, r.dst_version]), [['v1', 'v2']], 'versions stored and read back');
    assert.equal(raw.filter((r) => r.proxy === 'payments-3').some((r) => 'dst_version' in r), false, 'no version: no field');

    const all = await s.versionRollups(b0, b0 + 20_000);
    const want = rollupsOf(raw);
    assert.deepEqual(shown(all), want);
    assert.deepEqual(want.map((r) => [r[0], r[1]]), [
      [b0, 'payments@'], [b0, 'payments@v1'], [b0, 'payments@v2'], [b0, 'web@v7'], [b0 + 10_000, 'payments@v1'], [b0 + 10_000, 'payments@v2'],
    ], 'the cases this test means to cover, in the order asked for');
    // The versions of a service add up to its service rollup.
    const services = await s.rollupSeries('service', b0, b0 + 20_000);
    for (const svc of services) {
      const parts = all.filter((r) => r.bucket === svc.bucket && r.service === svc.subject);
      assert.deepEqual(STATS.map((k) => parts.reduce((n, r) => n + r[k], 0)), STATS.map((k) => svc[k]), `${svc.subject} at ${svc.bucket}`);
    }

    assert.deepEqual(shown(await s.versionRollups(b0, b0 + 20_000, 'payments')), want.filter((r) => r[2] === 'payments'));
    assert.deepEqual(shown(await s.versionRollups(b0 + 10_000, b0 + 20_000, 'payments')), want.filter((r) => r[2] === 'payments' && r[0] === b0 + 10_000), 'the window excludes buckets before fromMs');
    assert.deepEqual(await s.versionRollups(b0, b0 + 10_000, "payments' OR 1=1 --"), [], 'a service is a value, never SQL');
    assert.deepEqual(await s.versionRollups(b0 + 20_000, b0 + 60_000), [], 'the window excludes untilMs and later');
    await assert.rejects(s.versionRollups(Number.NaN, 1), { code: 'INGEST_ERR_CONFIG' });
  });

  test('a store created before versions gains the taps columns and rollup_version_10s on init; older taps read without a version, newer ones count', async () => {
    const place = backend.freshPlace();
    const b0 = Math.floor(Date.now() / 10_000) * 10_000 - 120_000;
    const before = await openStore(place);
    const [old] = sampleChain('payments-1', 'old', [[sampleL7({ ts: b0 + 1, direction: 'inbound', src_service: 'cart', dst_service: 'payments', latency_ms: 1 })]]);
    await before.writeBatch(old);
    await before.close();
    // As an older release left it: no version columns in taps, no version rollups.
    for (const sql of ['DROP TABLE rollup_version_10s_mv', 'DROP TABLE rollup_version_10s', 'ALTER TABLE taps DROP COLUMN dst_version', 'ALTER TABLE taps DROP COLUMN src_version']) {
      await backend.sql(place, sql);
    }
    const s = await openStore(place);
    const [b] = sampleChain('payments-2', 'new', [[sampleL7({ ts: b0 + 2, direction: 'inbound', src_service: 'cart', dst_service: 'payments', dst_version: 'v2', latency_ms: 4 })]]);
    await s.writeBatch(b);
    assert.deepEqual((await s.recentTaps({ dst_service: 'payments' }, 10)).map((r) => [r.proxy, r.dst_version]), [['payments-2', 'v2'], ['payments-1', undefined]]);
    // Version rollups count from when the view exists.
    assert.deepEqual((await s.versionRollups(b0, b0 + 10_000)).map((r) => [r.subject, r.requests, r.p50_ms]), [['payments@v2', 1, 4]]);
    await s.close();
    const again = await openStore(place); // nothing left to upgrade
    assert.equal((await again.versionRollups(b0, b0 + 10_000)).length, 1);
  });
  test('instanceFigures counts each callee instance\'s requests and errors as its callers recorded them, inside the window only, each batch once', async () => {
    const s = await openStore();
    const t0 = Math.floor(Date.now() / 10_000) * 10_000 - 120_000;
    const call = (instance: string, version: string, status: number, latency: number, ts: number) => sampleL7({
      ts, direction: 'outbound', src_service: 'web', dst_service: 'catalog', dst_instance: instance, dst_version: version, status, latency_ms: latency,
    });
    const healthy = Array.from({ length: 10 }, (_, i) => call('catalog-1', 'v1', 200, 10, t0 + i));
    const sick = Array.from({ length: 8 }, (_, i) => call('catalog-2', 'v1', i % 2 ? 500 : 200, 30, t0 + i));
    const outside = [call('catalog-2', 'v1', 500, 30, t0 + 60_000), call('catalog-2', 'v1', 500, 30, t0 - 1)];
    // The callee's own inbound view is not the callers' side: never counted here.
    const inbound = [sampleL7({ ts: t0 + 3, direction: 'inbound', src_service: 'web', dst_service: 'catalog', dst_instance: 'catalog-2', status: 500 })];
    const web = sampleChain('web-1', 'w1', [[...healthy, ...sick.slice(0, 4)], [...sick.slice(4), ...outside]]);
    const cat = sampleChain('catalog-2', 'c2', [inbound]);
    await s.writeBatches([web[0], web[1], cat[0]]);
    await s.writeBatches([web[0]]); // the same batch again
    const got = await s.instanceFigures(t0, t0 + 30_000);
    assert.deepEqual(got.map((r) => [r.service, r.instance, r.version, r.requests, r.errors]), [
      ['catalog', 'catalog-1', 'v1', 10, 0],
      ['catalog', 'catalog-2', 'v1', 8, 4],
    ]);
    assert.ok(Math.abs(got[1].p50_ms - 30) < 1e-6 && Math.abs(got[0].p99_ms - 10) < 1e-6, `latencies ${JSON.stringify(got)}`);
  });
}
