// The TapStore every ClickHouse backend shares. A backend is a small engine
// (run a statement, read rows, insert rows); the schema, the queries, the
// dedup rules and the shaping of results live here and in ./sql.ts, so chdb
// and a ClickHouse server behave the same by construction (and one test
// suite, ./store-suite.ts, checks both).

import { actionToRow, rowToAction, type ActionRecord } from './action-record.ts';
import { alertToRow, rollupSubject, rowToAlert, rowToRollup, type SeriesStateRow } from './alert-row.ts';
import { eventCount, type StorableBatch, type TapBatch } from './batch.ts';
import { asIngestError, IngestError } from './errors.ts';
import { TAP_FLAGS } from './schema/v1.ts';
import {
  dedupToken, insertSettings, MAX_ROWS_PER_INSERT, queries, REJECT_FILTER_COLUMNS, ROLLUP_BUCKET_MS, rollupUpgradeStatements, schemaStatements,
  TABLES, TAP_FILTER_COLUMNS, tableUpgradeStatements, VIEWS, type Queries, type TapFilterKey, type SchemaOptions, type SqlDialect, type StoreLayout,
} from './sql.ts';
import type {
  BatchRecord, ChainHead, GraphStats, LossSummary, RejectFilter, RollupRow, RollupScope, ServiceEdge, ServiceGraph, ServiceNode, StoredAlert, TapFilter, TapReject, TapStore,
  VersionRollupRow, InstanceFigureRow,
} from './store.ts';
import type { EvidenceEdge, InboundRequestInput, LossRecord, RejectCounts, SecretFindings, StoreRetention } from './store.ts';
import { ACTION_HISTORY_SQL, actionsQuery, type ActionQuery } from './sql-actions.ts';
import { EvidenceReads } from './sql-evidence.ts';
import { configChangeRow, inForce, rowToConfigChange, type ConfigChange, type ConfigChanges } from './config-change.ts';
import { CHANGES_BEFORE_SQL, CHANGES_DURING_SQL, changesPeriod, REPORT_SQL, reportsQuery } from './sql-changes.ts';
import { reportRow, rowToReport, type ReportQuery, type ReportSummaryRow, type StoredReport } from './stored-report.ts';
import { encodeTapRows, rowToTap, TAP_INSERT_COLUMNS } from './tap-row.ts';
import { auditChains, type ChainAudit, type ChainAuditOptions } from './chain-audit.ts';
import { readSigners, signerRow, type StoredSigner } from './sql-signers.ts';

export type Row = Record<string, unknown>;

/**
 * What an INSERT carries: JSONEachRow text (objects separated by newlines or
 * commas) for the small tables, TabSeparated Buffers of `columns` for taps.
 */
export type InsertRows =
  | { format: 'JSONEachRow'; text: string }
  | { format: 'TabSeparated'; columns: readonly string[]; chunks: Buffer[] };

/** What a backend must do; params are the values of the SQL's {name:Type} placeholders. */
export interface SqlEngine {
  /** Names the backend in errors: `chdb store /data`, `clickhouse store http://h:8123 db meshlens`. */
  readonly label: string;
  /** Connects (or loads) and tells which dialect the backend speaks. */
  open(): Promise<SqlDialect>;
  exec(sql: string): Promise<void>;
  rows<T = Row>(sql: string, params: Record<string, unknown>): Promise<T[]>;
  /** Inserts rows given as JSONEachRow text or as TabSeparated chunks of the named columns. */
  insert(table: string, rows: InsertRows, settings: Record<string, string | number>): Promise<void>;
  /** Releases the backend; called once, after in-flight calls settle. */
  close(): Promise<void>;
}

interface StatsRow { requests: number; errors: number; latency: (number | null)[] }

export class SqlTapStore implements TapStore {
  readonly #engine: SqlEngine;
  readonly #schema: SchemaOptions;
  readonly #now: () => number;
  readonly #inFlight = new Set<Promise<unknown>>();
  #dialect: SqlDialect | null = null;
  #layout: StoreLayout = 'replacing';
  #q: Queries | null = null;
  #closing: Promise<void> | null = null;

  constructor(engine: SqlEngine, schema: SchemaOptions, now: () => number) {
    this.#engine = engine;
    this.#schema = schema;
    this.#now = now;
  }

  /** The dialect init() found (null before init). */
  get dialect(): SqlDialect | null { return this.#dialect; }
  /** How this store's tables deduplicate (see StoreLayout in ./sql.ts); known after init(). */
  get layout(): StoreLayout { return this.#layout; }

  /** Runs one engine call, tracked so close() can wait for it; errors name what was being done. */
  async #run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closing) throw new IngestError('INGEST_ERR_CLOSED', `${this.#engine.label}: closed while ${what}`);
    const p = fn();
    this.#inFlight.add(p);
    try {
      return await p;
    } catch (e) {
      throw asIngestError(e, `${this.#engine.label}: ${what}`);
    } finally {
      this.#inFlight.delete(p);
    }
  }

  #queries(): Queries {
    if (!this.#q) throw new IngestError('INGEST_ERR_CLOSED', `${this.#engine.label}: not open, call init() first`);
    return this.#q;
  }

  #rows<T = Row>(what: string, sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
    return this.#run(what, () => this.#engine.rows<T>(sql, params));
  }

  #insert(what: string, table: string, rows: Row[] | InsertRows, token: string | null): Promise<void> {
    const settings = insertSettings(this.#dialect ?? 'modern', token);
    const data: InsertRows = Array.isArray(rows) ? { format: 'JSONEachRow', text: JSON.stringify(rows).slice(1, -1) } : rows;
    return this.#run(what, () => this.#engine.insert(table, data, settings));
  }

  async init(): Promise<void> {
    const dialect = await this.#run('opening', () => this.#engine.open());
    // A modern store created before multi-batch inserts has plain MergeTree
    // taps: keep its one-batch-per-insert token dedup and read without FINAL.
    const existing = await this.#run('reading the taps engine', () => this.#engine.rows<{ engine: string }>(
      "SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = 'taps'", {}));
    this.#layout = dialect === 'modern' && existing[0]?.engine === 'MergeTree' ? 'token' : 'replacing';
    if (existing[0]?.engine === 'Distributed') {
      // A cluster: its schema is `meshlens schema --cluster`, run ON CLUSTER by
      // whoever runs the cluster. The single-node statements must not run here:
      // their views would read the Distributed taps and count every tap twice.
      await this.#checkClusterSchema();
    } else {
      await this.#createSchema(dialect);
    }
    this.#dialect = dialect;
    this.#q = queries(dialect, this.#layout);
  }

  async #checkClusterSchema(): Promise<void> {
    const have = new Set((await this.#run('reading the cluster\'s tables', () => this.#engine.rows<{ name: string }>(
      'SELECT name FROM system.tables WHERE database = currentDatabase()', {}))).map((r) => r.name));
    const missing = [...TABLES.flatMap((t) => [t.name, `${t.name}_local`]), ...VIEWS.map((v) => `${v.name}_local`)].filter((n) => !have.has(n));
    if (missing.length > 0) {
      throw new IngestError('INGEST_ERR_CONFIG', `${this.#engine.label}: taps is a Distributed table but ${missing.join(', ')} `
        + `${missing.length === 1 ? 'is' : 'are'} missing: apply \`meshlens schema --cluster <name>\` on the cluster first`);
    }
  }

  async #createSchema(dialect: SqlDialect): Promise<void> {
    const cols = await this.#run('reading the columns of existing tables', () => this.#engine.rows<{ table: string; name: string }>(
      'SELECT table, name FROM system.columns WHERE database = currentDatabase()', {}));
    const columnsOf = (t: string) => cols.filter((c) => c.table === t).map((c) => c.name);
    const opts = { ...this.#schema, dialect };
    for (const sql of [...tableUpgradeStatements(columnsOf, opts), ...rollupUpgradeStatements(columnsOf, opts), ...schemaStatements(opts)]) {
      await this.#run(`creating schema (${sql.slice(0, 60).replace(/\s+/g, ' ')}…)`, () => this.#engine.exec(sql));
    }
  }

  async writeBatch(b: TapBatch): Promise<void> {
    await this.writeBatches([b]);
  }

  /**
   * Writes verified batches (any streams, each stream's in chain order) as
   * ONE insert into taps and one into tap_batches: taps first, chain records
   * second, so a failure in between leaves the heads behind and the batches
   * come again; the row keys (./sql.ts) collapse whatever landed twice, in
   * whatever grouping. Split only past MAX_ROWS_PER_INSERT, at batch bounds.
   */
  async writeBatches(batches: readonly StorableBatch[]): Promise<void> {
    this.#queries();
    if (batches.length === 0) return;
    if (batches.length === 1 || this.#layout === 'token') {
      for (const b of batches) await this.#writeGroup([b], dedupToken(b.proxy, b.stream, b.batch));
      return;
    }
    let group: StorableBatch[] = [];
    let rows = 0;
    for (const b of batches) {
      if (group.length > 0 && rows + eventCount(b) > MAX_ROWS_PER_INSERT) {
        await this.#writeGroup(group, null);
        group = [];
        rows = 0;
      }
      group.push(b);
      rows += eventCount(b);
    }
    await this.#writeGroup(group, group.length === 1 ? dedupToken(group[0].proxy, group[0].stream, group[0].batch) : null);
  }

  async #writeGroup(group: readonly StorableBatch[], token: string | null): Promise<void> {
    const first = group[0];
    const what = group.length === 1
      ? `writing batch ${first.batch} of ${first.proxy}/${first.stream}`
      : `writing ${group.length} batches (first: batch ${first.batch} of ${first.proxy}/${first.stream})`;
    const chunks = encodeTapRows(group);
    if (chunks.length > 0) await this.#insert(what, 'taps', { format: 'TabSeparated', columns: TAP_INSERT_COLUMNS, chunks }, token);
    const now = this.#now();
    await this.#insert(what, 'tap_batches', group.map((b) => {
      const signed = 'signed' in b ? b.signed : undefined;
      return {
        proxy: b.proxy, stream: b.stream, batch: b.batch, first_seq: b.first_seq, events: eventCount(b),
        hash: b.hash, prev_hash: b.prev_hash, lost: b.lost, received_at: now,
        signer: signed?.uri ?? '', signer_cert: signed?.fingerprint ?? '', signature: signed?.sig ?? '', schema: b.schema,
      };
    }), token);
  }

  async chainHeads(): Promise<ChainHead[]> {
    const rows = await this.#rows<{ proxy: string; stream: string; head_batch: number; head_hash: string; last_seq: number; head_lost: number }>(
      'reading chain heads', this.#queries().chainHeads);
    return rows.map((r) => ({
      proxy: r.proxy, stream: r.stream, batch: Number(r.head_batch), hash: r.head_hash, last_seq: Number(r.last_seq), lost: Number(r.head_lost),
    }));
  }

  async batchRecord(proxy: string, stream: string, batch: number): Promise<BatchRecord | null> {
    if (!Number.isSafeInteger(batch) || batch < 0) throw new IngestError('INGEST_ERR_CONFIG', `batchRecord: batch must be an integer >= 0, got ${batch}`);
    const [r] = await this.#rows<BatchRecord>(`reading the chain record of batch ${batch} of ${proxy}/${stream}`, this.#queries().batchRecord, { proxy, stream, batch });
    if (!r) return null;
    const n = (k: 'batch' | 'first_seq' | 'events' | 'lost' | 'received_at') => Number(r[k]);
    return { ...r, batch: n('batch'), first_seq: n('first_seq'), events: n('events'), lost: n('lost'), received_at: n('received_at') };
  }

  // --- Signers' certificates (./sql-signers.ts): what the signature audit checks stored signatures with.

  async writeSigners(signers: readonly StoredSigner[]): Promise<void> {
    this.#queries();
    if (signers.length === 0) return;
    const rows = signers.map(signerRow); // throws before anything is written
    // No dedup token: the row key (fingerprint) collapses a certificate written again.
    await this.#insert(`writing ${rows.length} signer certificate${rows.length === 1 ? '' : 's'} (first: ${signers[0].uri} ${signers[0].fingerprint})`, 'tap_signers', rows, null);
  }

  signers(fingerprints: readonly string[]): Promise<StoredSigner[]> {
    this.#queries();
    if (!Array.isArray(fingerprints) || !fingerprints.every((f) => typeof f === 'string')) throw new IngestError('INGEST_ERR_CONFIG', 'signers: fingerprints must be strings');
    return readSigners((what, sql, params) => this.#rows(what, sql, params), fingerprints);
  }

  async recordLoss(loss: { proxy: string; stream: string; ts: number; from_seq: number; count: number; reason: string }): Promise<void> {
    this.#queries();
    // Same loss recorded twice (a retried batch) is stored once.
    const token = `loss:${loss.proxy}:${loss.stream}:${loss.from_seq}:${loss.count}:${loss.reason}`;
    const row = { proxy: loss.proxy, stream: loss.stream, ts: loss.ts, from_seq: loss.from_seq, count: loss.count, reason: loss.reason };
    await this.#insert(`recording loss of ${loss.count} events from ${loss.proxy}/${loss.stream}`, 'tap_loss', [row], token);
  }

  async lossSummary(): Promise<LossSummary[]> {
    const rows = await this.#rows<LossSummary>('reading tap loss', this.#queries().lossSummary);
    return rows.map((r) => ({ proxy: r.proxy, reason: r.reason, events: Number(r.events), records: Number(r.records), last_ts: Number(r.last_ts) }));
  }

  async recordRejects(rejects: readonly TapReject[]): Promise<void> {
    this.#queries();
    if (rejects.length === 0) return;
    // Rows of a group; ReplacingMergeTree keys collapse a frame refused again (see ./sql.ts).
    await this.#insert(`recording ${rejects.length} refused batch frames (first: ${rejects[0].code} from ${rejects[0].proxy || '?'})`,
      'tap_rejects', rejects.map((r) => ({ ...r })), null);
  }

  async rejects(filter: RejectFilter, limit: number): Promise<TapReject[]> {
    if (!Number.isInteger(limit) || limit < 0) throw new IngestError('INGEST_ERR_CONFIG', `rejects: limit must be an integer >= 0, got ${limit}`);
    const [keys, params] = filterParams(REJECT_FILTER_COLUMNS, filter, 'reject filter');
    const rows = await this.#rows<TapReject>('reading tap rejects', this.#queries().rejects(keys), { ...params, limit });
    return rows.map((r) => ({ ...r, received_at: Number(r.received_at), batch: Number(r.batch), frame_bytes: Number(r.frame_bytes) }));
  }

  async countRejects(filter: RejectFilter): Promise<number> {
    const [keys, params] = filterParams(REJECT_FILTER_COLUMNS, filter, 'reject filter');
    const rows = await this.#rows<{ n: number }>('counting tap rejects', this.#queries().countRejects(keys), params);
    return Number(rows[0]?.n ?? 0);
  }

  async serviceGraph(windowS: number, untilMs?: number): Promise<ServiceGraph> {
    if (!(Number.isFinite(windowS) && windowS > 0)) {
      throw new IngestError('INGEST_ERR_CONFIG', `serviceGraph: windowS must be a number > 0, got ${windowS}`);
    }
    const q = this.#queries();
    const until = Math.floor(untilMs ?? this.#now());
    // Rollups are whole 10 s buckets: start the window at a bucket boundary
    // and divide by the time actually covered, so a window that starts
    // mid-bucket neither drops that bucket's requests nor dilutes the rate.
    const from = Math.max(0, Math.floor((until - Math.round(windowS * 1000)) / ROLLUP_BUCKET_MS) * ROLLUP_BUCKET_MS);
    const coveredS = Math.max(1, until - from) / 1000;
    const params = { from, until };
    const services = await this.#rows<StatsRow & { service: string }>('reading service rollups', q.serviceStats, params);
    const edgeRows = await this.#rows<StatsRow & { src_service: string; dst_service: string }>('reading edge rollups', q.edgeStats, params);
    const nodes: ServiceNode[] = services.map((r) => ({ service: r.service, ...graphStats(r, coveredS) }));
    const edges: ServiceEdge[] = edgeRows.map((r) => ({ src: r.src_service, dst: r.dst_service, ...graphStats(r, coveredS) }));
    const known = new Set(nodes.map((n) => n.service));
    for (const e of edges) {
      for (const s of [e.src, e.dst]) {
        if (!known.has(s)) {
          known.add(s);
          nodes.push({ service: s, ...graphStats({ requests: 0, errors: 0, latency: [] }, coveredS) });
        }
      }
    }
    nodes.sort((a, b) => a.service.localeCompare(b.service));
    return { window_s: windowS, until, nodes, edges };
  }

  async countTaps(filter: TapFilter): Promise<number> {
    const [keys, params] = tapFilterParams(filter);
    const rows = await this.#rows<{ n: number }>('counting taps', this.#queries().countTaps(keys), params);
    return Number(rows[0]?.n ?? 0);
  }

  async recentTaps(filter: TapFilter, limit: number): Promise<Record<string, unknown>[]> {
    if (!Number.isInteger(limit) || limit < 0) throw new IngestError('INGEST_ERR_CONFIG', `recentTaps: limit must be an integer >= 0, got ${limit}`);
    const [keys, params] = tapFilterParams(filter);
    const rows = await this.#rows('reading recent taps', this.#queries().recentTaps(keys), { ...params, limit });
    return rows.map(rowToTap);
  }

  async inboundRequestInputs(from: number, until: number, limit: number): Promise<InboundRequestInput[]> {
    for (const [k, v] of [['from', from], ['until', until], ['limit', limit]] as const) {
      if (!Number.isSafeInteger(v) || v < 0) throw new IngestError('INGEST_ERR_CONFIG', `inboundRequestInputs: ${k} must be an integer >= 0, got ${v}`);
    }
    type Row = Omit<InboundRequestInput, 'headers' | 'first' | 'last'> & { headers: string; first_ts: number; first_tap: string; last_ts: number; last_tap: string };
    const rows = await this.#rows<Row>(`reading inbound request inputs ${from}..${until}`, this.#queries().inboundRequestInputs, { from, until, limit });
    const id = (tap: string, ts: number) => {
      const [proxy, stream, seq] = tap.split('\t');
      return { proxy, stream, seq: Number(seq), ts: Number(ts) };
    };
    return rows.map(({ first_ts, first_tap, last_ts, last_tap, headers, requests, ...r }) => ({
      ...r, headers: headers && headers !== '{}' ? JSON.parse(headers) as Record<string, string> : {},
      requests: Number(requests), first: id(first_tap, first_ts), last: id(last_tap, last_ts),
    }));
  }

  async rollupSeries(scope: RollupScope, fromMs: number, untilMs: number): Promise<RollupRow[]> {
    if (scope !== 'service' && scope !== 'edge') throw new IngestError('INGEST_ERR_CONFIG', `rollupSeries: scope must be service or edge, got ${scope}`);
    if (!Number.isFinite(fromMs) || !Number.isFinite(untilMs)) throw new IngestError('INGEST_ERR_CONFIG', `rollupSeries: bad window ${fromMs}..${untilMs}`);
    const q = this.#queries();
    const params = { from: Math.max(0, Math.floor(fromMs)), until: Math.max(0, Math.floor(untilMs)) };
    const rows = await this.#rows<SeriesStateRow>(`reading ${scope} rollup series`, scope === 'service' ? q.serviceSeries : q.edgeSeries, params);
    const conns = await this.#rows<{ bucket: number; service?: string; src_service?: string; dst_service?: string; connections: number }>(
      `reading ${scope} connection series`, scope === 'service' ? q.serviceConnections : q.edgeConnections, params);
    const connections = new Map(conns.map((c) => [`${c.bucket}|${rollupSubject(c)}`, Number(c.connections)]));
    return rows.map((r) => rowToRollup(r, connections.get(`${r.bucket}|${rollupSubject(r)}`) ?? null));
  }

  async versionRollups(fromMs: number, untilMs: number, service?: string): Promise<VersionRollupRow[]> {
    if (!Number.isFinite(fromMs) || !Number.isFinite(untilMs)) throw new IngestError('INGEST_ERR_CONFIG', `versionRollups: bad window ${fromMs}..${untilMs}`);
    if (service !== undefined && typeof service !== 'string') throw new IngestError('INGEST_ERR_CONFIG', 'versionRollups: service must be a string');
    const params: Record<string, unknown> = { from: Math.max(0, Math.floor(fromMs)), until: Math.max(0, Math.floor(untilMs)) };
    if (service !== undefined) params.service = service;
    const rows = await this.#rows<SeriesStateRow & { service: string; version: string; connections: number }>(
      `reading version rollups${service === undefined ? '' : ` of ${service}`}`, this.#queries().versionSeries(service !== undefined), params);
    return rows.map((r) => ({
      // Every bucket row here had requests, so it had connections: the count is never "none recorded".
      ...rowToRollup(r, Number(r.connections)), subject: `${r.service}@${r.version}`, service: r.service, version: r.version,
    }));
  }

  async instanceFigures(fromMs: number, untilMs: number): Promise<InstanceFigureRow[]> {
    if (!Number.isFinite(fromMs) || !Number.isFinite(untilMs)) throw new IngestError('INGEST_ERR_CONFIG', `instanceFigures: bad window ${fromMs}..${untilMs}`);
    const params = { from: Math.max(0, Math.floor(fromMs)), until: Math.max(0, Math.floor(untilMs)) };
    const rows = await this.#rows<{ service: string; instance: string; version: string; requests: number; errors: number; latency: (number | null)[] }>(
      'reading instance figures', this.#queries().instanceFigures, params);
    return rows.map((r) => ({
      service: r.service, instance: r.instance, version: r.version, requests: Number(r.requests), errors: Number(r.errors),
      p50_ms: Number(r.latency[0] ?? 0), p99_ms: Number(r.latency[1] ?? 0),
    }));
  }

  async writeAlert(a: StoredAlert): Promise<void> {
    this.#queries();
    const row = alertToRow(a);
    await this.#insert(`writing alert ${a.id} (${a.state})`, 'alerts', [row], `alert:${a.id}:${a.updated_at}:${a.state}`);
  }

  async alerts(opts: { state?: 'open' | 'resolved'; limit: number }): Promise<StoredAlert[]> {
    if (!Number.isInteger(opts.limit) || opts.limit < 0) throw new IngestError('INGEST_ERR_CONFIG', `alerts: limit must be an integer >= 0, got ${opts.limit}`);
    if (opts.state !== undefined && opts.state !== 'open' && opts.state !== 'resolved') {
      throw new IngestError('INGEST_ERR_CONFIG', `alerts: state must be open or resolved, got ${opts.state}`);
    }
    const params = opts.state ? { state: opts.state, limit: opts.limit } : { limit: opts.limit };
    const rows = await this.#rows('reading alerts', this.#queries().alerts(opts.state !== undefined), params);
    return rows.map(rowToAlert);
  }

  async writeAction(r: ActionRecord): Promise<void> {
    this.#queries();
    const row = actionToRow(r); // throws before anything is written
    // No dedup token: the row key (./sql.ts) collapses a retry, keeping the last written.
    await this.#insert(`writing action ${r.id} (${r.state})`, 'actions', [row], null);
  }

  async actions(opts: ActionQuery): Promise<ActionRecord[]> {
    this.#queries();
    const { sql, params } = actionsQuery(opts);
    return (await this.#rows('reading actions', sql, params)).map(rowToAction);
  }

  async actionHistory(id: string): Promise<ActionRecord[]> {
    this.#queries();
    if (typeof id !== 'string' || id === '') throw new IngestError('INGEST_ERR_CONFIG', `actionHistory: id must be a non-empty string, got ${JSON.stringify(id)}`);
    return (await this.#rows(`reading the history of action ${JSON.stringify(id.slice(0, 80))}`, ACTION_HISTORY_SQL, { id })).map(rowToAction);
  }

  // --- The config change log and stored compliance reports (./sql-changes.ts).

  async writeConfigChange(c: ConfigChange): Promise<void> {
    this.#queries();
    const row = configChangeRow(c); // throws before anything is written
    // No dedup token: the row key (./sql.ts) collapses a retry.
    await this.#insert(`writing config change ${c.kind} ${JSON.stringify(c.subject.slice(0, 80))} (version ${c.version})`, 'config_changes', [row], null);
  }

  async configChanges(from: number, until: number): Promise<ConfigChanges> {
    this.#queries();
    const p = changesPeriod(from, until);
    const before = await this.#rows('reading the config changes in force', CHANGES_BEFORE_SQL, { from: p.from });
    const during = await this.#rows('reading config changes', CHANGES_DURING_SQL, p);
    return { at_start: inForce(before.map(rowToConfigChange)), during: during.map(rowToConfigChange) };
  }

  /** The version of the last report row written: each write gets a newer one, so a rewrite within one ms still wins. */
  #reportVersion = 0;

  async writeReport(r: StoredReport): Promise<void> {
    this.#queries();
    const version = Math.max(this.#now(), this.#reportVersion + 1);
    const row = reportRow(r, version); // throws before anything is written
    this.#reportVersion = version;
    await this.#insert(`writing report ${JSON.stringify(r.id.slice(0, 80))}`, 'reports', [row], null);
  }

  async reports(q: ReportQuery): Promise<ReportSummaryRow[]> {
    this.#queries();
    const { sql, params } = reportsQuery(q);
    return (await this.#rows('reading reports', sql, params)).map((row) => rowToReport(row));
  }

  async report(id: string): Promise<StoredReport | null> {
    this.#queries();
    if (typeof id !== 'string' || id === '') throw new IngestError('INGEST_ERR_CONFIG', `report: id must be a non-empty string, got ${JSON.stringify(id)}`);
    const [row] = await this.#rows(`reading report ${JSON.stringify(id.slice(0, 80))}`, REPORT_SQL, { id });
    return row ? rowToReport(row) as StoredReport : null;
  }

  // Compliance evidence (issue 14): the SQL and the shaping of its rows are ./sql-evidence.ts.
  #evidence(): EvidenceReads {
    this.#queries();
    return new EvidenceReads((what, sql, params) => this.#rows(what, sql, params), this.#dialect ?? 'modern', this.#layout);
  }

  evidenceEdges(from: number, until: number, samplesPerEdge = 3): Promise<EvidenceEdge[]> { return this.#evidence().edges(from, until, samplesPerEdge); }
  secretFindings(from: number, until: number, limit = 50): Promise<SecretFindings> { return this.#evidence().secrets(from, until, limit); }
  lossRecords(from: number, until: number): Promise<LossRecord[]> { return this.#evidence().loss(from, until); }
  rejectCounts(from: number, until: number): Promise<RejectCounts> { return this.#evidence().rejects(from, until); }
  retention(): Promise<StoreRetention> { return this.#evidence().retention(); }
  chainHeadsAt(until: number): Promise<ChainHead[]> { return this.#evidence().chainHeadsAt(until); }
  alertsInPeriod(from: number, until: number): Promise<StoredAlert[]> { return this.#evidence().alertsInPeriod(from, until); }

  /** Re-hashes every batch received in [from, until) from its stored rows (./chain-audit.ts); with `trust`, checks stored signatures again. */
  async chainAudit(from: number, until: number, opts: Pick<ChainAuditOptions, 'trust' | 'expiredGraceMs' | 'pageBatches' | 'chunkEvents'> = {}): Promise<ChainAudit> {
    this.#queries();
    for (const [k, v] of [['from', from], ['until', until]] as const) {
      if (!Number.isSafeInteger(v) || v < 0) throw new IngestError('INGEST_ERR_CONFIG', `chainAudit: ${k} must be epoch milliseconds (an integer >= 0), got ${v}`);
    }
    return auditChains({ dialect: this.#dialect ?? 'modern', rows: (what, sql, params) => this.#rows(what, sql, params) }, from, until, opts);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#inFlight]);
      await this.#engine.close();
    })();
    return this.#closing;
  }
}

function graphStats(r: StatsRow, seconds: number): GraphStats {
  const requests = Number(r.requests);
  const errors = Number(r.errors);
  const q = (i: number) => (typeof r.latency[i] === 'number' && Number.isFinite(r.latency[i]) ? r.latency[i] as number : 0);
  return { rps: requests / seconds, requests, errors, error_rate: requests > 0 ? errors / requests : 0, p50_ms: q(0), p99_ms: q(2) };
}

/** A tap filter's keys and parameters: its columns, then its time bounds (epoch ms). */
function tapFilterParams(filter: TapFilter): [TapFilterKey[], Record<string, string | number>] {
  const [columns, params] = filterParams<keyof typeof TAP_FILTER_COLUMNS>(TAP_FILTER_COLUMNS, filter, 'tap filter');
  const keys: TapFilterKey[] = [...columns];
  const out: Record<string, string | number> = { ...params };
  for (const k of ['since', 'until'] as const) {
    const v = filter[k];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < 0) throw new IngestError('INGEST_ERR_CONFIG', `tap filter: ${k} must be epoch milliseconds (an integer >= 0), got ${v}`);
    keys.push(k);
    out[k] = v;
  }
  if (filter.flag !== undefined) {
    if (!(TAP_FLAGS as readonly unknown[]).includes(filter.flag)) throw new IngestError('INGEST_ERR_CONFIG', `tap filter: flag must be one of ${TAP_FLAGS.join(', ')}, got ${JSON.stringify(filter.flag)}`);
    keys.push('flag');
    out.flag = filter.flag;
  }
  return [keys, out];
}

/** Filter keys present (from the allow-list `columns` only) and their parameter values. */
function filterParams<K extends string>(columns: Record<K, string>, filter: Partial<Record<K, unknown>>, what: string): [K[], Record<string, string>] {
  const keys: K[] = [];
  const params: Record<string, string> = {};
  for (const k of Object.keys(columns) as K[]) {
    const v = filter[k];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw new IngestError('INGEST_ERR_CONFIG', `${what}: ${k} must be a string`);
    keys.push(k);
    params[k] = v;
  }
  return [keys, params];
}
