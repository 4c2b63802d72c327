// The stored rows of the chain audit's batches (./chain-audit.ts), read a
// chunk at a time. The taps key (dst_service, ts, proxy, stream, seq)
// cannot find one stream's rows, only a time range: a read by proxy,
// stream and batch alone scans every row of the table, once per chunk,
// which made the audit quadratic (bench:report: 10M taps, 500 such reads,
// 10-14 min). Each chain record comes with the ts span of its rows in the
// period and a margin (CHAIN_AUDIT_SQL.batches), so a chunk is read within
// its span, and costs what that time range holds.

import type { ChainAuditSource } from './chain-audit.ts';
import { CHAIN_AUDIT_SQL as Q } from './sql-chain-audit.ts';

/** How far around the period rows are looked for first: a batch sealed across its start or end is still read whole. */
export const SPAN_MARGIN_MS = 15 * 60_000;

/** What a chunk's read needs of a chain record. */
export interface SpannedBatch {
  batch: number;
  first_seq: number;
  events: number;
  /** The ts span of its rows stored in the period and margin, and how many (0: none there). */
  span_from: number;
  span_to: number;
  span_rows: number;
}

type Row = Record<string, unknown>;
const num = (v: unknown) => Number(v);

/**
 * The stored rows of a chunk's batches (by batch number, in batch and seq
 * order), and rows of batch numbers in between that fall in its span. A
 * batch missing any of its seqs within the span (or with no rows there) is
 * read again whole, so what the audit finds missing is missing.
 */
export async function chunkRows(src: ChainAuditSource, where: string, key: { proxy: string; stream: string }, chunk: readonly SpannedBatch[]): Promise<Map<number, Row[]>> {
  const byBatch = new Map<number, Row[]>();
  const put = (rows: Row[], only?: Set<number>) => {
    for (const r of rows) {
      const b = num(r.batch);
      if (only && !only.has(b)) continue;
      if (!byBatch.has(b)) byBatch.set(b, []);
      byBatch.get(b)!.push(r);
    }
  };
  const lo = chunk[0].batch;
  const hi = chunk[chunk.length - 1].batch;
  const spanned = chunk.filter((b) => b.span_rows > 0);
  if (spanned.length === 0) {
    put(await src.rows<Row>(`reading the rows of batches ${lo}..${hi} of ${where}`, Q.rows, { ...key, lo, hi }));
    return byBatch;
  }
  const lo_ts = spanned.reduce((t, b) => Math.min(t, b.span_from), Infinity);
  const hi_ts = spanned.reduce((t, b) => Math.max(t, b.span_to), 0);
  put(await src.rows<Row>(`reading the rows of batches ${lo}..${hi} of ${where}`, Q.rowsIn, { ...key, lo, hi, lo_ts, hi_ts }));
  const whole = chunk.filter((b) => seqsHeld(b, byBatch.get(b.batch) ?? []) < b.events).map((b) => b.batch);
  if (whole.length > 0) {
    for (const b of whole) byBatch.delete(b);
    const [a, z] = [whole[0], whole[whole.length - 1]];
    put(await src.rows<Row>(`reading the rows of batches ${a}..${z} of ${where} again, whole`, Q.rows, { ...key, lo: a, hi: z }), new Set(whole));
  }
  return byBatch;
}

/** How many of a batch's seqs its rows (in seq order) hold, copies counted once. */
function seqsHeld(b: SpannedBatch, rows: readonly Row[]): number {
  let n = 0;
  let last = -1;
  for (const r of rows) {
    const seq = num(r.seq);
    if (seq !== last && seq >= b.first_seq && seq < b.first_seq + b.events) n++;
    last = seq;
  }
  return n;
}
