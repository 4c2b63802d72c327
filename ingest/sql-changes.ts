// The queries of the config change log and of stored compliance reports
// (tables config_changes and reports, ./sql.ts). Both tables are
// ReplacingMergeTree in every layout (they came after the 'token' one), so
// reads always say FINAL: a change written twice by a retry, or a report
// written again with more files, reads once (a report: its newest write).
// LIMIT n BY and FINAL work on 18.16 and on ClickHouse 26 alike; values
// come in as {name:Type} parameters (./sql-literal.ts on legacy servers).

import { IngestError } from './errors.ts';
import type { ReportQuery } from './stored-report.ts';
import { JSON_NUMBERS } from './sql.ts';

const CHANGE_COLUMNS = 'ts, version, kind, subject, digest, actor, detail';

/** The newest change per (kind, subject) made before {from}. */
export const CHANGES_BEFORE_SQL = `
SELECT ${CHANGE_COLUMNS} FROM (
  SELECT ${CHANGE_COLUMNS} FROM config_changes FINAL WHERE ts < {from:UInt64}
  ORDER BY kind, subject, ts DESC, version DESC LIMIT 1 BY kind, subject
) ORDER BY kind, subject ${JSON_NUMBERS}`;

/** Changes made in [{from}, {until}), oldest first. */
export const CHANGES_DURING_SQL = `
SELECT ${CHANGE_COLUMNS} FROM config_changes FINAL WHERE ts >= {from:UInt64} AND ts < {until:UInt64}
ORDER BY ts, version, kind, subject ${JSON_NUMBERS}`;

/** One report with its body. */
export const REPORT_SQL = `
SELECT id, issued_at, period_from, period_until, pack, sha256, status_counts, body, files, issued_by
FROM reports FINAL WHERE id = {id:String} LIMIT 1 ${JSON_NUMBERS}`;

/** Parameters of configChanges(from, until); throws INGEST_ERR_CONFIG naming every bad one. */
export function changesPeriod(from: number, until: number): { from: number; until: number } {
  const bad: string[] = [];
  for (const [k, v] of [['from', from], ['until', until]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) bad.push(`${k} must be epoch ms (an integer >= 0), got ${v}`);
  }
  if (bad.length === 0 && until < from) bad.push(`until ${until} is before from ${from}`);
  if (bad.length > 0) throw new IngestError('INGEST_ERR_CONFIG', `configChanges: ${bad.join('; ')}`);
  return { from, until };
}

/** The SQL and parameters of reports(q), newest issued first, without bodies; throws INGEST_ERR_CONFIG naming every bad option. */
export function reportsQuery(q: ReportQuery): { sql: string; params: Record<string, unknown> } {
  const bad: string[] = [];
  if (!Number.isInteger(q?.limit) || q.limit < 0 || q.limit > 0xffffffff) bad.push(`limit must be an integer >= 0, got ${q?.limit}`);
  if (q?.since !== undefined && !(Number.isSafeInteger(q.since) && q.since >= 0)) bad.push(`since must be epoch ms (an integer >= 0), got ${q.since}`);
  if (bad.length > 0) throw new IngestError('INGEST_ERR_CONFIG', `reports: ${bad.join('; ')}`);
  const sql = `
SELECT id, issued_at, period_from, period_until, pack, sha256, status_counts, files, issued_by
FROM reports FINAL${q.since === undefined ? '' : ' WHERE issued_at >= {since:UInt64}'}
ORDER BY issued_at DESC, id LIMIT {limit:UInt32} ${JSON_NUMBERS}`;
  return { sql, params: q.since === undefined ? { limit: q.limit } : { since: q.since, limit: q.limit } };
}
