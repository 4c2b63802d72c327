// What someone with write access to ClickHouse could do to the audit trail,
// for tests that must catch it: rewrite one stored tap in place, keeping
// its batch's record (hash, signer, signature) as it was (the row key is
// the same, so the ReplacingMergeTree keeps the rewritten row); or rewrite
// it and every hash from its batch to the head, leaving a consistent chain.

import type { TapEvent } from '../schema/v1.ts';
import type { TapStore } from '../store.ts';
import { TAP_INSERT_COLUMNS, toRowBatch } from '../tap-row.ts';
import { LineChunks } from '../line-chunks.ts';
import { BATCH_SCHEMA, batchHash, SIGNED_BATCH_SCHEMA } from '../batch.ts';
import { quoteString } from '../sql-literal.ts';

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

/**
 * What a careful tamperer does: the SQL that rewrites one stored tap (the
 * first l7.request of batch `batch` of `proxy`'s newest stream, its columns
 * set to `change`) AND the hash of that batch and of every batch after it
 * to the head (prev_hash too), each record keeping its signature and
 * received_at, then merges both tables so only the rewritten versions are
 * left. The chain stays consistent: re-hashing the rows finds nothing; only
 * the signatures, made over the old hashes, tell. Run the statements while
 * no store has the place open (chdb).
 */
export async function tamperStoredChain(store: TapStore, proxy: string, batch: number, change: Record<string, string | number>): Promise<{ proxy: string; stream: string; seq: number; statements: string[] }> {
  const head = (await store.chainHeads()).find((h) => h.proxy === proxy);
  if (!head) throw new Error(`tamper: no stored chain of ${proxy}`);
  const { stream } = head;
  const rows = (await store.recentTaps({ proxy }, 100_000)).filter((r) => r.stream === stream);
  const literal = (v: string | number) => (typeof v === 'number' ? String(v) : quoteString(v));
  const where = (more: string) => `WHERE proxy = ${quoteString(proxy)} AND stream = ${quoteString(stream)} AND ${more}`;
  const statements: string[] = [];
  let seq = -1;
  let prev: string | null = null;
  for (let b = batch; b <= head.batch; b++) {
    const rec = await store.batchRecord(proxy, stream, b);
    if (!rec) throw new Error(`tamper: no batch ${b} of ${proxy}/${stream}`);
    const events = rows.filter((r) => Number(r.batch) === b).map(({ stream: _s, batch: _b, ...e }) => e as unknown as TapEvent).sort((x, y) => x.seq - y.seq);
    if (b === batch) {
      const i = events.findIndex((e) => e.kind === 'l7.request');
      if (i < 0) throw new Error(`tamper: batch ${b} of ${proxy} has no l7.request`);
      events[i] = { ...events[i], ...change } as TapEvent;
      seq = events[i].seq;
      const set = TAP_INSERT_COLUMNS.map((c) => (Object.hasOwn(change, c) ? literal(change[c]) : c === 'end' ? '`end`' : c)).join(', ');
      statements.push(`INSERT INTO taps (${TAP_INSERT_COLUMNS.map((c) => (c === 'end' ? '`end`' : c)).join(', ')}) SELECT ${set} FROM taps ${where(`seq = ${seq}`)}`);
    }
    const prevHash: string = prev ?? rec.prev_hash;
    const hash = batchHash({ proxy, stream, batch: b, first_seq: rec.first_seq, lost: rec.lost, prev_hash: prevHash, events }, rec.signer === '' ? BATCH_SCHEMA : SIGNED_BATCH_SCHEMA);
    statements.push(`INSERT INTO tap_batches (proxy, stream, batch, first_seq, events, hash, prev_hash, lost, received_at, signer, signer_cert, signature, schema)
SELECT proxy, stream, batch, first_seq, events, ${quoteString(hash)}, ${quoteString(prevHash)}, lost, received_at, signer, signer_cert, signature, schema FROM tap_batches ${where(`batch = ${b}`)}`);
    prev = hash;
  }
  statements.push('OPTIMIZE TABLE taps FINAL', 'OPTIMIZE TABLE tap_batches FINAL');
  return { proxy, stream, seq, statements };
}
