// The store interface: everything the rest of meshlens asks of ClickHouse.
// One implementation per backend (chdb embedded now, @clickhouse/client
// server later); all share the SQL in ./sql.ts.

import type { StorableBatch, TapBatch } from './batch.ts';
import type { Decision } from './schema/v1.ts';

/** Where a proxy's chain stood after its last stored batch. */
export interface ChainHead {
  proxy: string;
  stream: string;
  batch: number;
  hash: string;
  /** seq of the last event stored (first_seq + events - 1), -1 if none. */
  last_seq: number;
  /** The batch's cumulative `lost` counter, so a restarted collector sees new drops. */
  lost: number;
}

export interface GraphStats {
  /** Requests per second over the window. */
  rps: number;
  requests: number;
  errors: number;
  /** errors / requests, 0 when no requests. */
  error_rate: number;
  p50_ms: number;
  p99_ms: number;
}

export interface ServiceNode extends GraphStats { service: string }
export interface ServiceEdge extends GraphStats { src: string; dst: string }

export interface ServiceGraph {
  window_s: number;
  /** End of the window, epoch ms. */
  until: number;
  nodes: ServiceNode[];
  edges: ServiceEdge[];
}

export interface TapFilter {
  kind?: string;
  proxy?: string;
  direction?: 'inbound' | 'outbound';
  src_service?: string;
  dst_service?: string;
  /** Policy decision of l7.request taps: the decision log. */
  decision?: Decision;
}

/** Tap loss recorded for one proxy and reason (sequence gaps, drops the proxy reported). */
export interface LossSummary {
  proxy: string;
  reason: string;
  /** Events lost in all. */
  events: number;
  /** Loss records behind that figure. */
  records: number;
  last_ts: number;
}

export type RollupScope = 'service' | 'edge';

/** One 10-second rollup bucket of one service, or of one edge (subject "src→dst"). */
export interface RollupRow {
  bucket: number;
  subject: string;
  requests: number;
  errors: number;
  p50_ms: number;
  p99_ms: number;
  req_bytes: number;
  resp_bytes: number;
  retries: number;
  /** Requests the inbound policy denied. */
  denies: number;
  /**
   * Distinct connections that carried requests in the bucket, as the
   * callee's sidecar saw them (all callers for a service, one for an
   * edge); null where none were recorded (no inbound taps: no requests, an
   * upstream the requests never reached, or buckets older than the store's
   * connection rollups).
   */
  connections: number | null;
}

/** One state of an anomaly alert (models/ writes them); the store answers with each id's newest. */
export interface StoredAlert {
  id: string;
  scope: RollupScope;
  subject: string;
  state: 'open' | 'resolved';
  opened_at: number;
  /** Grows with every state written; the newest wins. */
  updated_at: number;
  resolved_at: number | null;
  score: number;
  threshold: number;
  features: { name: string; share: number }[];
  explanation: string;
  model_version: string;
}

export interface TapStore {
  /** Creates tables and views if missing; safe to call on every start. */
  init(): Promise<void>;
  /**
   * Writes a verified batch's events and its chain record. Idempotent by
   * (proxy, stream, batch): writing the same batch twice stores it once.
   */
  writeBatch(batch: TapBatch): Promise<void>;
  /**
   * Writes verified batches (several streams; each stream's in chain order)
   * in as few inserts as the backend allows. A batch comes with its events
   * or, from the collector, as a RowBatch whose rows are already encoded.
   * Idempotent per batch in any grouping: a batch written again, alone or
   * among others, is stored once.
   */
  writeBatches(batches: readonly StorableBatch[]): Promise<void>;
  /** The newest stored batch of every (proxy, stream). */
  chainHeads(): Promise<ChainHead[]>;
  /** Records that a proxy lost events: sequence gap seen, or drops it reported. */
  recordLoss(loss: { proxy: string; stream: string; ts: number; from_seq: number; count: number; reason: string }): Promise<void>;
  /** Every recorded loss, summed per proxy and reason. */
  lossSummary(): Promise<LossSummary[]>;
  /** Graph of the last `windowS` seconds of rollups, ending at `untilMs` (default now). */
  serviceGraph(windowS: number, untilMs?: number): Promise<ServiceGraph>;
  /** Number of stored tap events matching the filter (duplicates collapsed). */
  countTaps(filter: TapFilter): Promise<number>;
  /** Newest raw taps matching the filter, newest first. */
  recentTaps(filter: TapFilter, limit: number): Promise<Record<string, unknown>[]>;
  /** Rollup buckets with fromMs <= bucket < untilMs, every subject of the scope, by bucket then subject. */
  rollupSeries(scope: RollupScope, fromMs: number, untilMs: number): Promise<RollupRow[]>;
  /** Stores one alert state (a row per change; the newest updated_at per id wins). */
  writeAlert(a: StoredAlert): Promise<void>;
  /** Newest state of each alert, filtered by that state, most recently changed first. */
  alerts(opts: { state?: 'open' | 'resolved'; limit: number }): Promise<StoredAlert[]>;
  close(): Promise<void>;
}
