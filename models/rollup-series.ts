// Rollup rows (ClickHouse, one per subject and 10-second bucket) → the
// detector's Series: one row per bucket, ascending, with the columns
// features.ts knows (volumes become per-request ratios there). A bucket with
// no row is a gap (NaN in every column): a service that served nothing in
// 10 s and a lost rollup look the same here, and a gap neither opens nor
// closes an alert.

import type { RollupPoint } from './live-types.ts';
import type { Series } from './series.ts';

// `connections`: distinct connections that carried requests in the bucket,
// counted on the callee's side (rollup_conn_10s in ingest/sql.ts; features.ts
// makes it per request). Counted on the caller's side it followed the
// caller's concurrency: the caller's app opens more connections to its own
// sidecar whenever its requests pile up, so while payments was slow (demo
// run 09:05) cart's and web's counts to every callee tripled and the
// replay opened alerts on cart → inventory and web → catalog, whose own
// counts stayed flat.
//
// Even on the callee's side it follows the callee's peak concurrency, i.e.
// rate × latency: a model has to learn that coupling to tell a connection
// leak from a slowdown, and from the demo's 15-minute baseline it cannot
// (replays with it, 2026-11-29: the 09:05 run gained a false alarm on web,
// one 10-s stall with p99 250 → 439 ms and connections 15 → 51; the 07:31
// run four off-path alerts in the catalog outage). So a model gets the
// column only when its baseline covers a day (CONNECTIONS_MIN_BASELINE_MS,
// the same rule as for the time of day in features.ts), as the offline
// evaluation's models do (2 days, connections = pool + 2 × rate × p50 in
// every scenario, connection leaks found without latency faults alerting
// on connections).
export const LIVE_FEATURES = ['requests', 'error_rate', 'p50_ms', 'p99_ms', 'bytes_in', 'bytes_out', 'retries', 'denies', 'connections'] as const;
/** Shortest baseline whose model gets `connections` (see above). */
export const CONNECTIONS_MIN_BASELINE_MS = 86_400_000;

/** The live columns a model trained on `baselineMs` of history uses. */
export function liveColumns(baselineMs: number): string[] {
  return LIVE_FEATURES.filter((c) => c !== 'connections' || baselineMs >= CONNECTIONS_MIN_BASELINE_MS);
}
export const BUCKET_MS = 10_000;

function row(p: RollupPoint): number[] {
  const r = p.requests;
  return [
    r, r > 0 ? p.errors / r : NaN,
    r > 0 ? p.p50_ms : NaN, r > 0 ? p.p99_ms : NaN,
    p.req_bytes, p.resp_bytes, p.retries, p.denies,
    r > 0 && p.connections !== null ? p.connections : NaN,
  ];
}

/** Points grouped by subject. */
export function bySubject(points: readonly RollupPoint[]): Map<string, RollupPoint[]> {
  const m = new Map<string, RollupPoint[]>();
  for (const p of points) {
    let list = m.get(p.subject);
    if (!list) m.set(p.subject, (list = []));
    list.push(p);
  }
  return m;
}

/** One subject's points as a dense series over buckets [fromMs, untilMs), gaps NaN. */
export function rollupSeries(points: readonly RollupPoint[], fromMs: number, untilMs: number): Series {
  const from = Math.ceil(fromMs / BUCKET_MS) * BUCKET_MS;
  const n = Math.max(0, Math.ceil((untilMs - from) / BUCKET_MS));
  const ts = Array.from({ length: n }, (_, i) => from + i * BUCKET_MS);
  const rows = ts.map(() => LIVE_FEATURES.map(() => NaN));
  for (const p of points) {
    const i = (p.bucket - from) / BUCKET_MS;
    if (Number.isInteger(i) && i >= 0 && i < n) rows[i] = row(p);
  }
  return { ts, names: [...LIVE_FEATURES], rows };
}

/**
 * `s` with only the columns `names`, in that order: a model trained before
 * a column was added (denies) scores the columns it knows.
 */
export function selectColumns(s: Series, names: readonly string[]): Series {
  if (names.length === s.names.length && names.every((n, i) => n === s.names[i])) return s;
  const idx = names.map((n) => {
    const j = s.names.indexOf(n);
    if (j < 0) throw new Error(`the model needs column ${n}, which the rollups do not have (${s.names.join(', ')})`);
    return j;
  });
  return { ts: s.ts, names: [...names], rows: s.rows.map((r) => idx.map((j) => r[j])) };
}

/**
 * Start of the newest stretch of history without a gap longer than `maxGapMs`
 * (a restart of the mesh after a day begins a fresh baseline), or undefined
 * when there are no points.
 */
export function historyStart(points: readonly RollupPoint[], maxGapMs: number): number | undefined {
  if (points.length === 0) return undefined;
  const b = [...new Set(points.map((p) => p.bucket))].sort((x, y) => x - y);
  let start = b[0];
  for (let i = 1; i < b.length; i++) if (b[i] - b[i - 1] > maxGapMs) start = b[i];
  return start;
}
