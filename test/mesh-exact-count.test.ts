import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sendExactly } from '../demo/index.ts';
import { assertNoSidecarLoss, assertTapsPerHop, DEMO_HOPS, eventually, withDemoMesh } from './stack.ts';

const N = 1_200;

test(`${N} front-door requests leave exactly ${N} l7.request taps at every hop of the mesh, none lost, none doubled, no secrets`, { timeout: 120_000 }, () =>
  withDemoMesh('exact', [], {}, async ({ core, mesh, lines }) => {
    const statuses = await sendExactly(mesh.ingressUrl, N, 32);
    assert.deepEqual([...statuses], [[200, N]], 'every request through the mesh succeeds');

    // Each request causes one inbound tap at web and two taps per downstream hop.
    const expected = N * DEMO_HOPS.length;
    await eventually(`${expected} l7 taps stored`, async () => await core.store.countTaps({ kind: 'l7.request' }) >= expected);
    await mesh.close(); // sidecars flush what is left (l4.close taps) and stop
    assertNoSidecarLoss(lines, mesh.sidecars.size);

    await assertTapsPerHop(core.store, N);

    const heads = await core.store.chainHeads();
    assert.equal(heads.length, DEMO_HOPS.filter((h, i, a) => a.findIndex((x) => x.proxy === h.proxy) === i).length, 'one chain per sidecar');
    assert.ok(heads.every((h) => h.lost === 0), 'no sidecar reported lost taps');
    assert.equal(core.collector.counters().batches_rejected, 0);
    const uiStatus = await (await fetch(`${core.uiUrl}/api/status`, { headers: { authorization: `Bearer ${core.operatorToken}` } })).json() as { control: { tap_lost_events: number } };
    assert.equal(uiStatus.control.tap_lost_events, 0, 'the UI reports no tap loss');

    // Every hop between services is mTLS: both SPIFFE ids and the TLS version are in its taps.
    const hops = await core.store.recentTaps({ kind: 'l7.request', proxy: 'cart-1', direction: 'inbound' }, 100);
    assert.ok(hops.length > 0);
    for (const t of hops) {
      assert.deepEqual([t.src_identity, t.dst_identity, t.tls_version], ['spiffe://meshlens.local/ns/default/sa/web', 'spiffe://meshlens.local/ns/default/sa/cart', 'TLSv1.3']);
    }
    // Every batch stored is signed by the sidecar that made it.
    for (const h of heads) {
      const rec = await core.store.batchRecord(h.proxy, h.stream, h.batch);
      assert.equal(rec?.signer, `spiffe://meshlens.local/ns/default/sa/${h.proxy.replace(/-1$/, '')}`, `batch ${h.batch} of ${h.proxy}`);
    }
    assert.equal(await core.store.countRejects({}), 0, 'no batch refused');

    const sample = await core.store.recentTaps({ kind: 'l7.request', proxy: 'web-1', direction: 'inbound' }, 1000);
    assert.ok(sample.length > 0);
    for (const t of sample) {
      assert.ok(!String(t.path).includes('s3cr3t'), `query string value leaked into path ${t.path}`);
      const headers = JSON.stringify(t.headers ?? {});
      assert.ok(!/authorization|cookie|demo-secret/i.test(headers), `secret header captured: ${headers}`);
      assert.match(String(t.trace_id), /^[0-9a-f]{32}$/, 'trace id taken from traceparent');
    }
  }));
