// A compliance report as the store keeps it (policy/compliance/ issues
// them): its stamped body, the figures a list shows, and the digests of
// the files rendered from it. A row of the `reports` table (./sql.ts);
// writing a report again (its `files` grown) replaces the row: the store
// gives each write a newer updated_at, the table's version column.
// Checked before anything is written: the stamp must be the SHA-256 of the
// body, so a stored report always matches its stamp.

import { createHash } from 'node:crypto';
import { epochMsProblem, jsonTextProblem, lineProblem } from './config-change.ts';
import { IngestError } from './errors.ts';

export interface StoredReport {
  id: string;
  issued_at: number;
  /** The report period [from, until), epoch ms. */
  from: number;
  until: number;
  /** The control pack's name. */
  pack: string;
  /** sha256 (hex) of `body`: the report's stamp. */
  sha256: string;
  /** JSON text: {status: count}. */
  status_counts: string;
  /** Canonical JSON text of the report body. */
  body: string;
  /** JSON text: [{format, sha256}] of every file rendered from it. */
  files: string;
  issued_by: string;
}

/** What reports() lists: everything but the body. */
export type ReportSummaryRow = Omit<StoredReport, 'body'>;

export interface ReportQuery {
  /** issued_at >= since (epoch ms). */
  since?: number;
  limit: number;
}

export const REPORT_LIMITS = { idChars: 200, packChars: 1_000, issuedByChars: 200, bodyBytes: 32 * 1024 * 1024, jsonBytes: 65_536 } as const;

const FIELDS = ['id', 'issued_at', 'from', 'until', 'pack', 'sha256', 'status_counts', 'body', 'files', 'issued_by'];
const SHA256_HEX = /^[0-9a-f]{64}$/;
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

const countsShape = (v: unknown) => (isObject(v) && Object.values(v).every((n) => Number.isSafeInteger(n) && (n as number) >= 0)
  ? '' : 'must be a JSON object of counts ({"pass": 3, …})');
const filesShape = (v: unknown) => (Array.isArray(v) && v.every((f) => isObject(f) && typeof f.format === 'string' && f.format !== ''
  && typeof f.sha256 === 'string' && SHA256_HEX.test(f.sha256)) ? '' : 'must be a JSON array of {"format", "sha256"}');
const bodyShape = (v: unknown) => (isObject(v) ? '' : 'must be a JSON object');

/** Every problem of a would-be StoredReport, each naming its field; [] when it may be stored. */
export function storedReportProblems(r: unknown): string[] {
  if (!isObject(r)) return ['report must be an object'];
  const out: string[] = [];
  const add = (field: string, problem: string) => { if (problem) out.push(`${field} ${problem}`); };
  for (const k of Object.keys(r)) if (!FIELDS.includes(k)) out.push(`${k} is not a field of a stored report`);
  add('id', lineProblem(r.id, REPORT_LIMITS.idChars));
  add('pack', lineProblem(r.pack, REPORT_LIMITS.packChars));
  add('issued_by', lineProblem(r.issued_by, REPORT_LIMITS.issuedByChars));
  add('issued_at', epochMsProblem(r.issued_at));
  add('from', epochMsProblem(r.from, 0));
  add('until', epochMsProblem(r.until, 0));
  if (Number.isSafeInteger(r.from) && Number.isSafeInteger(r.until) && (r.until as number) <= (r.from as number)) {
    out.push(`until ${r.until} must be after from ${r.from}`);
  }
  add('status_counts', jsonTextProblem(r.status_counts, REPORT_LIMITS.jsonBytes, countsShape));
  add('files', jsonTextProblem(r.files, REPORT_LIMITS.jsonBytes, filesShape));
  const bodyProblem = jsonTextProblem(r.body, REPORT_LIMITS.bodyBytes, bodyShape);
  add('body', bodyProblem);
  if (typeof r.sha256 !== 'string' || !SHA256_HEX.test(r.sha256)) out.push('sha256 must be a sha256 in lowercase hex');
  else if (!bodyProblem && createHash('sha256').update(r.body as string).digest('hex') !== r.sha256) out.push('sha256 is not the SHA-256 of body');
  return out;
}

/** The reports row of a report, with its version; throws INGEST_ERR_MALFORMED naming every problem. */
export function reportRow(r: StoredReport, updatedAt: number): Record<string, unknown> {
  const problems = storedReportProblems(r);
  if (problems.length > 0) {
    const id = typeof r?.id === 'string' ? JSON.stringify(r.id.slice(0, 80)) : '?';
    throw new IngestError('INGEST_ERR_MALFORMED', `report ${id}: ${problems.join('; ')}`);
  }
  return {
    id: r.id, issued_at: r.issued_at, updated_at: updatedAt, period_from: r.from, period_until: r.until, pack: r.pack, sha256: r.sha256,
    status_counts: r.status_counts, body: r.body, files: r.files, issued_by: r.issued_by,
  };
}

/** A stored row (with or without its body) as the report it was written from. */
export function rowToReport(row: Record<string, unknown>): ReportSummaryRow & { body?: string } {
  const out: ReportSummaryRow & { body?: string } = {
    id: String(row.id), issued_at: Number(row.issued_at), from: Number(row.period_from), until: Number(row.period_until), pack: String(row.pack),
    sha256: String(row.sha256), status_counts: String(row.status_counts), files: String(row.files), issued_by: String(row.issued_by),
  };
  if (row.body !== undefined) out.body = String(row.body);
  return out;
}
