// Reports as a service: issue one (evidence, controls, stamp), keep it in
// the store, list them, render one as JSON, HTML or PDF. The control
// plane's /v1/reports, `meshlens report` without a control plane, and the
// schedule in `meshlens up` all go through here, so a report is issued and
// stored the same way whoever asks.
//
// Every rendered file's SHA-256 is added to the stored report's `files`:
// a PDF is not byte-for-byte reproducible (Chromium writes the time into
// it), so `report verify` recognises a PDF by its digest among the files
// issued, and an HTML or JSON file by the body it carries.

import type { TrustBundle } from '../../identity/index.ts';
import type { StoredReport, TapStore } from '../../ingest/index.ts';
import { parseFiles, type ReportFile } from './contract.ts';
import type { EvidenceSource, Period } from './evidence.ts';
import { loadPack } from './pack.ts';
import { renderHtml, type HtmlOptions } from './render-html.ts';
import { renderPdf } from './render-pdf.ts';
import { issueReport } from './report.ts';
import { canonicalJson, sha256Hex } from './stamp.ts';
import { verifyReport, type Verdict } from './verify.ts';

export const REPORT_FORMATS = ['json', 'html', 'pdf'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export type ReportStore = EvidenceSource & Pick<TapStore, 'writeReport' | 'reports' | 'report'>;

export interface RenderedReport { format: ReportFormat; bytes: Buffer; contentType: string; sha256: string }

export interface ReportSummary {
  id: string; issued_at: number; issued_by: string; from: number; until: number; pack: string; sha256: string;
  totals: Record<string, number>; files: { format: string; sha256: string }[];
}

/** Digests of rendered files a stored report lists. */
const MAX_FILES = 32;
const CONTENT_TYPES: Record<ReportFormat, string> = { json: 'application/json', html: 'text/html; charset=utf-8', pdf: 'application/pdf' };

export class ReportService {
  readonly counters = { issued: 0, failed: 0, rendered: 0, files_not_recorded: 0 };

  /** `trust`: the mesh's CA bundle; with it every report (and every verify) checks the stored signatures again. */
  constructor(private readonly store: ReportStore, private readonly opts: { html?: HtmlOptions; chromiumPath?: string; now?: () => number; trust?: () => TrustBundle } = {}) {}

  /** Issues and stores a report of `pack` (a built-in name or a folder) over `period`. */
  async issue(period: Period, pack: string, issuedBy: string): Promise<ReportFile> {
    try {
      const { report } = await issueReport(this.store, { pack: loadPack(pack), period, issuedBy, now: this.opts.now, trust: this.opts.trust });
      const b = report.body;
      await this.store.writeReport({
        id: b.id, issued_at: b.issued_at, issued_by: b.issued_by, from: b.period.from, until: b.period.until, pack: b.pack.name,
        sha256: report.sha256, status_counts: JSON.stringify(b.totals), body: canonicalJson(b), files: '[]',
      });
      this.counters.issued++;
      return report;
    } catch (e) {
      this.counters.failed++;
      throw e;
    }
  }

  async list(limit = 100): Promise<ReportSummary[]> {
    return (await this.store.reports({ limit })).map(summary);
  }

  /** A stored report, or null. */
  async get(id: string): Promise<ReportFile | null> {
    const r = await this.store.report(id);
    return r ? { body: JSON.parse(r.body) as ReportFile['body'], sha256: r.sha256 } : null;
  }

  /** Whether a report file is the one issued here, and whether the store still agrees (./verify.ts). */
  verify(bytes: Buffer): Promise<Verdict> {
    return verifyReport(bytes, this.store, this.opts.trust);
  }

  /** A stored report rendered in `format`, its digest recorded among the report's files; null for an unknown id. */
  async render(id: string, format: ReportFormat): Promise<RenderedReport | null> {
    const stored = await this.store.report(id);
    if (!stored) return null;
    const report: ReportFile = { body: JSON.parse(stored.body) as ReportFile['body'], sha256: stored.sha256 };
    const bytes = await renderReport(report, format, this.opts);
    const sha256 = sha256Hex(bytes);
    const files = parseFiles(stored.files);
    // Renders are deterministic (a PDF's dates are the report's), so one report lists a file per format;
    // past MAX_FILES (a renderer upgrade each week…) a new digest is counted, not stored.
    if (!files.some((f) => f.sha256 === sha256)) {
      if (files.length < MAX_FILES) {
        files.push({ format, sha256 });
        await this.store.writeReport({ ...stored, files: JSON.stringify(files) });
      } else {
        this.counters.files_not_recorded++;
      }
    }
    this.counters.rendered++;
    return { format, bytes, contentType: CONTENT_TYPES[format], sha256 };
  }
}

/** A report file's bytes in one format (JSON: the stamped file, pretty-printed). */
export async function renderReport(report: ReportFile, format: ReportFormat, opts: { html?: HtmlOptions; chromiumPath?: string } = {}): Promise<Buffer> {
  if (format === 'json') return Buffer.from(`${JSON.stringify(report, null, 2)}\n`);
  const html = renderHtml(report, opts.html ?? {});
  if (format === 'html') return Buffer.from(html);
  return renderPdf(html, { chromiumPath: opts.chromiumPath });
}


function summary(r: Omit<StoredReport, 'body'> & { body?: string }): ReportSummary {
  let totals: Record<string, number> = {};
  try { totals = JSON.parse(r.status_counts) as Record<string, number>; } catch { /* shown as {} */ }
  return { id: r.id, issued_at: r.issued_at, issued_by: r.issued_by, from: r.from, until: r.until, pack: r.pack, sha256: r.sha256, totals, files: parseFiles(r.files) };
}
