// What someone with write access to ClickHouse could do to the audit trail,
// for tests that must catch it: rewrite one stored tap in place, keeping
// its batch's record (hash, signer, signature) as it was. The row key is
// the same, so the ReplacingMergeTree keeps the rewritten row.

import type { TapEvent } from '../schema/v1.ts';
import type { TapStore } from '../store.ts';
import { toRowBatch } from '../tap-row.ts';
import { LineChunks } from '../line-chunks.ts';
import { SIGNED_BATCH_SCHEMA } from '../batch.ts';

/**
 * Rewrites the first l7.request of batch `batch` of `proxy`'s newest stream
 * with `change`; returns where it is. Throws when there is no such tap.
 */
export async function tamperStoredRow(store: TapStore, proxy: string, batch: number, change: (e: TapEvent) => TapEvent): Promise<{ proxy: string; stream: string; seq: number }> {
  const head = (await store.chainHeads()).find((h) => h.proxy === proxy);
  if (!head) throw new Error(`tamper: no stored chain of ${proxy}`);
  const rec = await store.batchRecord(proxy, head.stream, batch);
  if (!rec) throw new Error(`tamper: no batch ${batch} of ${proxy}/${head.stream}`);
  const rows = (await store.recentTaps({ proxy }, 100_000)).filter((r) => r.stream === head.stream && Number(r.batch) === batch);
  const events = rows.map(({ stream: _s, batch: _b, ...e }) => e as unknown as TapEvent).sort((a, b) => a.seq - b.seq);
  const i = events.findIndex((e) => e.kind === 'l7.request');
  if (i < 0) throw new Error(`tamper: batch ${batch} of ${proxy} has no l7.request`);
  events[i] = change(events[i]);
  const tampered = toRowBatch({
    schema: SIGNED_BATCH_SCHEMA, proxy, stream: head.stream, batch, first_seq: rec.first_seq, lost: rec.lost, events, prev_hash: rec.prev_hash, hash: rec.hash,
  }, new LineChunks(1 << 20));
  const service = rec.signer.split('/').pop() ?? '';
  const rewritten = { ...tampered, signed: { uri: rec.signer, proxy, service, fingerprint: rec.signer_cert, sig: rec.signature } };
  // Twice in one write: a write of one batch carries its dedup token, and the store would drop it as a retry.
  await store.writeBatches([rewritten, rewritten]);
  return { proxy, stream: head.stream, seq: events[i].seq };
}
