// The store interface: everything the rest of meshlens asks of ClickHouse.
// One implementation per backend (chdb embedded now, @clickhouse/client
// server later); all share the SQL in ./sql.ts.

import type { StorableBatch, TapBatch } from './batch.ts';
import type { ActionRecord } from './action-record.ts';
import type { Decision, TapFlag } from './schema/v1.ts';
import type { ActionQuery } from './sql-actions.ts';
import type { ChainAudit, ChainAuditOptions } from './chain-audit.ts';
import type { StoredSigner } from './sql-signers.ts';
import type { ConfigChange, ConfigChanges } from './config-change.ts';
import type { ReportQuery, ReportSummaryRow, StoredReport } from './stored-report.ts';

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
  /** Taps with since <= ts < until (epoch ms): the tap explorer's deep links from a report. */
  since?: number;
  until?: number;
  /** l7.request taps whose `flags` name this data-plane decision (TAP_FLAGS: retried, ejected, …). */
  flag?: TapFlag;
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

/**
 * One stored tap as compliance evidence points at it (the contract's
 * "Pointer"): l4 taps have method and path '' and status 0; decision is as
 * stored ('' when the tap had none). `path` has secret values redacted
 * (secret query values cut to "…", JWTs to "eyJ…", AWS keys to "AKIA…"), so
 * a report that quotes a pointer never carries a secret.
 */
export interface TapPointer {
  proxy: string;
  seq: number;
  ts: number;
  src_service: string;
  dst_service: string;
  direction: string;
  method: string;
  path: string;
  status: number;
  decision: string;
  decision_reason: string;
  tls_version: string;
  src_identity: string;
}

/**
 * What the callee's sidecar recorded of one edge (src_service → dst_service)
 * over a period: inbound taps only, where mTLS ends and policy decides.
 * mTLS = tls_version and src_identity both non-empty.
 */
export interface EvidenceEdge {
  src: string;
  dst: string;
  /** Inbound l7.request taps; mtls_requests + plaintext_requests = requests. */
  requests: number;
  mtls_requests: number;
  plaintext_requests: number;
  /** Inbound l4.open taps, and those over mTLS. */
  connections: number;
  mtls_connections: number;
  /** Decisions on the requests; a request without a decision counts as none. */
  allow: number;
  deny: number;
  none: number;
  denies_without_reason: number;
  /** Requests answered 5xx or not answered (status 0). */
  errors: number;
  /** Oldest and newest of the edge's requests and connections, epoch ms. */
  first_ts: number;
  last_ts: number;
  /**
   * Up to samplesPerEdge taps of each kind, oldest first: plaintext
   * (requests and connections without mTLS), none (requests without an
   * allow or deny), deny_no_reason, admitted (requests not denied).
   */
  samples: { plaintext: TapPointer[]; none: TapPointer[]; deny_no_reason: TapPointer[]; admitted: TapPointer[] };
}

/** Secret rules of secretFindings, the most specific first (a field is named by the first that fires). */
export type SecretRule = 'private_key' | 'aws_access_key' | 'jwt' | 'bearer_basic' | 'secret_query_key' | 'secret_header';

/**
 * A field of a stored tap that holds something secret-looking; `excerpt` is
 * the matched value redacted: its first 4 characters (fewer for a value
 * under 12, never more than a third of it), "…", "(N chars)".
 */
export type SecretFinding = TapPointer & { field: 'path' | `header:${string}`; rule: SecretRule; excerpt: string };

export interface SecretFindings {
  /** l7.request taps in the period (both directions), every one scanned. */
  scanned: number;
  /** Fields that fired a rule (one per tap and field, named by the first rule that fires). */
  findings: number;
  /** Findings per rule, every rule present (0 when it never fired). */
  by_rule: Record<SecretRule, number>;
  /** Up to `limit` findings, oldest first, spread over the rules that fired. */
  samples: SecretFinding[];
}

/** One recorded tap loss (TapStore.recordLoss). */
export interface LossRecord { proxy: string; stream: string; ts: number; from_seq: number; count: number; reason: string }

/** Distinct refused frames (tap_rejects) received in a period, in all and per INGEST_ERR_* code. */
export interface RejectCounts { frames: number; by_code: Record<string, number> }

/** How long the store keeps what it holds: days from the tables' TTL (null: no TTL, nothing is deleted), and the oldest tap kept. */
export interface StoreRetention { taps_days: number | null; rollup_days: number | null; oldest_tap_ts: number | null }

/** A tap by its id: which sidecar's stream, which event, when. */
export interface TapId { proxy: string; stream: string; seq: number; ts: number }

/**
 * Inbound l7.requests alike in every field an authorization policy's input
 * is built from, and in the decision their taps recorded: policy replay
 * evaluates each such input once (TapStore.inboundRequestInputs).
 */
export interface InboundRequestInput {
  src_service: string; src_identity: string; dst_service: string;
  method: string;
  /** As the tap keeps it: allow-listed query keys included. */
  path: string;
  /** The allow-listed headers the taps captured ({} when none). */
  headers: Record<string, string>;
  /** 'allow' | 'deny' | 'none', or '' when the taps recorded none. */
  decision: string; decision_reason: string;
  /** How many requests, and the earliest and latest of them. */
  requests: number;
  first: TapId;
  last: TapId;
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
  /**
   * Stores the certificates of signers (tap_signers), so stored signatures
   * can be checked again (./signature-audit.ts); the collector writes one
   * before the first batch signed under it. Writing one again stores it once.
   */
  writeSigners(signers: readonly StoredSigner[]): Promise<void>;
  /** The stored certificates of these fingerprints (a rewritten store may hold several versions of one); [] for none. */
  signers(fingerprints: readonly string[]): Promise<StoredSigner[]>;
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
  /**
   * The distinct inputs of the inbound l7.request taps with from <= ts <
   * until, by earliest request; at most `limit` of them (policy replay
   * asks for limit + 1 and cuts the period smaller when there are more).
   */
  inboundRequestInputs(from: number, until: number, limit: number): Promise<InboundRequestInput[]>;
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
  /**
   * Compliance evidence per edge over [from, until) (epoch ms), from raw
   * inbound taps (duplicates collapsed), with up to samplesPerEdge pointers
   * of each sample kind; by src then dst.
   */
  evidenceEdges(from: number, until: number, samplesPerEdge?: number): Promise<EvidenceEdge[]>;
  /**
   * Scans the path and headers of every l7.request tap in [from, until) for
   * secrets (SecretRule); never returns one, only redacted excerpts. Up to
   * `limit` (default 50) samples.
   */
  secretFindings(from: number, until: number, limit?: number): Promise<SecretFindings>;
  /** Loss records with from <= ts < until, oldest first; a loss recorded twice is one record. */
  lossRecords(from: number, until: number): Promise<LossRecord[]>;
  /** Distinct refused frames with from <= received_at < until, per code. */
  rejectCounts(from: number, until: number): Promise<RejectCounts>;
  /** The store's retention (TTL days of taps and rollups) and its oldest tap. */
  retention(): Promise<StoreRetention>;
  /** chainHeads as they stood at `until`: the newest batch per (proxy, stream) received before it. */
  chainHeadsAt(until: number): Promise<ChainHead[]>;
  /**
   * Alerts open at some time in [from, until): newest state of each alert
   * opened before `until` and still open or resolved at or after `from`;
   * by opened_at then id.
   */
  alertsInPeriod(from: number, until: number): Promise<StoredAlert[]>;
  /**
   * Stores one control-plane config change (a retry stores it once).
   * Rejects a bad record with INGEST_ERR_MALFORMED naming every problem
   * (configChangeProblems); nothing is written.
   */
  writeConfigChange(c: ConfigChange): Promise<void>;
  /** The changes in force when [from, until) began, and those made during it (see ConfigChanges). */
  configChanges(from: number, until: number): Promise<ConfigChanges>;
  /**
   * Stores a compliance report, or replaces a stored one (its files grown):
   * the last written wins. Rejects a bad report (a stamp that is not the
   * body's SHA-256, bad JSON, …) with INGEST_ERR_MALFORMED naming every
   * problem (storedReportProblems); nothing is written.
   */
  writeReport(r: StoredReport): Promise<void>;
  /** Stored reports issued at or after `since`, newest issued first, without their bodies. */
  reports(q: ReportQuery): Promise<ReportSummaryRow[]>;
  /** One stored report with its body, or null. */
  report(id: string): Promise<StoredReport | null>;
  /**
   * Re-hashes every batch first received in [from, until) (epoch ms) from
   * its stored rows, as its sidecar hashed it, and checks the links and
   * gaps between stored batches (./chain-audit.ts); with `trust`, checks
   * each stored signature again too (./signature-audit.ts).
   */
  chainAudit(from: number, until: number, opts?: Pick<ChainAuditOptions, 'trust' | 'expiredGraceMs' | 'pageBatches' | 'chunkEvents'>): Promise<ChainAudit>;
  close(): Promise<void>;
}
