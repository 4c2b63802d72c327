// The one SQL schema: raw taps, chain records (with who signed each batch),
// signers' certificates, loss records, refused batches (tap_rejects), the 10-second rollups the
// service graph and the anomaly models read, alert states and tuning actions.
// Every backend (chdb, a ClickHouse server,
// a cluster via ./sql-cluster.ts) runs statements generated from the table
// definitions here; no other file spells a column but ./sql-actions.ts,
// the queries of tuning actions, ./sql-changes.ts, those of the config
// change log and stored compliance reports, ./sql-chain-audit.ts, those
// of the chain audit, and ./sql-signers.ts, those of signers' certificates.
//
// Exactly once, in both dialects, by data rather than by insert: the
// collector writes MANY tap batches per INSERT (one per Kafka fetch, see
// ./kafka-collector.ts), and after a crash between the insert and the offset
// commit the same batches come again, grouped differently. A per-insert
// dedup token cannot recognise a group cut another way, so identity lives in
// the rows:
//
// - taps and tap_batches are ReplacingMergeTree keyed by what a row is (a tap
//   by dst_service, ts, proxy, stream, seq: a resent event repeats every
//   column; a chain record by proxy, stream, batch), and reads say FINAL.
// - a rollup row is ONE batch's aggregate for one bucket: its key includes
//   proxy, stream, batch. A batch written twice, alone or inside any other
//   group, yields identical rows that FINAL collapses; the states of
//   different batches merge at query time. This holds only while a batch is
//   never split across insert blocks: a group stays below
//   max_insert_block_size rows (MAX_ROWS_PER_INSERT) and modern inserts turn
//   off parallel parsing, which cuts blocks by bytes (`insertSettings`).
//   The cost: rollups keep one row per batch and bucket, and FINAL merges
//   at query time.
//
// Dialects, picked from the server version (see ./clickhouse-store.ts):
// - modern (ClickHouse >= 22.x, chdb): TTL, LowCardinality, query parameters;
//   an INSERT of a single batch still carries insert_deduplication_token
//   (see `dedupToken`), which keeps stores created before the change above
//   (plain MergeTree taps: `layout` 'token', ./sql-store.ts) exact.
// - legacy (ClickHouse 18.16, Debian's package): no dedup token, no TTL;
//   LowCardinality is experimental there, so plain String.
//
// Times are UInt64 epoch milliseconds rather than DateTime64, headers a JSON
// string rather than Map, states AggregateFunction rather than
// SimpleAggregateFunction, so the same columns fit both dialects.

import { IngestError } from './errors.ts';
import { EXTERNAL_SERVICE } from './schema/v1.ts';

export type SqlDialect = 'modern' | 'legacy';

export const ROLLUP_BUCKET_MS = 10_000;
/** Latency quantile levels kept in rollup states; merge must use the same list. */
export const ROLLUP_QUANTILES = [0.5, 0.9, 0.99] as const;

export interface SchemaOptions {
  /** Days raw taps, chain and loss records are kept (default 7). Modern only: legacy has no TTL. */
  retentionDays?: number;
  /** Days rollups are kept (default 30). Modern only. */
  rollupRetentionDays?: number;
  /** Recent insert blocks remembered per table for dedup (default 10000). Modern only. */
  dedupWindow?: number;
}

export const DEFAULT_RETENTION_DAYS = 7;
export const DEFAULT_ROLLUP_RETENTION_DAYS = 30;
/** Days stored compliance reports are kept (modern only: legacy has no TTL). */
export const REPORT_RETENTION_DAYS = 400;
export const DEFAULT_DEDUP_WINDOW = 10_000;

function positiveInt(name: string, v: number | undefined, dflt: number): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n <= 0) throw new IngestError('INGEST_ERR_CONFIG', `schema: ${name} must be a positive integer, got ${v}`);
  return n;
}

/** Schema options with defaults applied; throws INGEST_ERR_CONFIG on a bad value. */
export function resolveSchemaOptions(opts: SchemaOptions = {}): Required<SchemaOptions> {
  return {
    retentionDays: positiveInt('retentionDays', opts.retentionDays, DEFAULT_RETENTION_DAYS),
    rollupRetentionDays: positiveInt('rollupRetentionDays', opts.rollupRetentionDays, DEFAULT_ROLLUP_RETENTION_DAYS),
    dedupWindow: positiveInt('dedupWindow', opts.dedupWindow, DEFAULT_DEDUP_WINDOW),
  };
}

/** Database and table names are identifiers we write into DDL: letters, digits, _ only. */
export function checkIdentifier(what: string, name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new IngestError('INGEST_ERR_CONFIG', `${what} must match [A-Za-z_][A-Za-z0-9_]*, got ${JSON.stringify(name)}`);
  }
  return name;
}

const levels = ROLLUP_QUANTILES.join(', ');
const msToDateTime = (col: string) => `toDateTime(intDiv(${col}, 1000))`;

/** A `taps` column: ClickHouse type, and the default of a field that a kind lacks. */
export interface TapColumn { name: string; type: TapColumnType; dflt?: string | number }
export type TapColumnType = 'String' | 'LowCardinality(String)' | 'UInt8' | 'UInt16' | 'UInt32' | 'UInt64' | 'Int16' | 'Float64';

/**
 * Columns of `taps`, in INSERT order: one per TapEvent field plus where the
 * event came from (stream, batch). The DDL and the row encoder
 * (./tap-row.ts) both read this list.
 */
export const TAP_COLUMNS: readonly TapColumn[] = [
  { name: 'proxy', type: 'String' }, { name: 'stream', type: 'String' }, { name: 'batch', type: 'UInt64' },
  { name: 'seq', type: 'UInt64' }, { name: 'v', type: 'UInt8' },
  { name: 'kind', type: 'LowCardinality(String)' }, { name: 'ts', type: 'UInt64' },
  { name: 'direction', type: 'LowCardinality(String)' }, { name: 'conn_id', type: 'String' },
  { name: 'src_service', type: 'String' }, { name: 'src_instance', type: 'String' }, { name: 'src_addr', type: 'String' }, { name: 'src_port', type: 'UInt16' },
  { name: 'dst_service', type: 'String' }, { name: 'dst_instance', type: 'String' }, { name: 'dst_addr', type: 'String' }, { name: 'dst_port', type: 'UInt16' },
  { name: 'src_identity', type: 'String', dflt: '' }, { name: 'dst_identity', type: 'String', dflt: '' }, { name: 'tls_version', type: 'String', dflt: '' },
  { name: 'bytes_in', type: 'UInt64', dflt: 0 }, { name: 'bytes_out', type: 'UInt64', dflt: 0 }, { name: 'duration_ms', type: 'Float64', dflt: 0 },
  { name: 'end', type: 'LowCardinality(String)', dflt: '' }, { name: 'error', type: 'String', dflt: '' },
  { name: 'method', type: 'LowCardinality(String)', dflt: '' }, { name: 'authority', type: 'String', dflt: '' }, { name: 'path', type: 'String', dflt: '' },
  { name: 'status', type: 'UInt16', dflt: 0 }, { name: 'latency_ms', type: 'Float64', dflt: 0 },
  { name: 'req_bytes', type: 'UInt64', dflt: 0 }, { name: 'resp_bytes', type: 'UInt64', dflt: 0 },
  { name: 'upstream', type: 'String', dflt: '' }, { name: 'retries', type: 'UInt32', dflt: 0 }, { name: 'trace_id', type: 'String', dflt: '' },
  { name: 'headers', type: 'String', dflt: '{}' },
  { name: 'decision', type: 'LowCardinality(String)', dflt: '' }, { name: 'decision_reason', type: 'String', dflt: '' },
  { name: 'src_version', type: 'String', dflt: '' }, { name: 'dst_version', type: 'String', dflt: '' },
  // Data-plane decisions (TAP_FLAGS, comma-separated) and the protocol, with gRPC's service, method and status (-1: none).
  { name: 'flags', type: 'String', dflt: '' }, { name: 'protocol', type: 'String', dflt: '' },
  { name: 'grpc_service', type: 'String', dflt: '' }, { name: 'grpc_method', type: 'String', dflt: '' }, { name: 'grpc_status', type: 'Int16', dflt: -1 },
  // Which optional fields the event carried (PRESENT_FIELDS, ./tap-row.ts), so a row rebuilds the exact event line.
  { name: 'present', type: 'UInt16', dflt: 0 },
];

/**
 * `taps` columns added after its first release: a store created before gets them by ALTER TABLE (tableUpgradeStatements); older rows read ''
 * (present: 0, "not known", see PRESENT_KNOWN in ./tap-row.ts).
 */
const TAP_ADDED_COLUMNS = [
  { name: 'src_version', type: "String DEFAULT ''" }, { name: 'dst_version', type: "String DEFAULT ''" }, { name: 'present', type: 'UInt16 DEFAULT 0' },
  { name: 'flags', type: "String DEFAULT ''" }, { name: 'protocol', type: "String DEFAULT ''" },
  { name: 'grpc_service', type: "String DEFAULT ''" }, { name: 'grpc_method', type: "String DEFAULT ''" }, { name: 'grpc_status', type: 'Int16 DEFAULT -1' },
] as const;

const sqlDefault = (v: string | number) => (typeof v === 'number' ? String(v) : `'${v}'`);
const TAP_COLUMNS_DDL = '\n  ' + TAP_COLUMNS.map((c) =>
  `${c.name === 'end' ? '`end`' : c.name} ${c.type}${c.dflt === undefined ? '' : ` DEFAULT ${sqlDefault(c.dflt)}`}`).join(', ');

/**
 * Rollup columns added after the first release, with their types: a store
 * created before them gets them by ALTER TABLE and its views are recreated
 * (rollupUpgradeStatements). Rows aggregated before that read as 0.
 *   denies   requests the inbound policy denied
 * (Distinct connections per bucket have a table of their own,
 * rollup_conn_10s, which older stores simply gain.)
 */
export const ROLLUP_ADDED_COLUMNS: readonly { name: string; type: string }[] = [
  { name: 'denies', type: 'AggregateFunction(sum, UInt64)' },
];

const ROLLUP_STATS = `
  requests AggregateFunction(count), errors AggregateFunction(sum, UInt64),
  latency AggregateFunction(quantilesTDigest(${levels}), Float64),
  req_bytes AggregateFunction(sum, UInt64), resp_bytes AggregateFunction(sum, UInt64), retries AggregateFunction(sum, UInt64),
  ${ROLLUP_ADDED_COLUMNS.map((c) => `${c.name} ${c.type}`).join(', ')}`;

/** In rollups, the batch a row was aggregated from (see the header). */
const BATCH_KEY = 'proxy, stream, batch';

/**
 * Most rows one INSERT may carry: below max_insert_block_size (1,048,576 on
 * every version) so a group stays one block and no batch is split.
 */
export const MAX_ROWS_PER_INSERT = 500_000;

/** One stored table. `order` is the sorting key; legacy keys are dedup keys. */
export interface TableDef {
  name: string;
  columns: (d: SqlDialect) => string;
  modern: { engine: 'MergeTree' | 'ReplacingMergeTree'; order: string };
  legacy: { engine: 'ReplacingMergeTree'; order: string; partitioned: boolean };
  /** Epoch-ms column for partitions and TTL. */
  timeCol: string;
  /** Days rows are kept when not the store's retention (raw, or rollup when `rollup`): the audit's own records outlive both. */
  keepDays?: number;
  rollup: boolean;
  /** Columns that keep a batch's rows on one shard in a cluster. */
  shardKey: string;
  /** ReplacingMergeTree version column: the row with the highest value wins (else the last inserted). */
  version?: string;
  /** Columns added after the table's first release: a store created before gets them by ALTER TABLE (tableUpgradeStatements). */
  added?: readonly { name: string; type: string }[];
}

/**
 * tap_batches columns added after its first release. Who signed a stored
 * batch (./batch.ts BatchSigned), '' for a batch a collector without a
 * trust bundle stored: the certificate's SPIFFE id, its SHA-256
 * fingerprint and the signature of the batch's hash. `schema`: the frame
 * schema (2, 3, 4) its hash was taken over, 0 for a record stored before
 * (not known; ./chain-audit.ts tries the likely ones).
 */
const TAP_BATCH_ADDED_COLUMNS = [
  { name: 'signer', type: "String DEFAULT ''" }, { name: 'signer_cert', type: "String DEFAULT ''" }, { name: 'signature', type: "String DEFAULT ''" },
  { name: 'schema', type: 'UInt8 DEFAULT 0' },
] as const;

// LowCardinality needs allow_experimental_low_cardinality_type on 18.16: plain String there.
const plain = (d: SqlDialect, cols: string) => (d === 'legacy' ? cols.replace(/LowCardinality\((\w+)\)/g, '$1') : cols);
const rollupColumns = (keys: string) => () => `${keys}, proxy String, stream String, batch UInt64,${ROLLUP_STATS}`;

export const TABLES: readonly TableDef[] = [
  {
    name: 'taps', columns: (d) => plain(d, TAP_COLUMNS_DDL), timeCol: 'ts', rollup: false, shardKey: 'proxy, stream',
    modern: { engine: 'ReplacingMergeTree', order: 'dst_service, ts, proxy, stream, seq' },
    legacy: { engine: 'ReplacingMergeTree', order: 'dst_service, ts, proxy, stream, seq', partitioned: true },
    added: TAP_ADDED_COLUMNS,
  },
  {
    name: 'tap_batches', timeCol: 'received_at', rollup: false, shardKey: 'proxy, stream',
    columns: () => `
  proxy String, stream String, batch UInt64, first_seq UInt64, events UInt32,
  hash String, prev_hash String, lost UInt64, received_at UInt64,
  ${TAP_BATCH_ADDED_COLUMNS.map((c) => `${c.name} ${c.type}`).join(', ')}`,
    modern: { engine: 'ReplacingMergeTree', order: 'proxy, stream, batch' },
    legacy: { engine: 'ReplacingMergeTree', order: 'proxy, stream, batch', partitioned: true },
    added: TAP_BATCH_ADDED_COLUMNS,
  },
  {
    // A loss is recorded again (with a new ts) when its batch is resent, so the
    // legacy key leaves ts out and the table is not partitioned by it.
    name: 'tap_loss', timeCol: 'ts', rollup: false, shardKey: 'proxy, stream',
    columns: (d) => plain(d, `
  proxy String, stream String, ts UInt64, from_seq UInt64, count UInt64, reason LowCardinality(String)`),
    modern: { engine: 'MergeTree', order: 'proxy, stream, ts' },
    legacy: { engine: 'ReplacingMergeTree', order: 'proxy, stream, from_seq, count, reason', partitioned: false },
  },
  {
    // Batch frames the collector refused for good (./store.ts TapReject),
    // one row per distinct frame and code (a redelivered or replayed frame
    // collapses; reads say FINAL). Not partitioned on legacy servers, so a
    // frame refused again on another day still collapses there. Kept as
    // long as rollups: it is the record of who tried to write what.
    name: 'tap_rejects', timeCol: 'received_at', rollup: true, shardKey: 'proxy, stream',
    columns: (d) => plain(d, `
  received_at UInt64, proxy String, stream String, batch Int64, code LowCardinality(String), reason String,
  signer String, sender String, frame_bytes UInt64, frame_sha256 String, frame_head String`),
    modern: { engine: 'ReplacingMergeTree', order: 'proxy, stream, batch, frame_sha256, code' },
    legacy: { engine: 'ReplacingMergeTree', order: 'proxy, stream, batch, frame_sha256, code', partitioned: false },
  },
  {
    // The certificates batch signatures were believed under (./sql-signers.ts),
    // one per fingerprint (tap_batches.signer_cert): x5c as the frame carried
    // it, leaf first, so the chain audit can check a stored signature again.
    // Written by the collector before the first batch it signed. Kept as long
    // as reports (a report's verify checks its batches' signatures again),
    // longer than the batches they signed; not partitioned on legacy
    // servers, so a certificate written again on another day collapses there.
    name: 'tap_signers', timeCol: 'first_seen', rollup: true, keepDays: REPORT_RETENTION_DAYS, shardKey: 'fingerprint',
    columns: () => `
  fingerprint String, x5c Array(String), uri String, proxy String, first_seen UInt64`,
    modern: { engine: 'ReplacingMergeTree', order: 'fingerprint' },
    legacy: { engine: 'ReplacingMergeTree', order: 'fingerprint', partitioned: false },
  },
  {
    name: 'rollup_service_10s', timeCol: 'bucket', rollup: true, shardKey: 'service',
    columns: rollupColumns('\n  bucket UInt64, service String'),
    modern: { engine: 'ReplacingMergeTree', order: `bucket, service, ${BATCH_KEY}` },
    legacy: { engine: 'ReplacingMergeTree', order: `bucket, service, ${BATCH_KEY}`, partitioned: true },
  },
  {
    // rollup_service_10s per `version` label of the callee ('' unknown), so
    // two versions of a service compare over the same buckets (a canary),
    // with the distinct inbound connections of each. A table of its own:
    // stores created before it gain it, filled from then on.
    name: 'rollup_version_10s', timeCol: 'bucket', rollup: true, shardKey: 'service',
    columns: () => `${rollupColumns('\n  bucket UInt64, service String, version String')()},\n  connections AggregateFunction(uniq, String)`,
    modern: { engine: 'ReplacingMergeTree', order: `bucket, service, version, ${BATCH_KEY}` },
    legacy: { engine: 'ReplacingMergeTree', order: `bucket, service, version, ${BATCH_KEY}`, partitioned: true },
  },
  {
    name: 'rollup_edge_10s', timeCol: 'bucket', rollup: true, shardKey: 'src_service, dst_service',
    columns: rollupColumns('\n  bucket UInt64, src_service String, dst_service String'),
    modern: { engine: 'ReplacingMergeTree', order: `bucket, src_service, dst_service, ${BATCH_KEY}` },
    legacy: { engine: 'ReplacingMergeTree', order: `bucket, src_service, dst_service, ${BATCH_KEY}`, partitioned: true },
  },
  {
    // Distinct connections that carried requests into a service in a bucket,
    // per caller, as the CALLEE's sidecar saw them (inbound taps): the
    // "active connections" of a service (all callers) and of an edge. Not
    // the caller's side: an app opens more connections to its own sidecar
    // whenever its requests pile up, so there every edge out of a slow
    // service grows (replayed demo run 09:05: cart→inventory 10 → 37 per
    // minute while payments was slow) while the callee's side stays flat
    // off the fault's path. A table of its own, so that stores created
    // before it only gain a table, and the edge rollups stay client side.
    name: 'rollup_conn_10s', timeCol: 'bucket', rollup: true, shardKey: 'dst_service',
    columns: () => `\n  bucket UInt64, src_service String, dst_service String, proxy String, stream String, batch UInt64,\n  connections AggregateFunction(uniq, String)`,
    modern: { engine: 'ReplacingMergeTree', order: `bucket, dst_service, src_service, ${BATCH_KEY}` },
    legacy: { engine: 'ReplacingMergeTree', order: `bucket, dst_service, src_service, ${BATCH_KEY}`, partitioned: true },
  },
  {
    // A row per state change of an alert (open, updates, resolved), the newest
    // by updated_at kept; reads say FINAL. opened_at never changes for an id,
    // so all of an alert's rows share a partition and collapse. Kept as long
    // as rollups. resolved_at 0 = still open; features is JSON [{name, share}].
    name: 'alerts', timeCol: 'opened_at', rollup: true, shardKey: 'id', version: 'updated_at',
    columns: () => `
  id String, scope String, subject String, state String, opened_at UInt64, updated_at UInt64, resolved_at UInt64,
  score Float64, threshold Float64, features String, explanation String, model_version String`,
    modern: { engine: 'ReplacingMergeTree', order: 'id' },
    legacy: { engine: 'ReplacingMergeTree', order: 'id', partitioned: false },
  },
  {
    // A row per state of a tuning action (./action-record.ts), read as the
    // newest state per id or as the whole history (./sql-actions.ts), so
    // unlike alerts the key holds updated_at and state: merges collapse only
    // a row written twice (the last written kept), never one state into
    // another. proposed_at never changes for an id: its rows share a
    // partition. Kept as long as rollups. JSON columns are JSON text.
    name: 'actions', timeCol: 'proposed_at', rollup: true, shardKey: 'id',
    columns: (d) => plain(d, `
  id String, updated_at UInt64, state LowCardinality(String), proposed_at UInt64, kind LowCardinality(String),
  subject String, service String, mode LowCardinality(String), params String, requested String, guardrail String,
  reason String, alert_ids Array(String), evidence String, policy_digest String, config_before UInt64,
  config_after UInt64, acks String, detail String, actor LowCardinality(String)`),
    modern: { engine: 'ReplacingMergeTree', order: 'id, updated_at, state' },
    legacy: { engine: 'ReplacingMergeTree', order: 'id, updated_at, state', partitioned: false },
  },
  {
    // The control plane's change log (./config-change.ts): a row per change,
    // read as the newest per (kind, subject) before a period and as the
    // changes during it (./sql-changes.ts). A retried write repeats every
    // column and collapses (reads say FINAL). Kept as long as rollups; the
    // control plane writes its whole state again at every start and daily,
    // so what was in force never falls out with the TTL.
    name: 'config_changes', timeCol: 'ts', rollup: true, shardKey: 'kind, subject',
    columns: (d) => plain(d, `
  ts UInt64, version UInt64, kind LowCardinality(String), subject String, digest String, actor LowCardinality(String), detail String`),
    modern: { engine: 'ReplacingMergeTree', order: 'kind, subject, ts, version' },
    legacy: { engine: 'ReplacingMergeTree', order: 'kind, subject, ts, version', partitioned: false },
  },
  {
    // Stored compliance reports (./stored-report.ts), one row per report: a
    // report written again (more rendered files) replaces it, the newest
    // updated_at kept; reads say FINAL. issued_at never changes for an id,
    // so its rows share a partition. Kept 13 months whatever the taps'
    // retention (PCI DSS 10.5.1 asks a year of audit history): a report
    // is what remains of a period once its taps are gone.
    name: 'reports', timeCol: 'issued_at', rollup: true, keepDays: REPORT_RETENTION_DAYS, shardKey: 'id', version: 'updated_at',
    columns: () => `
  id String, issued_at UInt64, updated_at UInt64, period_from UInt64, period_until UInt64, pack String, sha256 String,
  status_counts String, body String, files String, issued_by String`,
    modern: { engine: 'ReplacingMergeTree', order: 'id' },
    legacy: { engine: 'ReplacingMergeTree', order: 'id', partitioned: false },
  },
];

const ROLLUP_STATES = `
  countState() AS requests,
  sumState(toUInt64(status >= 500 OR status = 0)) AS errors,
  quantilesTDigestState(${levels})(latency_ms) AS latency,
  sumState(req_bytes) AS req_bytes,
  sumState(resp_bytes) AS resp_bytes,
  sumState(toUInt64(retries)) AS retries,
  sumState(toUInt64(decision = 'deny')) AS denies`;

const BUCKET = `intDiv(ts, ${ROLLUP_BUCKET_MS}) * ${ROLLUP_BUCKET_MS} AS bucket`;
// The external service name is a constant of the schema, not input.
const EXTERNAL = `'${EXTERNAL_SERVICE.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** A materialized view from `taps` into a rollup table; `added`: its table's columns added after the first release (rollupUpgradeStatements). */
export interface ViewDef { name: string; to: string; select: (d: SqlDialect, from: string) => string; added: readonly { name: string; type: string }[] }

const rollupSelect = (keys: string, where: string) => (_d: SqlDialect, from: string) => `SELECT ${BUCKET}, ${keys}, ${BATCH_KEY},${ROLLUP_STATES}
FROM ${from} WHERE kind = 'l7.request' AND ${where}
GROUP BY bucket, ${keys.replace(/\w+ AS /g, '')}, ${BATCH_KEY}`;

export const VIEWS: readonly ViewDef[] = [
  // A service's own view of what it served: inbound requests only.
  { name: 'rollup_service_10s_mv', to: 'rollup_service_10s', select: rollupSelect('dst_service AS service', "direction = 'inbound'"), added: ROLLUP_ADDED_COLUMNS },
  // The same per callee version (see rollup_version_10s).
  {
    name: 'rollup_version_10s_mv', to: 'rollup_version_10s', added: ROLLUP_ADDED_COLUMNS,
    select: (_d, from) => `SELECT ${BUCKET}, dst_service AS service, dst_version AS version, ${BATCH_KEY},${ROLLUP_STATES},
  uniqState(conn_id) AS connections
FROM ${from} WHERE kind = 'l7.request' AND direction = 'inbound'
GROUP BY bucket, dst_service, dst_version, ${BATCH_KEY}`,
  },
  // An edge is seen from the client side (outbound, which also sees upstream
  // failures); clients without a sidecar only appear inbound as 'external'.
  {
    name: 'rollup_edge_10s_mv', to: 'rollup_edge_10s',
    select: rollupSelect('src_service, dst_service', `(direction = 'outbound' OR (direction = 'inbound' AND src_service = ${EXTERNAL}))`),
    added: ROLLUP_ADDED_COLUMNS,
  },
  {
    // Connections into each service per caller, from the callee's side (see rollup_conn_10s).
    name: 'rollup_conn_10s_mv', to: 'rollup_conn_10s', added: [],
    select: (_d, from) => `SELECT ${BUCKET}, src_service, dst_service, ${BATCH_KEY}, uniqState(conn_id) AS connections
FROM ${from} WHERE kind = 'l7.request' AND direction = 'inbound'
GROUP BY bucket, src_service, dst_service, ${BATCH_KEY}`,
  },
];

/** How one table's DDL is rendered: dialect, names, and (for clusters) the replicated engine's arguments. */
export interface RenderOptions extends Required<SchemaOptions> {
  dialect: SqlDialect;
  /** Qualify names with this database; unqualified when absent. */
  database?: string;
  /** Suffix of stored tables (cluster: '_local' under Distributed ones). */
  suffix?: string;
  /** `ON CLUSTER name` and Replicated* engines when set. */
  cluster?: string;
  /** ZooKeeper path prefix of replicated tables (default /clickhouse/tables/{shard}). */
  zkPrefix?: string;
}

export const qualified = (o: RenderOptions, name: string) => (o.database ? `${o.database}.${name}` : name);
const onCluster = (o: RenderOptions) => (o.cluster ? ` ON CLUSTER ${o.cluster}` : '');

/** CREATE TABLE for one table definition. */
export function createTableSql(t: TableDef, o: RenderOptions): string {
  const name = t.name + (o.suffix ?? '');
  const spec = o.dialect === 'legacy' ? t.legacy : t.modern;
  const version = t.version ? `, ${t.version}` : '';
  const engine = o.cluster
    ? `Replicated${spec.engine}('${o.zkPrefix ?? '/clickhouse/tables/{shard}'}/${o.database ?? 'default'}/${name}', '{replica}'${version})`
    : `${spec.engine}${t.version ? `(${t.version})` : ''}`;
  const partitioned = o.dialect === 'modern' || t.legacy.partitioned;
  const parts = [`ENGINE = ${engine}`];
  if (partitioned) parts.push(`PARTITION BY toDate(${msToDateTime(t.timeCol)})`);
  parts.push(`ORDER BY (${spec.order})`);
  if (o.dialect === 'modern') {
    parts.push(`TTL ${msToDateTime(t.timeCol)} + INTERVAL ${t.keepDays ?? (t.rollup ? o.rollupRetentionDays : o.retentionDays)} DAY`);
    // Replicated tables deduplicate inserts through ZooKeeper already.
    if (!o.cluster) parts.push(`SETTINGS non_replicated_deduplication_window = ${o.dedupWindow}`);
  }
  return `CREATE TABLE IF NOT EXISTS ${qualified(o, name)}${onCluster(o)} (${t.columns(o.dialect)}\n) ${parts.join(' ')}`;
}

/** CREATE MATERIALIZED VIEW for one view, reading and writing tables with the render's suffix. */
export function createViewSql(v: ViewDef, o: RenderOptions): string {
  const s = o.suffix ?? '';
  return `CREATE MATERIALIZED VIEW IF NOT EXISTS ${qualified(o, v.name + s)}${onCluster(o)} TO ${qualified(o, v.to + s)} AS
${v.select(o.dialect, qualified(o, 'taps' + s))}`;
}

export type SingleNodeOptions = SchemaOptions & { dialect?: SqlDialect; database?: string };

/** How single-node statements are rendered (schemaStatements, rollupUpgradeStatements). */
function singleNode(opts: SingleNodeOptions): RenderOptions {
  const o: RenderOptions = { ...resolveSchemaOptions(opts), dialect: opts.dialect ?? 'modern' };
  if (opts.database !== undefined) o.database = checkIdentifier('database', opts.database);
  return o;
}

/** Single-node CREATE statements in dependency order; each is safe to run on every start. */
export function schemaStatements(opts: SingleNodeOptions = {}): string[] {
  const o = singleNode(opts);
  return [...TABLES.map((t) => createTableSql(t, o)), ...VIEWS.map((v) => createViewSql(v, o))];
}

/**
 * Statements that bring a store created before ROLLUP_ADDED_COLUMNS up to
 * date, given the columns each rollup table has: ADD COLUMN for what is
 * missing, then the table's view dropped so that schemaStatements creates it
 * again with the new SELECT. Empty when nothing is missing. Run before
 * schemaStatements, while nothing is being written.
 */
export function rollupUpgradeStatements(columnsOf: (table: string) => readonly string[], opts: SingleNodeOptions = {}): string[] {
  const o = singleNode(opts);
  const out: string[] = [];
  for (const v of VIEWS) {
    const have = columnsOf(v.to);
    if (have.length === 0) continue; // not created yet: schemaStatements makes it whole
    const missing = v.added.filter((c) => !have.includes(c.name));
    if (missing.length === 0) continue;
    for (const c of missing) out.push(`ALTER TABLE ${qualified(o, v.to)} ADD COLUMN ${c.name} ${c.type}`);
    out.push(`DROP TABLE IF EXISTS ${qualified(o, v.name)}`);
  }
  return out;
}

/**
 * ALTER TABLE ADD COLUMN for the `added` columns a table created before
 * them lacks, given the columns each table has; tables not yet created are
 * left to schemaStatements. Run before schemaStatements.
 */
export function tableUpgradeStatements(columnsOf: (table: string) => readonly string[], opts: SingleNodeOptions = {}): string[] {
  const o = singleNode(opts);
  const out: string[] = [];
  for (const t of TABLES) {
    const have = columnsOf(t.name);
    if (have.length === 0) continue;
    for (const c of t.added ?? []) if (!have.includes(c.name)) out.push(`ALTER TABLE ${qualified(o, t.name)} ADD COLUMN ${c.name} ${c.type}`);
  }
  return out;
}

/** The dedup token of one batch's rows in any table: proxy:stream:batch. */
export function dedupToken(proxy: string, stream: string, batch: number): string {
  return `${proxy}:${stream}:${batch}`;
}

/**
 * Settings of an INSERT. Legacy servers know only insert_distributed_sync
 * (the rest are "Unknown setting" on 18.16).
 * `token`: the insert holds exactly one batch (or one loss record) and may
 * be dropped as a repeat by that token; null for a multi-batch group, which
 * relies on the row keys (see the header) and on block-hash dedup of an
 * identical retry.
 */
export function insertSettings(dialect: SqlDialect, token: string | null): Record<string, string | number> {
  // Through a Distributed table (./sql-cluster.ts): acknowledged means on every shard it touches.
  // No insert_distributed_timeout: 18.16 checks it only once every shard has
  // answered, so it bounds nothing and fails inserts that landed.
  const distributed = { insert_distributed_sync: 1 };
  if (dialect === 'legacy') return distributed;
  return {
    insert_deduplicate: 1, deduplicate_blocks_in_dependent_materialized_views: 1,
    ...(token === null ? {} : { insert_deduplication_token: token }),
    // Parallel parsing cuts the input into 10 MiB chunks; squashing
    // (min_insert_block_size_*) normally joins them again before the views,
    // but a batch cut across blocks would become two rollup rows of one key
    // (see the header), so do not rely on it.
    input_format_parallel_parsing: 0,
    ...distributed,
  };
}

/**
 * How a store's tables deduplicate: 'replacing' (this schema: row keys and
 * FINAL reads) or 'token' (a modern store created before it: plain MergeTree
 * taps, AggregatingMergeTree rollups, dedup only by a per-batch insert token,
 * so one batch per INSERT and no FINAL, which plain MergeTree refuses).
 */
export type StoreLayout = 'replacing' | 'token';

// ---------------------------------------------------------------------------
// Queries. Values always come in as {name:Type} parameters (on a legacy
// server they become literals in ONE place: ./sql-literal.ts). Legacy reads
// say FINAL so duplicates not yet merged away are collapsed (see the header).

/** Output numbers as JSON numbers (all values here stay below 2^53). */
export const JSON_NUMBERS = 'SETTINGS output_format_json_quote_64bit_integers = 0';
const final = (layout: StoreLayout) => (layout === 'replacing' ? ' FINAL' : '');

/** The queries of one dialect. */
export interface Queries {
  chainHeads: string;
  batchRecord: string;
  lossSummary: string;
  serviceStats: string;
  edgeStats: string;
  countTaps(keys: readonly TapFilterKey[]): string;
  recentTaps(keys: readonly TapFilterKey[]): string;
  /** Distinct policy inputs (and recorded decisions) of the inbound l7.request taps over [from, until), by earliest request, with counts. */
  inboundRequestInputs: string;
  serviceSeries: string;
  edgeSeries: string;
  /** Distinct inbound connections per bucket and service, and per bucket and edge (rollup_conn_10s). */
  serviceConnections: string;
  edgeConnections: string;
  /** rollup_version_10s per bucket, service and version; `byService` filters on one service. */
  versionSeries(byService: boolean): string;
  /** Outbound requests per callee instance over [from, until): what its callers saw (the tuning engine's outlier signal). */
  instanceFigures: string;
  /** Newest state per alert; `byState` filters on that newest state. */
  alerts(byState: boolean): string;
  countRejects(keys: readonly RejectFilterColumn[]): string;
  rejects(keys: readonly RejectFilterColumn[]): string;
}

const statsSelect = `
  countMerge(requests) AS requests,
  sumMerge(errors) AS errors,
  quantilesTDigestMerge(${levels})(latency) AS latency`;

const windowWhere = 'bucket >= {from:UInt64} AND bucket < {until:UInt64}';

const seriesSelect = `${statsSelect},
  sumMerge(req_bytes) AS req_bytes,
  sumMerge(resp_bytes) AS resp_bytes,
  sumMerge(retries) AS retries,
  sumMerge(denies) AS denies`;

export function queries(dialect: SqlDialect, layout: StoreLayout): Queries {
  const d = layout;
  // tap_loss stays a MergeTree with one record per insert (token dedup) on modern servers.
  const lossFinal = dialect === 'legacy' ? ' FINAL' : '';
  return {
    // Duplicate chain records are identical but for received_at: argMax by batch needs no FINAL.
    chainHeads: `
SELECT proxy, stream, max(b.batch) AS head_batch,
  argMax(b.hash, b.batch) AS head_hash,
  argMax(toInt64(b.first_seq) + toInt64(b.events) - 1, b.batch) AS last_seq,
  argMax(b.lost, b.batch) AS head_lost
FROM tap_batches AS b GROUP BY proxy, stream ORDER BY proxy, stream ${JSON_NUMBERS}`,
    // A batch stored twice has identical rows but for received_at: the first is its record.
    batchRecord: `
SELECT proxy, stream, batch, first_seq, events, hash, prev_hash, lost, received_at, signer, signer_cert, signature
FROM tap_batches WHERE proxy = {proxy:String} AND stream = {stream:String} AND batch = {batch:UInt64}
ORDER BY received_at LIMIT 1 ${JSON_NUMBERS}`,
    lossSummary: `
SELECT proxy, reason, sum(count) AS events, count() AS records, max(ts) AS last_ts
FROM tap_loss${lossFinal} GROUP BY proxy, reason ORDER BY proxy, reason ${JSON_NUMBERS}`,
    serviceStats: `
SELECT service,${statsSelect}
FROM rollup_service_10s${final(d)} WHERE ${windowWhere} GROUP BY service ORDER BY service ${JSON_NUMBERS}`,
    edgeStats: `
SELECT src_service, dst_service,${statsSelect}
FROM rollup_edge_10s${final(d)} WHERE ${windowWhere} GROUP BY src_service, dst_service ORDER BY src_service, dst_service ${JSON_NUMBERS}`,
    countTaps: (keys) => `SELECT count() AS n FROM taps${final(d)} ${tapWhere(keys)} ${JSON_NUMBERS}`,
    recentTaps: (keys) =>
      `SELECT * FROM taps${final(d)} ${tapWhere(keys)} ORDER BY ts DESC, proxy, seq DESC LIMIT {limit:UInt32} ${JSON_NUMBERS}`,
    // Each input once, with how many requests had it and the first and last
    // of them by ts; a tap id is one string so both halves of it come from one row.
    inboundRequestInputs: `
SELECT src_service, src_identity, dst_service, method, path, headers, decision, decision_reason, count() AS requests,
  min(ts) AS first_ts, argMin(concat(proxy, '\\t', stream, '\\t', toString(seq)), ts) AS first_tap,
  max(ts) AS last_ts, argMax(concat(proxy, '\\t', stream, '\\t', toString(seq)), ts) AS last_tap
FROM taps${final(d)}
WHERE kind = 'l7.request' AND direction = 'inbound' AND ts >= {from:UInt64} AND ts < {until:UInt64}
GROUP BY src_service, src_identity, dst_service, method, path, headers, decision, decision_reason
ORDER BY first_ts, first_tap LIMIT {limit:UInt32} ${JSON_NUMBERS}`,
    serviceSeries: `
SELECT bucket, service,${seriesSelect}
FROM rollup_service_10s${final(d)} WHERE ${windowWhere} GROUP BY bucket, service ORDER BY bucket, service ${JSON_NUMBERS}`,
    edgeSeries: `
SELECT bucket, src_service, dst_service,${seriesSelect}
FROM rollup_edge_10s${final(d)} WHERE ${windowWhere} GROUP BY bucket, src_service, dst_service ORDER BY bucket, src_service, dst_service ${JSON_NUMBERS}`,
    // rollup_conn_10s is ReplacingMergeTree in every layout (it came after the
    // 'token' one), so always FINAL: a batch written twice counts once.
    serviceConnections: `
SELECT bucket, dst_service AS service, uniqMerge(connections) AS connections
FROM rollup_conn_10s FINAL WHERE ${windowWhere} GROUP BY bucket, service ORDER BY bucket, service ${JSON_NUMBERS}`,
    edgeConnections: `
SELECT bucket, src_service, dst_service, uniqMerge(connections) AS connections
FROM rollup_conn_10s FINAL WHERE ${windowWhere} GROUP BY bucket, src_service, dst_service ORDER BY bucket, src_service, dst_service ${JSON_NUMBERS}`,
    // rollup_version_10s came after the 'token' layout too: always FINAL.
    versionSeries: (byService) => `
SELECT bucket, service, version,${seriesSelect},
  uniqMerge(connections) AS connections
FROM rollup_version_10s FINAL WHERE ${windowWhere}${byService ? ' AND service = {service:String}' : ''}
GROUP BY bucket, service, version ORDER BY bucket, service, version ${JSON_NUMBERS}`,
    instanceFigures: `
SELECT dst_service AS service, dst_instance AS instance, any(dst_version) AS version, count() AS requests,
  sum(toUInt64(status >= 500 OR status = 0)) AS errors, quantiles(0.5, 0.99)(latency_ms) AS latency
FROM taps${final(d)}
WHERE kind = 'l7.request' AND direction = 'outbound' AND dst_instance != '' AND ts >= {from:UInt64} AND ts < {until:UInt64}
GROUP BY service, instance ORDER BY service, instance ${JSON_NUMBERS}`,
    // FINAL in a subquery: the state filter must see only each id's newest row.
    alerts: (byState) => `
SELECT id, scope, subject, state, opened_at, updated_at, resolved_at, score, threshold, features, explanation, model_version
FROM (SELECT * FROM alerts FINAL)${byState ? ' WHERE state = {state:String}' : ''}
ORDER BY updated_at DESC, id LIMIT {limit:UInt32} ${JSON_NUMBERS}`,
    // tap_rejects is ReplacingMergeTree in every layout: always FINAL.
    countRejects: (keys) => `SELECT count() AS n FROM tap_rejects FINAL ${filterWhere(REJECT_FILTER_COLUMNS, keys)} ${JSON_NUMBERS}`,
    rejects: (keys) => `
SELECT received_at, proxy, stream, batch, code, reason, signer, sender, frame_bytes, frame_sha256, frame_head
FROM tap_rejects FINAL ${filterWhere(REJECT_FILTER_COLUMNS, keys)}
ORDER BY received_at DESC, proxy, stream, batch, frame_sha256 LIMIT {limit:UInt32} ${JSON_NUMBERS}`,
  };
}

/** Filterable tap_rejects columns and their parameter types. */
export const REJECT_FILTER_COLUMNS = { proxy: 'String', code: 'String' } as const;
export type RejectFilterColumn = keyof typeof REJECT_FILTER_COLUMNS;

/** Filterable tap columns and their parameter types; the only names a WHERE may use. */
export const TAP_FILTER_COLUMNS = {
  kind: 'String', proxy: 'String', direction: 'String', src_service: 'String', dst_service: 'String', decision: 'String',
} as const;
export type TapFilterColumn = keyof typeof TAP_FILTER_COLUMNS;

/** WHERE clause over the given filter keys (names from the allow-list, values as parameters). */
function filterWhere<K extends string>(columns: Record<K, string>, keys: readonly K[]): string {
  if (keys.length === 0) return '';
  return 'WHERE ' + keys.map((k) => `${k} = {${k}:${columns[k]}}`).join(' AND ');
}

/**
 * Predicates a tap filter may add beyond equal columns: time bounds,
 * half-open like every period here, and one data-plane decision the tap's
 * `flags` names (TAP_FLAGS; splitByChar and has exist on 18.16 too).
 */
export const TAP_TIME_BOUNDS = {
  since: 'ts >= {since:UInt64}', until: 'ts < {until:UInt64}', flag: "has(splitByChar(',', flags), {flag:String})",
} as const;
export type TapFilterKey = TapFilterColumn | keyof typeof TAP_TIME_BOUNDS;

/** WHERE clause over the given tap filter keys: equal columns, then time bounds and the flag. */
export function tapWhere(keys: readonly TapFilterKey[]): string {
  const isBound = (k: TapFilterKey): k is keyof typeof TAP_TIME_BOUNDS => Object.hasOwn(TAP_TIME_BOUNDS, k);
  const columns = filterWhere(TAP_FILTER_COLUMNS, keys.filter((k): k is TapFilterColumn => !isBound(k)));
  const bounds = keys.filter(isBound).map((k) => TAP_TIME_BOUNDS[k]);
  if (bounds.length === 0) return columns;
  return columns ? `${columns} AND ${bounds.join(' AND ')}` : `WHERE ${bounds.join(' AND ')}`;
}
