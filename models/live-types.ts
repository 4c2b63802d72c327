// The live detector's contracts with the rest of meshlens. models/ reads
// rollups and writes alerts through these two small interfaces; the store
// (ingest/) satisfies them structurally, so models/ never imports ingest/
// and ingest/ never imports models/.

export type LiveScope = 'service' | 'edge';

/** One 10-second rollup bucket of one service, or of one edge ("src→dst"). */
export interface RollupPoint {
  /** Bucket start, epoch ms. */
  bucket: number;
  subject: string;
  requests: number;
  errors: number;
  p50_ms: number;
  p99_ms: number;
  req_bytes: number;
  resp_bytes: number;
  retries: number;
}

export interface RollupSource {
  /** Every subject's buckets with fromMs <= bucket < untilMs, in any order. */
  series(scope: LiveScope, fromMs: number, untilMs: number): Promise<RollupPoint[]>;
}

/** One state of an alert; the store keeps the newest row per id. */
export interface AlertRecord {
  /** `<scope>:<subject>:<opened_at>`, stable over the alert's life. */
  id: string;
  scope: LiveScope;
  subject: string;
  state: 'open' | 'resolved';
  /** Bucket times (epoch ms) of the window that opened / last updated / resolved the alert. */
  opened_at: number;
  updated_at: number;
  resolved_at: number | null;
  /** Highest window score while open, and the model's threshold. */
  score: number;
  threshold: number;
  /** Features that contributed most when the alert opened, with their share of the error. */
  features: { name: string; share: number }[];
  /** "p99 latency and retries on cart → payments" */
  explanation: string;
  model_version: string;
}

export interface AlertSink {
  write(a: AlertRecord): Promise<void>;
}
