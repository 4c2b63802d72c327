// Public surface of ingest/: the tap schema, batches, their hash chain and
// their signatures, the store interface and its chdb implementation, the
// SQL schema, the publishers sidecars use, and the collector with its HTTP
// handler.

export * from './schema/v1.ts';
export {
  GENESIS_HASH, BATCH_SCHEMA, SIGNED_BATCH_SCHEMA, READ_SCHEMAS, type BatchSchema, type UnsignedSchema, batchHash, batchHeader, encodeBatch, LineSealer, sealBatch, sealFrame, sealLines,
  type BatchSigned, type RowBatch, type SealedHead, type StorableBatch, type TapBatch, type UnsealedBatch, type UnsealedLines,
} from './batch.ts';
export { BatchSigner, signedMessage, signatureLine, type BatchSignature } from './batch-signer.ts';
export { BatchVerifier, DEFAULT_EXPIRED_GRACE_MS, type BatchVerifierCounters, type BatchVerifierOptions } from './batch-verifier.ts';
export type {
  BatchRecord, ChainHead, GraphStats, LossSummary, RejectFilter, RollupRow, RollupScope, ServiceEdge, ServiceGraph, ServiceNode, StoredAlert, TapFilter, TapReject, TapStore,
  VersionRollupRow, InstanceFigureRow,
} from './store.ts';
export type { InboundRequestInput, TapId } from './store.ts';
export type { EvidenceEdge, LossRecord, RejectCounts, SecretFinding, SecretFindings, SecretRule, StoreRetention, TapPointer } from './store.ts';
export { SECRET_RULES } from './sql-evidence.ts';
export { rejectRow, REJECT_HEAD_BYTES } from './tap-reject.ts';
export {
  ACTION_KINDS, ACTION_LIMITS, ACTION_MODES, ACTION_STATES, actionRecordProblems, type ActionKind, type ActionMode, type ActionRecord, type ActionState,
} from './action-record.ts';
export type { ActionQuery } from './sql-actions.ts';
export {
  CONFIG_CHANGE_KINDS, CONFIG_CHANGE_LIMITS, WHOLE_KIND, configChangeProblems, type ConfigChange, type ConfigChangeKind, type ConfigChanges,
} from './config-change.ts';
export { REPORT_LIMITS, storedReportProblems, type ReportQuery, type ReportSummaryRow, type StoredReport } from './stored-report.ts';
export { createChdbStore, type ChdbStoreOptions } from './chdb-store.ts';
export {
  schemaStatements, dedupToken, ROLLUP_BUCKET_MS, ROLLUP_QUANTILES,
  DEFAULT_RETENTION_DAYS, DEFAULT_ROLLUP_RETENTION_DAYS, DEFAULT_DEDUP_WINDOW, type SchemaOptions,
} from './sql.ts';
export { encodeTapRows, TAP_INSERT_COLUMNS } from './tap-row.ts';
export { INGEST_ERRORS, IngestError, type IngestErrorCode } from './errors.ts';
export type { BatchLabel, PublishResult, TapPublisher } from './bus/publisher.ts';
export { EmbeddedPublisher } from './bus/embedded.ts';
export { Collector, type CollectorCounters, type CollectorOptions, type CollectorResult } from './collector.ts';
export { ChainVerifier, type ChainVerdict, type ChainGap, type ChainOptions } from './chain.ts';
export type { ChainAudit, ChainAuditGap, ChainProblem, ChainProblemKind } from './chain-audit.ts';
export type { StoredSigner } from './sql-signers.ts';
export { decodeBatch, decodeRowBatch, type FrameHead } from './batch-check.ts';
export { LineChunks } from './line-chunks.ts';
export { eventLine, checkLine, lineEvent } from './tap-lines.ts';
export { GroupCommit, DEFAULT_GROUP_LINGER_MS, type GroupCommitOptions } from './group-commit.ts';
export { handleTapPost, DEFAULT_MAX_BODY_BYTES, type TapPostOptions } from './http.ts';
export { KafkaPublisher, kafkaErrorResult, DEFAULT_MAX_MESSAGE_BYTES, type KafkaPublisherOptions } from './bus/kafka.ts';
export { useTapsGzip, TAPS_GZIP_LEVEL } from './bus/kafka-gzip.ts';
export { ensureTopic, DEFAULT_TAPS_TOPIC, DEFAULT_TAPS_PARTITIONS } from './bus/kafka-topic.ts';
export {
  startKafkaCollector, DEFAULT_COLLECTOR_MAX_MESSAGE_BYTES, type KafkaCollector, type KafkaCollectorCounters, type KafkaCollectorOptions,
} from './kafka-collector.ts';
export { createClickHouseStore, dialectForVersion, DEFAULT_DATABASE, type ClickHouseStoreOptions } from './clickhouse-store.ts';
export { clusterSchemaStatements, type ClusterSchemaOptions } from './sql-cluster.ts';
export type { SqlDialect } from './sql.ts';
