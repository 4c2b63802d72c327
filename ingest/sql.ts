// The one SQL schema: raw taps, chain records, loss records and the 10-second
// rollups the service graph reads. Every backend (chdb now, a ClickHouse
// server later) runs the statements generated here.
//
// Compatibility: times are UInt64 epoch milliseconds rather than DateTime64,
// headers are a JSON string rather than Map, and states use AggregateFunction
// rather than SimpleAggregateFunction, so the same columns fit an old server.
// TTL and the dedup window are the modern-only parts and come from one place
// (`tableSettings`, `ttl`) so a legacy dialect can drop them there.
//
// Idempotency: every INSERT carries insert_deduplication_token (see
// `dedupToken`), tables keep a non-replicated dedup window, and
// deduplicate_blocks_in_dependent_materialized_views makes the rollup
// views skip a deduplicated block too, so a resent batch never counts twice.

import { IngestError } from './errors.ts';
import { EXTERNAL_SERVICE } from './schema/v1.ts';

export const ROLLUP_BUCKET_MS = 10_000;
/** Latency quantile levels kept in rollup states; merge must use the same list. */
export const ROLLUP_QUANTILES = [0.5, 0.9, 0.99] as const;

export interface SchemaOptions {
  /** Days raw taps, chain and loss records are kept (default 7). */
  retentionDays?: number;
  /** Days rollups are kept (default 30). */
  rollupRetentionDays?: number;
  /** Recent insert blocks remembered per table for dedup (default 10000). */
  dedupWindow?: number;
}

export const DEFAULT_RETENTION_DAYS = 7;
export const DEFAULT_ROLLUP_RETENTION_DAYS = 30;
export const DEFAULT_DEDUP_WINDOW = 10_000;

const levels = ROLLUP_QUANTILES.join(', ');
const msToDateTime = (col: string) => `toDateTime(intDiv(${col}, 1000))`;
const partition = (col: string) => `PARTITION BY toDate(${msToDateTime(col)})`;
const ttl = (col: string, days: number) => `TTL ${msToDateTime(col)} + INTERVAL ${days} DAY`;
const tableSettings = (window: number) => `SETTINGS non_replicated_deduplication_window = ${window}`;

function positiveInt(name: string, v: number | undefined, dflt: number): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n <= 0) throw new IngestError('INGEST_ERR_CONFIG', `schema: ${name} must be a positive integer, got ${v}`);
  return n;
}

/** Columns of `taps`, one per TapEvent field plus where the event came from. */
export const TAP_COLUMNS = `
  proxy String,
  stream String,
  batch UInt64,
  seq UInt64,
  v UInt8,
  kind LowCardinality(String),
  ts UInt64,
  direction LowCardinality(String),
  conn_id String,
  src_service String,
  src_instance String,
  src_addr String,
  src_port UInt16,
  dst_service String,
  dst_instance String,
  dst_addr String,
  dst_port UInt16,
  src_identity String DEFAULT '',
  dst_identity String DEFAULT '',
  tls_version String DEFAULT '',
  bytes_in UInt64 DEFAULT 0,
  bytes_out UInt64 DEFAULT 0,
  duration_ms Float64 DEFAULT 0,
  \`end\` LowCardinality(String) DEFAULT '',
  error String DEFAULT '',
  method LowCardinality(String) DEFAULT '',
  authority String DEFAULT '',
  path String DEFAULT '',
  status UInt16 DEFAULT 0,
  latency_ms Float64 DEFAULT 0,
  req_bytes UInt64 DEFAULT 0,
  resp_bytes UInt64 DEFAULT 0,
  upstream String DEFAULT '',
  retries UInt32 DEFAULT 0,
  trace_id String DEFAULT '',
  headers String DEFAULT '{}',
  decision LowCardinality(String) DEFAULT '',
  decision_reason String DEFAULT ''`;

const ROLLUP_STATS = `
  requests AggregateFunction(count),
  errors AggregateFunction(sum, UInt64),
  latency AggregateFunction(quantilesTDigest(${levels}), Float64),
  req_bytes AggregateFunction(sum, UInt64),
  resp_bytes AggregateFunction(sum, UInt64),
  retries AggregateFunction(sum, UInt64)`;

const ROLLUP_STATES = `
  countState() AS requests,
  sumState(toUInt64(status >= 500 OR status = 0)) AS errors,
  quantilesTDigestState(${levels})(latency_ms) AS latency,
  sumState(req_bytes) AS req_bytes,
  sumState(resp_bytes) AS resp_bytes,
  sumState(toUInt64(retries)) AS retries`;

const BUCKET = `intDiv(ts, ${ROLLUP_BUCKET_MS}) * ${ROLLUP_BUCKET_MS} AS bucket`;

/** CREATE statements in dependency order; each is safe to run on every start. */
export function schemaStatements(opts: SchemaOptions = {}): string[] {
  const days = positiveInt('retentionDays', opts.retentionDays, DEFAULT_RETENTION_DAYS);
  const rollupDays = positiveInt('rollupRetentionDays', opts.rollupRetentionDays, DEFAULT_ROLLUP_RETENTION_DAYS);
  const win = positiveInt('dedupWindow', opts.dedupWindow, DEFAULT_DEDUP_WINDOW);
  // The external service name is a constant of the schema, not input.
  const external = `'${EXTERNAL_SERVICE.replace(/'/g, "\\'")}'`;
  return [
    `CREATE TABLE IF NOT EXISTS taps (${TAP_COLUMNS}
) ENGINE = MergeTree ${partition('ts')} ORDER BY (dst_service, ts, proxy, seq) ${ttl('ts', days)} ${tableSettings(win)}`,

    `CREATE TABLE IF NOT EXISTS tap_batches (
  proxy String, stream String, batch UInt64, first_seq UInt64, events UInt32,
  hash String, prev_hash String, lost UInt64, received_at UInt64
) ENGINE = MergeTree ${partition('received_at')} ORDER BY (proxy, stream, batch) ${ttl('received_at', days)} ${tableSettings(win)}`,

    `CREATE TABLE IF NOT EXISTS tap_loss (
  proxy String, stream String, ts UInt64, from_seq UInt64, count UInt64, reason LowCardinality(String)
) ENGINE = MergeTree ${partition('ts')} ORDER BY (proxy, stream, ts) ${ttl('ts', days)} ${tableSettings(win)}`,

    `CREATE TABLE IF NOT EXISTS rollup_service_10s (
  bucket UInt64, service String,${ROLLUP_STATS}
) ENGINE = AggregatingMergeTree ${partition('bucket')} ORDER BY (bucket, service) ${ttl('bucket', rollupDays)} ${tableSettings(win)}`,

    `CREATE TABLE IF NOT EXISTS rollup_edge_10s (
  bucket UInt64, src_service String, dst_service String,${ROLLUP_STATS}
) ENGINE = AggregatingMergeTree ${partition('bucket')} ORDER BY (bucket, src_service, dst_service) ${ttl('bucket', rollupDays)} ${tableSettings(win)}`,

    // A service's own view of what it served: inbound requests only.
    `CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_service_10s_mv TO rollup_service_10s AS
SELECT ${BUCKET}, dst_service AS service,${ROLLUP_STATES}
FROM taps WHERE kind = 'l7.request' AND direction = 'inbound'
GROUP BY bucket, service`,

    // An edge is seen from the client side (outbound, which also sees upstream
    // failures); clients without a sidecar only appear inbound as 'external'.
    `CREATE MATERIALIZED VIEW IF NOT EXISTS rollup_edge_10s_mv TO rollup_edge_10s AS
SELECT ${BUCKET}, src_service, dst_service,${ROLLUP_STATES}
FROM taps WHERE kind = 'l7.request'
  AND (direction = 'outbound' OR (direction = 'inbound' AND src_service = ${external}))
GROUP BY bucket, src_service, dst_service`,
  ];
}

/** The dedup token of one batch's rows in any table: proxy:stream:batch. */
export function dedupToken(proxy: string, stream: string, batch: number): string {
  return `${proxy}:${stream}:${batch}`;
}

export const INSERT_SETTINGS = {
  insert_deduplicate: 1,
  deduplicate_blocks_in_dependent_materialized_views: 1,
} as const;

// ---------------------------------------------------------------------------
// Queries. Values always come in as {name:Type} parameters.

/** Output numbers as JSON numbers (all values here stay below 2^53). */
const JSON_NUMBERS = 'SETTINGS output_format_json_quote_64bit_integers = 0';

export const CHAIN_HEADS_SQL = `
SELECT proxy, stream, max(b.batch) AS head_batch,
  argMax(b.hash, b.batch) AS head_hash,
  argMax(toInt64(b.first_seq) + toInt64(b.events) - 1, b.batch) AS last_seq,
  argMax(b.lost, b.batch) AS head_lost
FROM tap_batches AS b GROUP BY proxy, stream ORDER BY proxy, stream ${JSON_NUMBERS}`;

export const LOSS_SUMMARY_SQL = `
SELECT proxy, reason, sum(count) AS events, count() AS records, max(ts) AS last_ts
FROM tap_loss GROUP BY proxy, reason ORDER BY proxy, reason ${JSON_NUMBERS}`;

const statsSelect = `
  countMerge(requests) AS requests,
  sumMerge(errors) AS errors,
  quantilesTDigestMerge(${levels})(latency) AS latency`;

const windowWhere = 'bucket >= {from:UInt64} AND bucket < {until:UInt64}';

export const SERVICE_STATS_SQL = `
SELECT service,${statsSelect}
FROM rollup_service_10s WHERE ${windowWhere} GROUP BY service ORDER BY service ${JSON_NUMBERS}`;

export const EDGE_STATS_SQL = `
SELECT src_service, dst_service,${statsSelect}
FROM rollup_edge_10s WHERE ${windowWhere} GROUP BY src_service, dst_service ORDER BY src_service, dst_service ${JSON_NUMBERS}`;

/** Filterable tap columns and their parameter types; the only names a WHERE may use. */
export const TAP_FILTER_COLUMNS = {
  kind: 'String', proxy: 'String', direction: 'String', src_service: 'String', dst_service: 'String',
} as const;
export type TapFilterColumn = keyof typeof TAP_FILTER_COLUMNS;

/** WHERE clause over the given filter keys (names from the allow-list, values as parameters). */
export function tapWhere(keys: readonly TapFilterColumn[]): string {
  if (keys.length === 0) return '';
  return 'WHERE ' + keys.map((k) => `${k} = {${k}:${TAP_FILTER_COLUMNS[k]}}`).join(' AND ');
}

export function countTapsSql(keys: readonly TapFilterColumn[]): string {
  return `SELECT count() AS n FROM taps ${tapWhere(keys)} ${JSON_NUMBERS}`;
}

export function recentTapsSql(keys: readonly TapFilterColumn[]): string {
  return `SELECT * FROM taps ${tapWhere(keys)} ORDER BY ts DESC, proxy, seq DESC LIMIT {limit:UInt32} ${JSON_NUMBERS}`;
}
