// The store interface: everything the rest of meshlens asks of ClickHouse.
// One implementation per backend (chdb embedded now, @clickhouse/client
// server later); all share the SQL in ./sql.ts.

import type { StorableBatch, TapBatch } from './batch.ts';
import type { ActionRecord } from './action-record.ts';
import type { Decision } from './schema/v1.ts';
import type { ActionQuery } from './sql-actions.ts';

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

/**
 * A batch frame the collector refused for good (bad signature, wrong
 * sender, broken chain, malformed): what it claimed, why it was refused
 * and how it began. One row per distinct frame and code: the same frame
 * refused again (a Kafka redelivery, a replay) collapses into its row;
 * the collector's counters count every refusal.
 */
export interface TapReject {
  received_at: number;
  /** What the header claims ('' / -1 where it is unreadable). */
  proxy: string;
  stream: string;
  batch: number;
  /** INGEST_ERR_* code, and the collector's message. */
  code: string;
  reason: string;
  /** SPIFFE id of the certificate the frame was signed with, if that certificate was believed; else ''. */
  signer: string;
  /** The proxy the transport authenticated (mTLS peer of POST /v1/taps); '' when none (Kafka). */
  sender: string;
  frame_bytes: number;
  /** SHA-256 (hex) of the whole frame. */
  frame_sha256: string;
  /** The frame's first REJECT_HEAD_BYTES bytes as UTF-8 (a character cut at the end, or bytes that are not UTF-8, read as U+FFFD). */
  frame_head: string;
}

export interface RejectFilter { proxy?: string; code?: string }

/** A stored batch's chain record: where a tap (proxy, stream, batch) came from and who signed it. */
export interface BatchRecord {
  proxy: string;
  stream: string;
  batch: number;
  first_seq: number;
  events: number;
  hash: string;
  prev_hash: string;
  lost: number;
  received_at: number;
  /** SPIFFE id of the certificate whose signature the collector verified; '' if stored without (no trust bundle). */
  signer: string;
  /** SHA-256 fingerprint of that certificate, and its signature (base64 DER) over "meshlens-tap-batch-v1:" + hash. */
  signer_cert: string;
  signature: string;
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

/**
 * One 10-second rollup bucket of one version of a service, from its
 * inbound taps (the callee's `version` label, '' when it had none):
 * subject "service@version"; `connections` counts that version's.
 */
export type VersionRollupRow = RollupRow & { service: string; version: string };

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

/** One instance's requests over a window, from its callers' side (instanceFigures). */
export interface InstanceFigureRow { service: string; instance: string; version: string; requests: number; errors: number; p50_ms: number; p99_ms: number }

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
   * or, from the collector, as a RowBatch whose rows are already encoded
   * (and, when its signature was verified, who signed it: kept in
   * tap_batches).
   * Idempotent per batch in any grouping: a batch written again, alone or
   * among others, is stored once.
   */
  writeBatches(batches: readonly StorableBatch[]): Promise<void>;
  /** The newest stored batch of every (proxy, stream). */
  chainHeads(): Promise<ChainHead[]>;
  /** The chain record of one stored batch (who signed it, its hash), or null. */
  batchRecord(proxy: string, stream: string, batch: number): Promise<BatchRecord | null>;
  /** Records that a proxy lost events: sequence gap seen, or drops it reported. */
  recordLoss(loss: { proxy: string; stream: string; ts: number; from_seq: number; count: number; reason: string }): Promise<void>;
  /** Every recorded loss, summed per proxy and reason. */
  lossSummary(): Promise<LossSummary[]>;
  /** Stores refused batch frames in tap_rejects; writing the same rows again stores them once. */
  recordRejects(rejects: readonly TapReject[]): Promise<void>;
  /** Refused frames matching the filter, newest first. */
  rejects(filter: RejectFilter, limit: number): Promise<TapReject[]>;
  /** Number of distinct refused frames matching the filter. */
  countRejects(filter: RejectFilter): Promise<number>;
  /** Graph of the last `windowS` seconds of rollups, ending at `untilMs` (default now). */
  serviceGraph(windowS: number, untilMs?: number): Promise<ServiceGraph>;
  /** Number of stored tap events matching the filter (duplicates collapsed). */
  countTaps(filter: TapFilter): Promise<number>;
  /** Newest raw taps matching the filter, newest first. */
  recentTaps(filter: TapFilter, limit: number): Promise<Record<string, unknown>[]>;
  /** Rollup buckets with fromMs <= bucket < untilMs, every subject of the scope, by bucket then subject. */
  rollupSeries(scope: RollupScope, fromMs: number, untilMs: number): Promise<RollupRow[]>;
  /** Rollup buckets per service and version with fromMs <= bucket < untilMs (one service if given), by bucket, service, version. */
  versionRollups(fromMs: number, untilMs: number, service?: string): Promise<VersionRollupRow[]>;
  /**
   * Requests to each instance over fromMs <= ts < untilMs as its callers'
   * sidecars recorded them (outbound l7 taps; errors are 5xx and gateway
   * failures, as in rollups), by service then instance.
   */
  instanceFigures(fromMs: number, untilMs: number): Promise<InstanceFigureRow[]>;
  /** Stores one alert state (a row per change; the newest updated_at per id wins). */
  writeAlert(a: StoredAlert): Promise<void>;
  /** Newest state of each alert, filtered by that state, most recently changed first. */
  alerts(opts: { state?: 'open' | 'resolved'; limit: number }): Promise<StoredAlert[]>;
  /**
   * Stores one state of a tuning action (a row per state; the newest
   * updated_at per id wins). Rejects a bad record with INGEST_ERR_MALFORMED
   * naming every problem (actionRecordProblems); nothing is written.
   */
  writeAction(r: ActionRecord): Promise<void>;
  /** Newest state of each action, filtered on that state, most recently updated first. */
  actions(opts: ActionQuery): Promise<ActionRecord[]>;
  /** Every state of one action, oldest first; [] for an unknown id. */
  actionHistory(id: string): Promise<ActionRecord[]>;
  close(): Promise<void>;
}
