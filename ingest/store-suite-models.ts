// Store behaviours the anomaly models rely on (rollup series in, alert
// states out), run inside the shared store suite (./store-suite.ts) so they
// hold on chdb and on the 18.16 server alike.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleChain, sampleL7 } from './sample-taps.ts';
import type { StoredAlert, TapStore } from './store.ts';

export function modelStoreTests(openStore: () => Promise<TapStore>): void {
  test('rollupSeries returns one row per bucket and service, and per bucket and edge as "src→dst", with merged counts, latency, bytes, retries and policy denies', async () => {
    const s = await openStore();
    const b0 = Math.floor(Date.now() / 10_000) * 10_000 - 60_000;
    // Every fourth request denied.
    const inbound = Array.from({ length: 20 }, (_, i) => sampleL7({
      ts: b0 + (i < 10 ? i : 10_000 + i), direction: 'inbound', latency_ms: 10, status: i % 10 === 0 ? 503 : 200,
      req_bytes: 100, resp_bytes: 1000, retries: i % 5 === 0 ? 1 : 0,
      ...(i % 4 === 0 ? { decision: 'deny', decision_reason: 'no' } : { decision: 'allow' }),
    }));
    const outbound = Array.from({ length: 4 }, (_, i) => sampleL7({ ts: b0 + i, direction: 'outbound', src_service: 'web', dst_service: 'cart', latency_ms: 20 }));
    // Two batches of one stream landing in the same bucket: their states merge.
    for (const b of sampleChain('cart-1', 's1', [inbound.slice(0, 5), inbound.slice(5)])) await s.writeBatch(b);
    for (const b of sampleChain('web-1', 's1', [outbound])) await s.writeBatch(b);
    const svc = await s.rollupSeries('service', b0, b0 + 20_000);
    assert.deepEqual(svc.map((r) => [r.bucket, r.subject, r.requests, r.errors, r.req_bytes, r.resp_bytes, r.retries, r.denies]), [
      [b0, 'cart', 10, 1, 1000, 10_000, 2, 3],
      [b0 + 10_000, 'cart', 10, 1, 1000, 10_000, 2, 2],
    ]);
    assert.equal(svc[0].p50_ms, 10);
    assert.equal(svc[0].p99_ms, 10);
    const edges = await s.rollupSeries('edge', b0, b0 + 20_000);
    assert.deepEqual(edges.map((r) => [r.bucket, r.subject, r.requests, r.p50_ms]), [[b0, 'web→cart', 4, 20]]);
    assert.deepEqual(await s.rollupSeries('service', b0 + 20_000, b0 + 60_000), [], 'the window excludes untilMs and later');
    await assert.rejects(s.rollupSeries('pod' as 'service', 0, 1), { code: 'INGEST_ERR_CONFIG' });
  });

  test('rollupSeries counts distinct connections on the callee side: per service over its callers, per edge, each batch once, null where none were seen', async () => {
    const s = await openStore();
    const b0 = Math.floor(Date.now() / 10_000) * 10_000 - 120_000;
    // cart's sidecar, inbound: web on connections w1, w2 (w1 twice), the
    // load generator on x1; the first 10 s bucket only.
    const at = (i: number, src: string, conn: string) => sampleL7({ ts: b0 + i, direction: 'inbound', src_service: src, dst_service: 'cart', conn_id: conn });
    const cartIn = sampleChain('cart-1', 'c1', [[at(0, 'web', 'w1'), at(1, 'web', 'w2')], [at(2, 'web', 'w1'), at(3, 'external', 'x1')]]);
    // web's sidecar, outbound to cart on many app connections: not counted
    // (the caller's side follows its own concurrency, see rollup_conn_10s).
    const webOut = sampleChain('web-1', 'w1', [Array.from({ length: 6 }, (_, i) => sampleL7({
      ts: b0 + i, direction: 'outbound', src_service: 'web', dst_service: 'cart', conn_id: `app-${i}`,
    }))]);
    for (const b of cartIn) await s.writeBatch(b);
    await s.writeBatches([...webOut, cartIn[1]]); // cartIn[1] again, inside another group
    const svc = await s.rollupSeries('service', b0, b0 + 10_000);
    assert.deepEqual(svc.map((r) => [r.subject, r.requests, r.connections]), [['cart', 4, 3]]);
    const edges = await s.rollupSeries('edge', b0, b0 + 10_000);
    assert.deepEqual(edges.map((r) => [r.subject, r.requests, r.connections]), [['external→cart', 1, 1], ['web→cart', 6, 2]]);
    // An edge whose callee saw nothing (its requests never arrived): no count.
    const lost = sampleChain('web-1', 'w2', [[sampleL7({ ts: b0 + 10_000, direction: 'outbound', src_service: 'web', dst_service: 'gone', status: 503 })]]);
    await s.writeBatch(lost[0]);
    assert.deepEqual((await s.rollupSeries('edge', b0 + 10_000, b0 + 20_000)).map((r) => [r.subject, r.connections]), [['web→gone', null]]);
  });

  test('an alert written open, updated and resolved reads back once in its newest state, filtered by that state', async () => {
    const s = await openStore();
    const t = Math.floor(Date.now() / 10_000) * 10_000 - 600_000;
    const open: StoredAlert = {
      id: `service:payments:${t}`, scope: 'service', subject: 'payments', state: 'open', opened_at: t, updated_at: t, resolved_at: null,
      score: 3.5, threshold: 1.25, features: [{ name: 'p99_ms', share: 0.7 }, { name: 'retries_per_request', share: 0.2 }],
      explanation: "p99 latency and retries on payments (it's \"slow\")", model_version: 'm20261129-034712',
    };
    await s.writeAlert(open);
    assert.deepEqual(await s.alerts({ state: 'open', limit: 10 }), [open]);
    await s.writeAlert({ ...open, updated_at: t + 30_000, score: 5 });
    const edge: StoredAlert = { ...open, id: `edge:cart→payments:${t}`, scope: 'edge', subject: 'cart→payments', updated_at: t + 40_000 };
    await s.writeAlert(edge);
    const resolved = { ...open, state: 'resolved' as const, updated_at: t + 300_000, resolved_at: t + 300_000, score: 5 };
    await s.writeAlert(resolved);
    await s.writeAlert(resolved); // written twice (a retry): still one alert
    assert.deepEqual(await s.alerts({ state: 'open', limit: 10 }), [edge], 'a resolved alert is no longer open');
    assert.deepEqual(await s.alerts({ state: 'resolved', limit: 10 }), [resolved]);
    assert.deepEqual(await s.alerts({ limit: 10 }), [resolved, edge], 'newest change first');
    assert.deepEqual(await s.alerts({ limit: 1 }), [resolved]);
    await assert.rejects(s.writeAlert({ ...open, score: Number.NaN, scope: 'pod' as 'service' }),
      (e: Error & { code?: string }) => e.code === 'INGEST_ERR_MALFORMED' && /scope/.test(e.message) && /score/.test(e.message));
  });
}
