// The live detector's contracts with the rest of meshlens. models/ reads
// rollups and writes alerts through these two small interfaces; the store
// (ingest/) satisfies them. The row shapes are ingest's own types, defined
// once there: models/ sits above ingest/ and may use its public surface.

import type { RollupRow, RollupScope, StoredAlert } from '../ingest/index.ts';

export type LiveScope = RollupScope;

/** One 10-second rollup bucket of one service, or of one edge ("src→dst"). */
export type RollupPoint = RollupRow;

export interface RollupSource {
  /** Every subject's buckets with fromMs <= bucket < untilMs, in any order. */
  series(scope: LiveScope, fromMs: number, untilMs: number): Promise<RollupPoint[]>;
}

/** One state of an alert (id `<scope>:<subject>:<opened_at>`); the store keeps the newest row per id. */
export type AlertRecord = StoredAlert;

export interface AlertSink {
  write(a: AlertRecord): Promise<void>;
  /**
   * The newest state of recent alerts (open and resolved), read once at
   * start so a restarted detector carries on open alerts instead of leaving
   * them open for good. Optional: without it a restart starts afresh.
   */
  recent?(): Promise<AlertRecord[]>;
}
