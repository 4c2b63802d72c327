// TapStore on chdb: ClickHouse in-process, data directory on disk.
//
// chdb binds ONE data directory per process. Measured with chdb 3.4.0
// (libchdb 26.7): a second `new Session(samePath)` opens and shares the
// engine; a `new Session(otherPath)` while one is open throws
// CHDB_CONNECTION ("only one active data directory per process"). So this
// store is the single owner: while one is open, createChdbStore refuses to
// open another (any path) with INGEST_ERR_STORE_BUSY; share the one TapStore
// instead. close() waits for in-flight calls and for chdb to drain, so a new
// store (any path) may be opened as soon as it resolves.

import type { Session } from 'chdb';
import type { TapBatch } from './batch.ts';
import { asIngestError, IngestError } from './errors.ts';
import {
  CHAIN_HEADS_SQL, LOSS_SUMMARY_SQL, countTapsSql, dedupToken, ROLLUP_BUCKET_MS, EDGE_STATS_SQL, INSERT_SETTINGS, recentTapsSql,
  schemaStatements, SERVICE_STATS_SQL, TAP_FILTER_COLUMNS, type SchemaOptions, type TapFilterColumn,
} from './sql.ts';
import type { ChainHead, LossSummary, GraphStats, ServiceEdge, ServiceGraph, ServiceNode, TapFilter, TapStore } from './store.ts';
import { batchRows, rowToTap } from './tap-row.ts';

export interface ChdbStoreOptions extends SchemaOptions {
  /** chdb data directory; created if missing. */
  dataDir: string;
  /** Clock for received_at and the default graph window end (tests inject it). */
  now?: () => number;
}

let openPath: string | null = null;

// chdb's native engine is ~150 MB resident and takes a second to load.
// Sidecars import ingest/ for the schema and publishers but never open a
// store, so the engine loads only when a store opens (in init()).
let chdbModule: Promise<typeof import('chdb')> | null = null;
const loadChdb = () => (chdbModule ??= import('chdb'));

export function createChdbStore(opts: ChdbStoreOptions): TapStore {
  if (typeof opts.dataDir !== 'string' || opts.dataDir === '') {
    throw new IngestError('INGEST_ERR_CONFIG', 'chdb store: dataDir must be a non-empty path');
  }
  const statements = schemaStatements(opts); // validates retention options before opening
  if (openPath !== null) {
    throw new IngestError('INGEST_ERR_STORE_BUSY',
      `chdb store: ${openPath} is already open in this process; chdb allows one data directory per process, share that store or close it before opening ${opts.dataDir}`);
  }
  openPath = opts.dataDir;
  return new ChdbStore(opts.dataDir, statements, opts.now ?? Date.now);
}

type Row = Record<string, unknown>;
interface StatsRow { requests: number; errors: number; latency: (number | null)[] }

class ChdbStore implements TapStore {
  #session: Session | null = null;
  readonly #dataDir: string;
  readonly #statements: string[];
  readonly #now: () => number;
  readonly #inFlight = new Set<Promise<unknown>>();
  #closing: Promise<void> | null = null;

  constructor(dataDir: string, statements: string[], now: () => number) {
    this.#dataDir = dataDir;
    this.#statements = statements;
    this.#now = now;
  }

  /** Runs one chdb call, tracked so close() can wait for it; errors name what was being done. */
  async #run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closing) throw new IngestError('INGEST_ERR_CLOSED', `chdb store ${this.#dataDir}: closed while ${what}`);
    const p = fn();
    this.#inFlight.add(p);
    try {
      return await p;
    } catch (e) {
      throw asIngestError(e, `chdb store ${this.#dataDir}: ${what}`);
    } finally {
      this.#inFlight.delete(p);
    }
  }

  async #rows<T = Row>(what: string, sql: string, params: object = {}): Promise<T[]> {
    const text = await this.#run(what, async () =>
      (await this.#open().queryBindAsync(sql, params, { format: 'JSONEachRow' })).text());
    return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as T);
  }

  #open(): Session {
    if (!this.#session) throw new IngestError('INGEST_ERR_CLOSED', `chdb store ${this.#dataDir}: not open, call init() first`);
    return this.#session;
  }

  async init(): Promise<void> {
    if (!this.#session) {
      const { Session } = await loadChdb();
      try {
        this.#session = new Session(this.#dataDir);
      } catch (e) {
        throw asIngestError(e, `chdb store: opening ${this.#dataDir}`);
      }
    }
    for (const sql of this.#statements) {
      await this.#run(`creating schema (${sql.slice(0, 60).replace(/\s+/g, ' ')}…)`,
        () => this.#open().queryAsync(sql));
    }
  }

  async writeBatch(b: TapBatch): Promise<void> {
    const token = dedupToken(b.proxy, b.stream, b.batch);
    const what = `writing batch ${b.batch} of ${b.proxy}/${b.stream}`;
    const settings = { ...INSERT_SETTINGS, insert_deduplication_token: token };
    // Taps first, chain record second: if we fail in between, the chain head
    // does not advance, the batch is resent and the taps insert dedups.
    if (b.events.length > 0) {
      await this.#run(what, () => this.#open().insert({ table: 'taps', values: batchRows(b), format: 'JSONEachRow', settings }));
    }
    const record = {
      proxy: b.proxy, stream: b.stream, batch: b.batch, first_seq: b.first_seq, events: b.events.length,
      hash: b.hash, prev_hash: b.prev_hash, lost: b.lost, received_at: this.#now(),
    };
    await this.#run(what, () => this.#open().insert({
      table: 'tap_batches', values: Buffer.from(JSON.stringify(record)), format: 'JSONEachRow', settings,
    }));
  }

  async chainHeads(): Promise<ChainHead[]> {
    const rows = await this.#rows<{ proxy: string; stream: string; head_batch: number; head_hash: string; last_seq: number; head_lost: number }>(
      'reading chain heads', CHAIN_HEADS_SQL);
    return rows.map((r) => ({
      proxy: r.proxy, stream: r.stream, batch: r.head_batch, hash: r.head_hash, last_seq: r.last_seq, lost: r.head_lost,
    }));
  }

  async recordLoss(loss: { proxy: string; stream: string; ts: number; from_seq: number; count: number; reason: string }): Promise<void> {
    // Same loss recorded twice (a retried batch) is stored once.
    const token = `loss:${loss.proxy}:${loss.stream}:${loss.from_seq}:${loss.count}:${loss.reason}`;
    const row = { proxy: loss.proxy, stream: loss.stream, ts: loss.ts, from_seq: loss.from_seq, count: loss.count, reason: loss.reason };
    await this.#run(`recording loss of ${loss.count} events from ${loss.proxy}/${loss.stream}`, () => this.#open().insert({
      table: 'tap_loss', values: Buffer.from(JSON.stringify(row)), format: 'JSONEachRow',
      settings: { ...INSERT_SETTINGS, insert_deduplication_token: token },
    }));
  }

  async lossSummary(): Promise<LossSummary[]> {
    return this.#rows<LossSummary>('reading tap loss', LOSS_SUMMARY_SQL);
  }

  async serviceGraph(windowS: number, untilMs?: number): Promise<ServiceGraph> {
    if (!(Number.isFinite(windowS) && windowS > 0)) {
      throw new IngestError('INGEST_ERR_CONFIG', `serviceGraph: windowS must be a number > 0, got ${windowS}`);
    }
    const until = Math.floor(untilMs ?? this.#now());
    // Rollups are whole 10 s buckets: start the window at a bucket boundary
    // and divide by the time actually covered, so a window that starts
    // mid-bucket neither drops that bucket's requests nor dilutes the rate.
    const from = Math.max(0, Math.floor((until - Math.round(windowS * 1000)) / ROLLUP_BUCKET_MS) * ROLLUP_BUCKET_MS);
    const coveredS = Math.max(1, until - from) / 1000;
    const params = { from, until };
    const services = await this.#rows<StatsRow & { service: string }>('reading service rollups', SERVICE_STATS_SQL, params);
    const edgeRows = await this.#rows<StatsRow & { src_service: string; dst_service: string }>('reading edge rollups', EDGE_STATS_SQL, params);
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
    const [keys, params] = filterParams(filter);
    const rows = await this.#rows<{ n: number }>('counting taps', countTapsSql(keys), params);
    return Number(rows[0]?.n ?? 0);
  }

  async recentTaps(filter: TapFilter, limit: number): Promise<Record<string, unknown>[]> {
    if (!Number.isInteger(limit) || limit < 0) throw new IngestError('INGEST_ERR_CONFIG', `recentTaps: limit must be an integer >= 0, got ${limit}`);
    const [keys, params] = filterParams(filter);
    const rows = await this.#rows('reading recent taps', recentTapsSql(keys), { ...params, limit });
    return rows.map(rowToTap);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#inFlight]);
      if (this.#session) {
        this.#session.close();
        await (await loadChdb()).drainPending();
      }
      if (openPath === this.#dataDir) openPath = null;
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

/** Filter keys present (from the allow-list only) and their parameter values. */
function filterParams(filter: TapFilter): [TapFilterColumn[], Record<string, string>] {
  const keys: TapFilterColumn[] = [];
  const params: Record<string, string> = {};
  for (const k of Object.keys(TAP_FILTER_COLUMNS) as TapFilterColumn[]) {
    const v = filter[k];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw new IngestError('INGEST_ERR_CONFIG', `tap filter: ${k} must be a string`);
    keys.push(k);
    params[k] = v;
  }
  return [keys, params];
}
