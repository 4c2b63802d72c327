// Alert states and rollup series between the store's rows and the shapes
// the rest of meshlens uses (./store.ts): checks before an alert is written,
// JSON features and 0-for-null resolved_at in the table (./sql.ts), and
// rollup states turned into plain numbers.

import { IngestError } from './errors.ts';
import type { RollupRow, StoredAlert } from './store.ts';

/** The alerts table's row for one alert state; throws INGEST_ERR_MALFORMED naming every bad field. */
export function alertToRow(a: StoredAlert): Record<string, unknown> {
  const bad: string[] = [];
  const str = (k: keyof StoredAlert) => { if (typeof a[k] !== 'string' || a[k] === '') bad.push(`${k} must be a non-empty string`); };
  const ms = (k: 'opened_at' | 'updated_at') => { if (!Number.isSafeInteger(a[k]) || a[k] < 0) bad.push(`${k} must be epoch ms, got ${a[k]}`); };
  str('id'); str('subject'); str('model_version');
  if (typeof a.explanation !== 'string') bad.push('explanation must be a string');
  if (a.scope !== 'service' && a.scope !== 'edge') bad.push(`scope must be service or edge, got ${JSON.stringify(a.scope)}`);
  if (a.state !== 'open' && a.state !== 'resolved') bad.push(`state must be open or resolved, got ${JSON.stringify(a.state)}`);
  ms('opened_at'); ms('updated_at');
  if (a.state === 'resolved' ? !(Number.isSafeInteger(a.resolved_at) && (a.resolved_at as number) > 0) : a.resolved_at !== null) {
    bad.push(`resolved_at must be ${a.state === 'resolved' ? 'epoch ms when resolved' : 'null while open'}, got ${a.resolved_at}`);
  }
  for (const k of ['score', 'threshold'] as const) if (!Number.isFinite(a[k])) bad.push(`${k} must be a finite number, got ${a[k]}`);
  if (!Array.isArray(a.features) || a.features.some((f) => typeof f?.name !== 'string' || !Number.isFinite(f.share))) {
    bad.push('features must be [{name, share}]');
  }
  if (bad.length) throw new IngestError('INGEST_ERR_MALFORMED', `alert ${JSON.stringify(a.id)}: ${bad.join('; ')}`);
  return {
    id: a.id, scope: a.scope, subject: a.subject, state: a.state, opened_at: a.opened_at, updated_at: a.updated_at,
    resolved_at: a.resolved_at ?? 0, score: a.score, threshold: a.threshold,
    features: JSON.stringify(a.features.map((f) => ({ name: f.name, share: f.share }))), explanation: a.explanation, model_version: a.model_version,
  };
}

export function rowToAlert(r: Record<string, unknown>): StoredAlert {
  return {
    id: String(r.id), scope: r.scope as StoredAlert['scope'], subject: String(r.subject), state: r.state as StoredAlert['state'],
    opened_at: Number(r.opened_at), updated_at: Number(r.updated_at), resolved_at: Number(r.resolved_at) > 0 ? Number(r.resolved_at) : null,
    score: Number(r.score), threshold: Number(r.threshold), features: JSON.parse(String(r.features || '[]')),
    explanation: String(r.explanation), model_version: String(r.model_version),
  };
}

export interface SeriesStateRow {
  bucket: number; service?: string; src_service?: string; dst_service?: string;
  requests: number; errors: number; latency: (number | null)[]; req_bytes: number; resp_bytes: number; retries: number;
  denies: number;
}

/** The subject of a merged rollup row: the service, or "src→dst" for an edge. */
export const rollupSubject = (r: { service?: string; src_service?: string; dst_service?: string }) => r.service ?? `${r.src_service}→${r.dst_service}`;

/** A merged rollup row as numbers, with its connection count (null: none recorded). Latency quantiles are [p50, p90, p99]. */
export function rowToRollup(r: SeriesStateRow, connections: number | null): RollupRow {
  const q = (i: number) => (typeof r.latency?.[i] === 'number' && Number.isFinite(r.latency[i]) ? r.latency[i] as number : 0);
  return {
    bucket: Number(r.bucket), subject: rollupSubject(r),
    requests: Number(r.requests), errors: Number(r.errors), p50_ms: q(0), p99_ms: q(2),
    req_bytes: Number(r.req_bytes), resp_bytes: Number(r.resp_bytes), retries: Number(r.retries),
    denies: Number(r.denies), connections,
  };
}
