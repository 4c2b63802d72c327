// Store behaviours of the data plane's tap fields (issue 15): the decisions
// a sidecar took on a request (`flags`), the protocol and gRPC's service,
// method and status. Run inside the shared store suite (./store-suite.ts)
// so they hold on chdb and on the 18.16 server alike.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleChain, sampleL4Open, sampleL7 } from './sample-taps.ts';
import type { TapStore } from './store.ts';
import type { StoreBackend } from './store-suite.ts';

export function dataPlaneStoreTests(openStore: (place?: string) => Promise<TapStore>, backend: StoreBackend): void {
  test('flags, protocol and the gRPC fields are stored and read back exactly, absent ones stay absent, and a tap filter finds taps by one flag', async () => {
    const s = await openStore();
    const t0 = Date.now() - 60_000;
    const events = [
      sampleL7({ ts: t0, retries: 2, flags: 'retried,per_try_timeout', protocol: 'http/1.1' }),
      sampleL7({ ts: t0 + 1, flags: 'retry_budget_exhausted', protocol: 'http/1.1', status: 503, error: 'MESH_ERR_UPSTREAM_CONNECT' }),
      sampleL7({ ts: t0 + 2, flags: 'ejected_skip,ejected', protocol: 'h2' }),
      sampleL7({ ts: t0 + 3, protocol: 'grpc', grpc_service: 'shop.v1.Cart', grpc_method: 'Add', grpc_status: 14 }),
      sampleL7({ ts: t0 + 4, protocol: 'grpc', grpc_service: 'shop.v1.Cart', grpc_method: 'List', grpc_status: 0 }),
      sampleL7({ ts: t0 + 5, flags: '', protocol: '', grpc_status: -1 }),
      sampleL7({ ts: t0 + 6 }), // as a sidecar before issue 15 recorded it
      sampleL4Open({ ts: t0 + 7 }),
    ];
    const [b] = sampleChain('web-1', 'dp', [events]);
    await s.writeBatch(b);
    const back = (await s.recentTaps({}, 100)).reverse();
    assert.deepEqual(back, b.events.map((e) => ({ ...e, stream: 'dp', batch: 0 })), 'every tap as it was sealed');
    assert.equal('grpc_status' in back[6], false, 'no status recorded: none read back (not the column default -1)');

    const seqs = async (flag: Parameters<TapStore['recentTaps']>[0]['flag']) => (await s.recentTaps({ flag }, 100)).map((r) => r.seq).reverse();
    assert.deepEqual(await seqs('retried'), [0]);
    assert.deepEqual(await seqs('ejected'), [2], 'a whole name, not a prefix of ejected_skip');
    assert.deepEqual(await seqs('ejected_skip'), [2]);
    assert.deepEqual(await seqs('panic'), []);
    assert.equal(await s.countTaps({ flag: 'retry_budget_exhausted', dst_service: 'cart' }), 1);
    await assert.rejects(s.countTaps({ flag: "retried') OR 1=1 --" as 'retried' }), { code: 'INGEST_ERR_CONFIG', message: /flag must be one of retried, / });
  });

  test('a store created before the data-plane fields gains their columns on init; older taps read without them, newer ones keep them', async () => {
    const place = backend.freshPlace();
    const t0 = Date.now() - 120_000;
    const before = await openStore(place);
    const [old] = sampleChain('web-1', 'old', [[sampleL7({ ts: t0 })]]);
    await before.writeBatch(old);
    await before.close();
    for (const c of ['grpc_status', 'grpc_method', 'grpc_service', 'protocol', 'flags']) await backend.sql(place, `ALTER TABLE taps DROP COLUMN ${c}`);
    const s = await openStore(place);
    const [now] = sampleChain('web-1', 'new', [[sampleL7({ ts: t0 + 1, flags: 'retried', retries: 1, protocol: 'http/1.1', grpc_status: 2 })]]);
    await s.writeBatch(now);
    const back = await s.recentTaps({}, 10);
    assert.deepEqual(back.map((r) => [r.stream, r.flags, r.protocol, r.grpc_status]), [['new', 'retried', 'http/1.1', 2], ['old', undefined, undefined, undefined]]);
    assert.deepEqual(back[1], { ...old.events[0], stream: 'old', batch: 0 }, 'the older tap exactly as it was sealed');
  });
  test('the inbound requests of a period come as their distinct inputs with counts and first and last taps, each tap once (a batch stored twice too), outbound and l4 taps and the period\'s edges left out', async () => {
    const s = await openStore();
    const t0 = Date.now() - 300_000;
    const inbound = (ts: number, over: Parameters<typeof sampleL7>[0] = {}) => sampleL7({ ts, direction: 'inbound', src_service: 'web', dst_service: 'cart', ...over });
    const signedIn = { path: '/a?page=2', method: 'POST', src_identity: 'spiffe://t/ns/default/sa/web', headers: { 'user-agent': 'curl/8' }, decision: 'allow' as const, decision_reason: 'ok' };
    const [cart] = sampleChain('cart-1', 'r', [[
      inbound(t0 - 1, signedIn),
      inbound(t0, signedIn),
      sampleL7({ ts: t0 + 1, ...signedIn }), // outbound
      sampleL4Open({ ts: t0 + 1, direction: 'inbound' }),
      inbound(t0 + 2, { path: '/b', decision: 'deny', decision_reason: 'no_rule' }),
      inbound(t0 + 3, { ...signedIn, headers: { 'user-agent': 'curl/9' } }),
      inbound(t0 + 4, signedIn),
      inbound(t0 + 10_000, signedIn),
    ]]);
    const [pay] = sampleChain('payments-1', 'r', [[inbound(t0 + 1, { ...signedIn, dst_service: 'payments' }), inbound(t0 + 5, { ...signedIn, dst_service: 'payments' })]]);
    await s.writeBatch(cart);
    await s.writeBatch(pay);
    await s.writeBatch(pay); // a redelivery: still one request each
    const inputs = await s.inboundRequestInputs(t0, t0 + 10_000, 10);
    assert.deepEqual(inputs.map((i) => [i.dst_service, i.path, i.headers['user-agent'], i.decision, i.requests, `${i.first.proxy}:${i.first.seq}`, `${i.last.proxy}:${i.last.seq}`]), [
      ['cart', '/a?page=2', 'curl/8', 'allow', 2, 'cart-1:1', 'cart-1:6'],
      ['payments', '/a?page=2', 'curl/8', 'allow', 2, 'payments-1:0', 'payments-1:1'],
      ['cart', '/b', undefined, 'deny', 1, 'cart-1:4', 'cart-1:4'],
      ['cart', '/a?page=2', 'curl/9', 'allow', 1, 'cart-1:5', 'cart-1:5'],
    ], 'by earliest request');
    assert.deepEqual(inputs[0], {
      src_service: 'web', src_identity: 'spiffe://t/ns/default/sa/web', dst_service: 'cart', method: 'POST', path: '/a?page=2',
      headers: { 'user-agent': 'curl/8' }, decision: 'allow', decision_reason: 'ok', requests: 2,
      first: { proxy: 'cart-1', stream: 'r', seq: 1, ts: t0 }, last: { proxy: 'cart-1', stream: 'r', seq: 6, ts: t0 + 4 },
    });
    assert.deepEqual([inputs[2].headers, inputs[2].src_identity], [{}, ''], 'nothing recorded: nothing read');
    assert.equal((await s.inboundRequestInputs(t0, t0 + 10_000, 3)).length, 3, 'at most limit');
    await assert.rejects(s.inboundRequestInputs(t0, t0 + 1, -1), { code: 'INGEST_ERR_CONFIG', message: /limit must be an integer >= 0/ });
  });
}
