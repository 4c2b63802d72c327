// The queries of the chain audit (./chain-audit.ts), the same text for
// both dialects ({name:Type} placeholders become literals on 18.16,
// ./sql-literal.ts).
//
// No FINAL on taps: the audit sees every stored version of a row and tells
// copies (identical, a resent batch) from versions (different values under
// one seq, which FINAL would silently settle for the last one written).
// That also lets the filter on proxy, stream and batch read only those
// columns of the rows it skips.
//
// A batch stored twice has two chain records, identical but for
// received_at: the first is when it arrived. Records that differ in more
// (a rewritten record) are counted in `versions`. Aggregates never take a
// column's own name as alias: ClickHouse would read the column inside
// another aggregate as that alias (ILLEGAL_AGGREGATION).

import { JSON_NUMBERS } from './sql.ts';

// A batch belongs to the period when it was first received in it, or when
// any of its taps' ts falls in it: every tap a report counts is under the
// audit, even one whose chain record was rewritten with another time
// (after a merge the rewritten record is the only one left).
const tapBatches = (scope: string) => `SELECT DISTINCT proxy, stream, batch FROM taps WHERE ${scope}ts >= {from:UInt64} AND ts < {until:UInt64}`;

/** Batches of the period (see above), one row each. */
const periodBatches = `
SELECT proxy, stream, batch FROM (
  SELECT proxy, stream, batch FROM tap_batches GROUP BY proxy, stream, batch
  HAVING min(received_at) >= {from:UInt64} AND min(received_at) < {until:UInt64}
  UNION ALL
  ${tapBatches('')}
) GROUP BY proxy, stream, batch`;

export const CHAIN_AUDIT_SQL = {
  /** Streams with batches received in the period, and how many. */
  streams: `
SELECT proxy, stream, count() AS batches FROM (${periodBatches})
GROUP BY proxy, stream ORDER BY proxy, stream ${JSON_NUMBERS}`,

  /**
   * Up to {limit} chain records of one stream's batches of the period, from batch {from_batch} on, by batch, each with
   * the ts span of its rows stored in [{lo_ts}, {hi_ts}) (the period and a margin) and how many (0, 0, 0: none there).
   * One read of the stream's taps of that window per page, not per batch: the taps key (dst_service, ts, …) cannot
   * find a stream's rows, only a time range.
   */
  batches: `
SELECT batch, first_received, b_first_seq, b_events, b_hash, b_prev_hash, b_lost, b_schema, b_signer, versions, span_from, span_to, span_rows
FROM (
  SELECT batch, min(received_at) AS first_received, any(first_seq) AS b_first_seq, any(events) AS b_events, any(hash) AS b_hash,
    any(prev_hash) AS b_prev_hash, any(lost) AS b_lost, max(schema) AS b_schema, max(signer) AS b_signer,
    uniqExact(hash, prev_hash, first_seq, events, lost) AS versions
  FROM tap_batches WHERE proxy = {proxy:String} AND stream = {stream:String} AND batch >= {from_batch:UInt64} GROUP BY batch
) AS r ANY LEFT JOIN (
  SELECT batch, min(ts) AS span_from, max(ts) AS span_to, count() AS span_rows, countIf(ts >= {from:UInt64} AND ts < {until:UInt64}) AS in_period
  FROM taps WHERE proxy = {proxy:String} AND stream = {stream:String} AND batch >= {from_batch:UInt64} AND ts >= {lo_ts:UInt64} AND ts < {hi_ts:UInt64}
  GROUP BY batch
) AS t USING batch
WHERE (first_received >= {from:UInt64} AND first_received < {until:UInt64}) OR in_period > 0
ORDER BY batch LIMIT {limit:UInt32} ${JSON_NUMBERS}`,

  /** The stored batch of a stream just before batch {before} (received whenever), if any. */
  previous: `
SELECT batch, hash, first_seq, events FROM tap_batches
WHERE proxy = {proxy:String} AND stream = {stream:String} AND batch < {before:UInt64}
ORDER BY batch DESC LIMIT 1 ${JSON_NUMBERS}`,

  /** Every stored row (every version) of batches {lo}..{hi} of a stream, by batch and seq. */
  rows: `
SELECT * FROM taps WHERE proxy = {proxy:String} AND stream = {stream:String} AND batch >= {lo:UInt64} AND batch <= {hi:UInt64}
ORDER BY batch, seq ${JSON_NUMBERS}`,

  /** The same, only rows with {lo_ts} <= ts <= {hi_ts}: the partitions and the key's ts part prune the read. */
  rowsIn: `
SELECT * FROM taps WHERE proxy = {proxy:String} AND stream = {stream:String} AND batch >= {lo:UInt64} AND batch <= {hi:UInt64}
  AND ts >= {lo_ts:UInt64} AND ts <= {hi_ts:UInt64}
ORDER BY batch, seq ${JSON_NUMBERS}`,

  /** A stream's loss records (any time: a gap's record is written when the batch after it arrives). */
  loss: `
SELECT from_seq, count FROM tap_loss WHERE proxy = {proxy:String} AND stream = {stream:String}
ORDER BY from_seq ${JSON_NUMBERS}`,
} as const;
