// The behaviours every TapStore backend must have, as one suite that each
// backend's test file runs: chdb-store.test.ts and clickhouse-store.test.ts.

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { LineChunks } from './line-chunks.ts';
import { sampleChain, sampleL4Open, sampleL7 } from './sample-taps.ts';
import type { TapEvent } from './schema/v1.ts';
import type { TapStore } from './store.ts';
import { actionStoreTests } from './store-suite-actions.ts';
import { chainAuditStoreTests } from './store-suite-chain-audit.ts';
import { dataPlaneStoreTests } from './store-suite-data-plane.ts';
import { evidenceStoreTests } from './store-suite-evidence.ts';
import { changeStoreTests } from './store-suite-changes.ts';
import { modelStoreTests } from './store-suite-models.ts';
import { rejectStoreTests } from './store-suite-rejects.ts';
import { versionStoreTests } from './store-suite-versions.ts';
import { toRowBatch } from './tap-row.ts';

export interface StoreBackend {
  /** A new, empty place for a store (a data directory, a database name). */
  freshPlace(): string;
  /** A store on `place`, not yet initialised. */
  create(place: string, opts: { now?: () => number }): TapStore;
  /** Runs one statement on `place` while no store has it open (to make a store look as an older release left it). */
  sql(place: string, statement: string): Promise<void>;
}

export function storeSuite(name: string, backend: StoreBackend): void {
  describe(`${name}: TapStore behaviours`, () => {
    // Backends may allow one open store at a time (chdb): tests close theirs before opening another.
    const open: TapStore[] = [];
    async function openStore(place = backend.freshPlace(), now = Date.now): Promise<TapStore> {
      const s = backend.create(place, { now });
      open.push(s);
      await s.init();
      return s;
    }
    afterEach(async () => {
      for (const s of open.splice(0)) await s.close();
    });

    test('writes a batch and counts it, with filters, and reads it back newest first', async () => {
      const s = await openStore();
      const t0 = Date.now();
      const [b] = sampleChain('web-1', 's1', [[
        sampleL4Open({ ts: t0 }),
        sampleL7({ ts: t0 + 1, headers: { 'x-user': 'u1' }, decision: 'allow' }),
        sampleL7({ ts: t0 + 2, dst_service: 'pay', status: 503, path: "/it's\\odd\n", decision: 'deny', decision_reason: 'pay: only cart may call' }),
      ]]);
      await s.writeBatch(b);
      assert.equal(await s.countTaps({}), 3);
      assert.equal(await s.countTaps({ kind: 'l7.request' }), 2);
      assert.equal(await s.countTaps({ kind: 'l7.request', dst_service: 'pay' }), 1);
      assert.equal(await s.countTaps({ proxy: 'nobody' }), 0);
      assert.deepEqual([await s.countTaps({ decision: 'allow' }), await s.countTaps({ decision: 'deny' }), await s.countTaps({ decision: 'none' })], [1, 1, 0]);
      assert.deepEqual((await s.recentTaps({ decision: 'deny' }, 10)).map((r) => [r.decision, r.decision_reason]), [['deny', 'pay: only cart may call']], 'the decision log, by decision');
      assert.equal(await s.countTaps({ proxy: "web-1' OR 1=1 --" }), 0, 'a filter value is a value, never SQL');
      const recent = await s.recentTaps({}, 10);
      assert.deepEqual(recent.map((r) => r.seq), [2, 1, 0]);
      assert.deepEqual(recent[0], { ...b.events[2], stream: 's1', batch: 0 });
      assert.deepEqual(recent[1], { ...b.events[1], stream: 's1', batch: 0 });
      assert.deepEqual(recent[2], { ...b.events[0], stream: 's1', batch: 0 });
      assert.equal((await s.recentTaps({ kind: 'l7.request' }, 1)).length, 1);
      assert.deepEqual((await s.recentTaps({ since: t0 + 1, until: t0 + 2 }, 10)).map((r) => r.seq), [1], 'since <= ts < until');
      assert.deepEqual((await s.recentTaps({ proxy: 'web-1', until: t0 + 2 }, 10)).map((r) => r.seq), [1, 0]);
      assert.equal(await s.countTaps({ kind: 'l7.request', since: t0 + 2 }), 1);
      await assert.rejects(s.recentTaps({ until: -1 }, 10), { code: 'INGEST_ERR_CONFIG', message: /until must be epoch milliseconds/ });
    });

    test('writing the same batch twice stores it once and the rollups count it once', async () => {
      const s = await openStore();
      const t0 = Date.now();
      const events: TapEvent[] = [];
      for (let i = 0; i < 20; i++) events.push(sampleL7({ ts: t0 + i, direction: 'inbound' }));
      for (let i = 0; i < 5; i++) events.push(sampleL7({ ts: t0 + i, direction: 'outbound', src_service: 'web', dst_service: 'cart' }));
      const [b] = sampleChain('cart-1', 's1', [events]);
      await s.writeBatch(b);
      await s.writeBatch(b);
      assert.equal(await s.countTaps({}), 25);
      assert.equal((await s.recentTaps({}, 100)).length, 25);
      const g = await s.serviceGraph(60, t0 + 30_000);
      assert.equal(g.nodes.find((n) => n.service === 'cart')?.requests, 20);
      assert.equal(g.edges.find((e) => e.src === 'web' && e.dst === 'cart')?.requests, 5);
      assert.equal((await s.chainHeads()).length, 1);
    });

    test('a batch re-inserted inside a differently composed multi-batch write is stored once, raw and in the rollups, whether it came with events or as encoded rows', async () => {
      const s = await openStore();
      const t0 = Math.floor(Date.now() / 10_000) * 10_000 - 20_000;
      const inbound = (n: number, at: number) => Array.from({ length: n }, (_, i) => sampleL7({ ts: at + i, direction: 'inbound', latency_ms: 1 + (i % 7) }));
      const outbound = (n: number, at: number) => Array.from({ length: n }, (_, i) => sampleL7({ ts: at + i, direction: 'outbound', src_service: 'web', dst_service: 'cart' }));
      const a = sampleChain('cart-1', 'sa', [inbound(30, t0), inbound(20, t0 + 9_990), inbound(10, t0 + 5)]); // the second straddles two buckets
      const b = sampleChain('web-1', 'sb', [outbound(15, t0), outbound(5, t0 + 1)]);
      const c = sampleChain('cart-2', 'sc', [[sampleL4Open({ ts: t0 }), ...inbound(4, t0)]]);
      // A collector wrote this group, then crashed before committing its offsets...
      await s.writeBatches([a[0], b[0], a[1]]);
      // ...and the redelivered records were grouped another way, with newer
      // ones, as RowBatches (what the collector writes), one of them not.
      const w = new LineChunks(4096);
      await s.writeBatches([toRowBatch(b[0], w), toRowBatch(a[1], w), a[2], toRowBatch(c[0], w)]);
      await s.writeBatches([toRowBatch(a[0], w), toRowBatch(b[1], w)]);
      await s.writeBatches([a[1]]); // and once more on its own
      assert.equal(await s.countTaps({}), 30 + 20 + 10 + 15 + 5 + 5);
      assert.equal(await s.countTaps({ proxy: 'cart-1' }), 60);
      assert.equal(await s.countTaps({ kind: 'l4.open' }), 1);
      const g = await s.serviceGraph(60, t0 + 30_000);
      assert.equal(g.nodes.find((n) => n.service === 'cart')?.requests, 64);
      assert.equal(g.edges.find((e) => e.src === 'web' && e.dst === 'cart')?.requests, 20);
      const heads = await s.chainHeads();
      assert.deepEqual(heads.map((h) => [h.proxy, h.batch, h.last_seq]), [['cart-1', 2, 59], ['cart-2', 0, 4], ['web-1', 1, 19]]);
    });

    test('a multi-batch insert larger than a parsing chunk (10 MiB) keeps each batch whole in the rollups', async () => {
      const s = await openStore();
      const t0 = Math.floor(Date.now() / 10_000) * 10_000 - 20_000;
      const long = '/' + 'p'.repeat(1_900);
      // 12 batches x 500 taps x ~2.3 KB: ~14 MB in one INSERT, past a parallel
      // parsing chunk. Were a batch cut in two blocks on the way to the views
      // (by the parser, or by the store splitting a group mid-batch), two
      // rollup rows would share a key and FINAL would keep only one.
      const groups = Array.from({ length: 12 }, (_, g) => Array.from({ length: 500 }, (_, i) => sampleL7({ ts: t0 + g, direction: 'inbound', path: long, latency_ms: i % 50 })));
      const chain = sampleChain('big-1', 's1', groups);
      await s.writeBatches(chain);
      assert.equal(await s.countTaps({ proxy: 'big-1' }), 6_000);
      assert.equal((await s.serviceGraph(60, t0 + 30_000)).nodes.find((n) => n.service === 'cart')?.requests, 6_000);
    });

    test('a batch resent to a reopened store (collector restarted before its ack) is still stored once', async () => {
      const place = backend.freshPlace();
      const t0 = Date.now();
      const events = Array.from({ length: 10 }, (_, i) => sampleL7({ ts: t0 + i, direction: 'inbound' }));
      const [b] = sampleChain('cart-1', 's1', [events]);
      const s1 = await openStore(place);
      await s1.writeBatch(b);
      await s1.close();
      const s2 = await openStore(place);
      await s2.writeBatch(b);
      assert.equal(await s2.countTaps({}), 10);
      assert.equal((await s2.serviceGraph(60, t0 + 30_000)).nodes.find((n) => n.service === 'cart')?.requests, 10);
    });

    test('serviceGraph returns rps, error rate and latency quantiles of the window from the rollups', async () => {
      const s = await openStore();
      const until = Math.floor(Date.now() / 10_000) * 10_000;
      const from = until - 60_000;
      const inbound: TapEvent[] = [];
      const outbound: TapEvent[] = [];
      for (let i = 1; i <= 100; i++) {
        // 5 server errors and 5 requests without a response: error rate 0.1.
        const status = i <= 5 ? 503 : i <= 10 ? 0 : 200;
        inbound.push(sampleL7({ ts: from + i * 100, direction: 'inbound', latency_ms: i, status }));
        outbound.push(sampleL7({ ts: from + i * 100, direction: 'outbound', latency_ms: i + 1, status }));
      }
      const external: TapEvent[] = [];
      for (let i = 0; i < 30; i++) {
        external.push(sampleL7({ ts: from + 20_000 + i, direction: 'inbound', src_service: 'external', dst_service: 'web', latency_ms: 2 }));
      }
      // Outside the window on both sides: must not count.
      const outside = [sampleL7({ ts: from - 1, direction: 'inbound' }), sampleL7({ ts: until, direction: 'inbound' })];
      for (const b of sampleChain('cart-1', 's1', [inbound, outside])) await s.writeBatch(b);
      for (const b of sampleChain('web-1', 's1', [outbound, external])) await s.writeBatch(b);

      const g = await s.serviceGraph(60, until);
      assert.equal(g.window_s, 60);
      assert.equal(g.until, until);
      assert.deepEqual(g.nodes.map((n) => n.service), ['cart', 'external', 'web']);
      const cart = g.nodes.find((n) => n.service === 'cart')!;
      assert.equal(cart.requests, 100);
      assert.equal(cart.rps, 100 / 60);
      assert.equal(cart.errors, 10);
      assert.equal(cart.error_rate, 0.1);
      assert.ok(Math.abs(cart.p50_ms - 50.5) <= 1.5, `p50 ${cart.p50_ms}`);
      assert.ok(Math.abs(cart.p99_ms - 99) <= 1.5, `p99 ${cart.p99_ms}`);
      assert.equal(g.nodes.find((n) => n.service === 'web')!.requests, 30);
      assert.equal(g.nodes.find((n) => n.service === 'external')!.requests, 0);

      const edges = Object.fromEntries(g.edges.map((e) => [`${e.src}>${e.dst}`, e]));
      assert.deepEqual(Object.keys(edges).sort(), ['external>web', 'web>cart']);
      assert.equal(edges['web>cart'].requests, 100);
      assert.equal(edges['web>cart'].error_rate, 0.1);
      assert.ok(Math.abs(edges['web>cart'].p50_ms - 51.5) <= 1.5, `edge p50 ${edges['web>cart'].p50_ms}`);
      assert.equal(edges['external>web'].requests, 30);
      assert.equal(edges['external>web'].rps, 0.5);
      assert.equal(edges['external>web'].p99_ms, 2);
    });

    test('serviceGraph over a window that starts mid-bucket counts that whole bucket and divides by the time covered', async () => {
      const s = await openStore();
      const bucket = Math.floor(Date.now() / 10_000) * 10_000 - 30_000;
      const events: TapEvent[] = [];
      for (let i = 0; i < 40; i++) events.push(sampleL7({ ts: bucket + 1_000 + i, direction: 'inbound' }));
      for (const b of sampleChain('cart-1', 's-mid', [events])) await s.writeBatch(b);
      // Window of 15 s ending 20 s into the bucket: starts 5 s into it, so it covers [bucket, bucket + 20 s).
      const cart = (await s.serviceGraph(15, bucket + 20_000)).nodes.find((n) => n.service === 'cart')!;
      assert.equal(cart.requests, 40);
      assert.equal(cart.rps, 40 / 20);
    });

    test('chainHeads returns the newest batch of every stream with its last seq and lost count', async () => {
      const s = await openStore();
      const a = sampleChain('web-1', 'sa', [[sampleL7()], [sampleL7(), sampleL7()], [sampleL7()]], { lost: [0, 2, 5] });
      const b = sampleChain('cart-1', 'sb', [[sampleL7()], []]);
      for (const x of [a[0], b[0], a[2], a[1], b[1], a[2]]) await s.writeBatch(x);
      assert.deepEqual(await s.chainHeads(), [
        { proxy: 'cart-1', stream: 'sb', batch: 1, hash: b[1].hash, last_seq: 0, lost: 0 },
        { proxy: 'web-1', stream: 'sa', batch: 2, hash: a[2].hash, last_seq: 3, lost: 5 },
      ]);
    });

    test('lossSummary sums recorded loss per proxy and reason, a loss recorded twice counting once', async () => {
      const s = await openStore();
      assert.deepEqual(await s.lossSummary(), []);
      const gap = { proxy: 'web-1', stream: 's1', ts: Date.now() - 60_000, // recent: older rows fall to the TTL
        from_seq: 10, count: 4, reason: 'sequence_gap' };
      await s.recordLoss(gap);
      await s.recordLoss({ ...gap, ts: gap.ts + 5 }); // the same loss, seen again on a resent batch
      await s.recordLoss({ ...gap, from_seq: 30, count: 2, ts: gap.ts + 9 });
      await s.recordLoss({ proxy: 'web-1', stream: 's1', ts: gap.ts + 1, from_seq: 50, count: 7, reason: 'sidecar_dropped' });
      await s.recordLoss({ proxy: 'cart-1', stream: 's2', ts: gap.ts + 2, from_seq: 0, count: 1, reason: 'sidecar_dropped' });
      const summary = await s.lossSummary();
      assert.deepEqual(summary.map(({ last_ts: _, ...r }) => r), [
        { proxy: 'cart-1', reason: 'sidecar_dropped', events: 1, records: 1 },
        { proxy: 'web-1', reason: 'sequence_gap', events: 6, records: 2 },
        { proxy: 'web-1', reason: 'sidecar_dropped', events: 7, records: 1 },
      ]);
      assert.equal(summary[1].last_ts, gap.ts + 9);
    });

    test('data survives close and reopen, and init runs again on existing tables', async () => {
      const place = backend.freshPlace();
      const s1 = await openStore(place);
      const chain = sampleChain('web-1', 's1', [[sampleL7({ direction: 'inbound' }), sampleL7({ direction: 'inbound' })]]);
      await s1.writeBatch(chain[0]);
      await s1.close();
      await s1.close(); // idempotent
      await assert.rejects(s1.countTaps({}), { code: 'INGEST_ERR_CLOSED' });
      const s2 = await openStore(place);
      assert.equal(await s2.countTaps({}), 2);
      assert.equal((await s2.chainHeads())[0].hash, chain[0].hash);
      assert.equal((await s2.serviceGraph(60, Date.now() + 10_000)).nodes[0].requests, 2);
    });

    test('bad arguments are refused with INGEST_ERR_CONFIG', async () => {
      const s = await openStore();
      await assert.rejects(s.serviceGraph(0), { code: 'INGEST_ERR_CONFIG' });
      await assert.rejects(s.recentTaps({}, -1), { code: 'INGEST_ERR_CONFIG' });
      await assert.rejects(s.countTaps({ kind: 5 as unknown as string }), { code: 'INGEST_ERR_CONFIG' });
    });

    modelStoreTests(() => openStore());
    rejectStoreTests(() => openStore());
    versionStoreTests((place) => openStore(place), backend);
    dataPlaneStoreTests((place) => openStore(place), backend);
    actionStoreTests((place) => openStore(place), backend);
    chainAuditStoreTests((place, now) => openStore(place, now), backend);
    evidenceStoreTests((now) => openStore(undefined, now));
    changeStoreTests((place) => openStore(place), backend);
  });
}
