// The demo's full topology as `meshlens up` runs it: catalog with two
// instances, payments in two versions with all traffic on v1, the indexer
// calling catalog on its own, and the scenario faults landing where they say.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DEMO_TOPOLOGY, sendExactly, type FaultPlan } from '../demo/index.ts';
import { eventually, withDemoMesh } from './stack.ts';

const DEMO_POLICY = join(import.meta.dirname, '..', 'demo', 'policy');
// The shop's own noise off, so every 500 is a fault's.
const topology = DEMO_TOPOLOGY.map((s) => ({ ...s, error_rate: 0, slow_rate: 0, work_ms: 0 }));
// The eject scenario in force from the start for an hour (and, as always with faults on, payments v2 regressed).
const faults: FaultPlan = { warmup_ms: 0, every_ms: 3_600_000, duration_ms: 3_600_000, kinds: ['eject'] };

test('the demo runs catalog ×2, payments v1 and v2 with v2 unused until a rollout, and indexer calling catalog; eject fails half of catalog-2\'s requests, and v2 fails once it gets traffic', { timeout: 180_000 }, () =>
  withDemoMesh('topology', ['--policy', DEMO_POLICY], { topology, faults }, async ({ core, mesh }) => {
    const st = core.control.status();
    const endpoints = Object.fromEntries(Object.entries(st.services).map(([s, eps]) => [s, eps.map((e) => `${e.instance} ${e.labels?.version}`)]));
    assert.deepEqual(endpoints, {
      cart: ['cart-1 v1'], catalog: ['catalog-1 v1', 'catalog-2 v1'], indexer: [], inventory: ['inventory-1 v1'],
      payments: ['payments-1 v1', 'payments-2 v2'], web: ['web-1 v1'],
    }, 'indexer\'s sidecar has no inbound listener: connected, but no endpoint');
    assert.ok(st.proxies.some((p) => p.proxy === 'indexer-1' && p.connected));
    assert.deepEqual(st.routes.routes.map((r) => [r.service, r.subsets]), [['payments', [{ version: 'v1', weight: 100 }, { version: 'v2', weight: 0 }]]]);
    assert.deepEqual([...mesh.sidecars.keys()].sort(), ['cart-1', 'catalog-1', 'catalog-2', 'indexer-1', 'inventory-1', 'payments-1', 'payments-2', 'web-1']);

    const inbound = (proxy: string, extra: Record<string, string> = {}) => core.store.recentTaps({ kind: 'l7.request', direction: 'inbound', proxy, ...extra }, 100_000);
    const N = 200;
    await sendExactly(mesh.ingressUrl, N, 8);
    // Anonymous checkouts (about 14% of the mix) stop at web's policy; the rest call catalog once and payments once.
    await eventually('the calls stored', async () => (await inbound('payments-1')).length >= N / 2 && (await inbound('catalog-2', { src_service: 'web' })).length >= N / 4, 60_000);
    assert.equal((await inbound('payments-2')).length, 0, 'v2 gets nothing at weight 0');
    const statuses = async (proxy: string) => new Set((await inbound(proxy, { src_service: 'web' })).map((t) => t.status));
    assert.deepEqual(await statuses('catalog-1'), new Set([200]), 'catalog-1 is healthy');
    assert.deepEqual(await statuses('catalog-2'), new Set([200, 500]), 'catalog-2 fails some of its requests, not all');

    // The indexer's own calls reach catalog, allowed by the demo policy.
    await eventually('indexer calls catalog', async () => (await core.store.recentTaps({ kind: 'l7.request', direction: 'inbound', src_service: 'indexer' }, 10)).length > 0, 60_000);
    const fromIndexer = await core.store.recentTaps({ kind: 'l7.request', direction: 'inbound', src_service: 'indexer' }, 1_000);
    const odd = fromIndexer.filter((t) => !(t.dst_service === 'catalog' && t.decision === 'allow'));
    assert.deepEqual(odd.map((t) => [t.proxy, t.seq, t.dst_service, t.decision, t.decision_reason]), [], 'every indexer call reaches catalog, allowed');

    // A rollout: all payments traffic to v2, which is slower and fails a fifth of its requests.
    core.control.setRouteWeights('payments', [{ version: 'v1', weight: 0 }, { version: 'v2', weight: 100 }]);
    await eventually('every sidecar on the new weights', () => core.control.status().proxies.every((p) => !p.connected || p.acked_version === p.sent_version));
    const rolledOut = Date.now();
    await sendExactly(mesh.ingressUrl, N, 8);
    await eventually('v2\'s calls stored', async () => (await inbound('payments-2')).length >= N / 2, 60_000);
    const v2 = await inbound('payments-2');
    assert.ok(v2.some((t) => t.status === 500) && v2.some((t) => t.status === 200), `v2 answers some 500s: ${JSON.stringify([...new Set(v2.map((t) => t.status))])}`);
    assert.ok(v2.every((t) => (t.ts as number) >= rolledOut), 'v2 got its first call after the rollout');
    assert.deepEqual((await inbound('payments-1')).filter((t) => (t.ts as number) >= rolledOut), [], 'v1 gets nothing at weight 0');
  }));
