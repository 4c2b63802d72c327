// Store behaviours of signed batches and refused ones: who signed a stored
// batch, and the tap_rejects table. Run inside the shared store suite
// (./store-suite.ts) so they hold on chdb and on the 18.16 server alike.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IngestError } from './errors.ts';
import { LineChunks } from './line-chunks.ts';
import { sampleChain, sampleL7 } from './sample-taps.ts';
import type { TapStore } from './store.ts';
import { rejectRow, REJECT_HEAD_BYTES } from './tap-reject.ts';
import { toRowBatch } from './tap-row.ts';

export function rejectStoreTests(openStore: () => Promise<TapStore>): void {
  test('a batch stored with the signer the collector verified keeps it in its chain record; one stored without keeps none', async () => {
    const s = await openStore();
    const [a, b] = sampleChain('web-1', 's1', [[sampleL7()], [sampleL7(), sampleL7()]]);
    const signed = { uri: 'spiffe://t.local/ns/default/sa/web', proxy: 'web-1', service: 'web', fingerprint: 'AB:CD', sig: 'MEUCIQ==' };
    await s.writeBatches([{ ...toRowBatch(a, new LineChunks(4096)), signed }, b]);
    await s.writeBatches([{ ...toRowBatch(a, new LineChunks(4096)), signed }]); // stored again: still one record
    const rec = await s.batchRecord('web-1', 's1', 0);
    assert.deepEqual(rec && { ...rec, received_at: 0 }, {
      proxy: 'web-1', stream: 's1', batch: 0, first_seq: 0, events: 1, hash: a.hash, prev_hash: a.prev_hash, lost: 0, received_at: 0,
      signer: signed.uri, signer_cert: 'AB:CD', signature: 'MEUCIQ==',
    });
    assert.deepEqual(await s.batchRecord('web-1', 's1', 1).then((r) => r && [r.events, r.signer, r.signature]), [2, '', '']);
    assert.equal(await s.batchRecord('web-1', 's1', 2), null);
  });

  test('refused frames are recorded in tap_rejects, read newest first and filtered by proxy and code; the same frame refused again is one row', async () => {
    const s = await openStore();
    const t0 = Date.now() - 60_000; // within retention
    const [b] = sampleChain('web-1', 's9', [Array.from({ length: 20 }, () => sampleL7({ path: '/p'.repeat(40) }))]);
    const { encodeBatch } = await import('./batch.ts');
    const frame = encodeBatch(b);
    const forged = rejectRow(frame, new IngestError('INGEST_ERR_SIGNATURE', 'batch 0 of web-1/s9: unsigned'), t0, { sender: 'cart-1' });
    const junk = rejectRow(Buffer.from([0xff, 0x00, 0x41, 0x0a]), new IngestError('INGEST_ERR_NOT_JSON', "it's \\ not JSON"), t0 + 1, {});
    await s.recordRejects([forged, junk]);
    await s.recordRejects([{ ...forged, received_at: t0 + 5 }]); // a Kafka redelivery of the same record
    assert.equal(await s.countRejects({}), 2);
    assert.equal(await s.countRejects({ proxy: 'web-1' }), 1);
    assert.equal(await s.countRejects({ code: 'INGEST_ERR_NOT_JSON' }), 1);
    assert.equal(await s.countRejects({ proxy: "web-1' OR 1=1 --" }), 0, 'a filter value is a value, never SQL');
    const rows = await s.rejects({}, 10);
    assert.deepEqual(rows.map((r) => [r.proxy, r.batch, r.code]), [['web-1', 0, 'INGEST_ERR_SIGNATURE'], ['', -1, 'INGEST_ERR_NOT_JSON']]);
    const [r] = rows;
    assert.deepEqual([r.stream, r.sender, r.signer, r.reason, r.frame_bytes], ['s9', 'cart-1', '', 'batch 0 of web-1/s9: unsigned', frame.length]);
    assert.ok(frame.length > REJECT_HEAD_BYTES);
    assert.equal(r.frame_head, frame.toString('utf8', 0, REJECT_HEAD_BYTES));
    assert.equal(r.frame_sha256, forged.frame_sha256);
    assert.deepEqual([rows[1].frame_head, rows[1].reason], ['\ufffd\u0000A\n', "it's \\ not JSON"]);
    await assert.rejects(s.rejects({}, -1), { code: 'INGEST_ERR_CONFIG' });
  });
}
