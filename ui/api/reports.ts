// Compliance reports from the page (policy/compliance's ReportService in this process):
//
//   GET  /api/reports?limit=            {reports: [summary, newest first], packs: [offered names]}; limit 1..1000 (100)
//   POST /api/reports                   body {from, until, pack?} (epoch ms, half-open; pack: an offered name,
//                                       default the first) -> 201 the issued report's summary;
//                                       400 UI_ERR_BAD_PARAM with `problems` naming every one;
//                                       409 UI_ERR_CONFLICT while another one is being issued
//   GET  /api/reports/<id>              the report file {body, sha256}, as `meshlens report` writes it
//   GET  /api/reports/<id>/html|pdf|json  the same as a download (attachment; the HTML with a CSP
//                                       that lets no script run and nothing load)
//
// Ids are rpt-<UTC time>-<6 hex>; anything else is 400, an unknown one 404.
// Without a report service here every route is 503 UI_ERR_NO_REPORTS. Packs
// are offered by name only: a name from the network never becomes a folder
// to read. Issuing runs every control over the store, so one at a time.

import express, { Router, type Request, type Response } from 'express';
import { periodProblems, REPORT_FORMATS, type ReportFile, type ReportFormat, type ReportService, type ReportSummary } from '../../policy/index.ts';
import { REPORT_ID } from '../graph/index.ts';
import { UiError } from './errors.ts';
import { intParam, onlyParams } from './params.ts';
import { UI_ACTOR } from './tuning.ts';

export interface ReportsControl {
  service: ReportService;
  /** Pack names the page may choose → what the service loads (a built-in name or a folder). */
  packs: Record<string, string>;
}

const MAX_BODY = '4kb';
const BODY_FIELDS = ['from', 'until', 'pack'];
/** The HTML report is a document, not an app: no script, no fetch, no frame, its own inline styles only. */
const HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";

export function reportRouter(reports: ReportsControl | undefined, now: () => number): Router {
  const r = Router();
  const service = (): ReportsControl => {
    if (!reports) throw new UiError('UI_ERR_NO_REPORTS', 'no report service runs in this process (meshlens up and meshlens control start one when they have a store)');
    return reports;
  };
  let issuing: string | null = null;

  r.get('/reports', async (req, res) => {
    const s = service();
    onlyParams(req.query, ['limit']);
    const limit = intParam(req.query, 'limit', 100, 1, 1000);
    res.json({ reports: await s.service.list(limit), packs: Object.keys(s.packs) });
  });

  r.post('/reports', express.json({ limit: MAX_BODY }), async (req, res) => {
    const s = service();
    const { from, until, pack } = issueRequest(req, s.packs, now());
    if (issuing) throw new UiError('UI_ERR_CONFLICT', `a report is being issued (${issuing}); wait for it, then ask again`);
    issuing = `${new Date(from).toISOString()} to ${new Date(until).toISOString()}, pack ${pack}`;
    try {
      res.status(201).json(summaryOf(await s.service.issue({ from, until }, s.packs[pack], UI_ACTOR)));
    } finally {
      issuing = null;
    }
  });

  r.get('/reports/:id', async (req, res) => {
    const out = await rendered(service(), req.params.id, 'json');
    res.type('application/json').set('x-content-sha256', out.sha256).send(out.bytes);
  });

  r.get('/reports/:id/:format', async (req, res) => {
    const s = service();
    const format = req.params.format as ReportFormat;
    if (!REPORT_FORMATS.includes(format)) throw new UiError('UI_ERR_BAD_PARAM', `report format must be one of ${REPORT_FORMATS.join(', ')}`);
    download(res, req.params.id, await rendered(s, req.params.id, format));
  });

  const only = (path: string, allow: string) => r.all(path, (req, res) => {
    res.set('allow', allow);
    throw new UiError('UI_ERR_METHOD_NOT_ALLOWED', `${req.method} /api${req.path}: this route takes ${allow}`);
  });
  only('/reports', 'GET, POST');
  only('/reports/:id', 'GET');
  only('/reports/:id/:format', 'GET');
  return r;
}

async function rendered(s: ReportsControl, rawId: string, format: ReportFormat) {
  if (!REPORT_ID.test(rawId)) throw new UiError('UI_ERR_BAD_PARAM', 'report id must look like rpt-20261207T150000Z-3f9a1c');
  const out = await s.service.render(rawId, format);
  if (!out) throw new UiError('UI_ERR_NOT_FOUND', `no report ${rawId}`);
  return out;
}

function download(res: Response, id: string, out: { format: ReportFormat; bytes: Buffer; contentType: string; sha256: string }): void {
  res.set({
    'content-type': out.contentType,
    'content-disposition': `attachment; filename="${id}.${out.format}"`,
    'x-content-sha256': out.sha256,
  });
  if (out.format === 'html') res.set('content-security-policy', HTML_CSP);
  res.send(out.bytes);
}

/** The body's shape and the period's sense, every problem at once. */
function issueRequest(req: Request, packs: Record<string, string>, now: number): { from: number; until: number; pack: string } {
  const b = req.body as Record<string, unknown> | undefined;
  const names = Object.keys(packs);
  const fail = (problems: string[]) => new UiError('UI_ERR_BAD_PARAM', `report: ${problems.join('; ')}`, { problems });
  if (b === null || typeof b !== 'object' || Array.isArray(b)) {
    throw fail(['body: must be a JSON object {"from", "until", "pack"?} sent as application/json']);
  }
  const p = Object.keys(b).filter((k) => !BODY_FIELDS.includes(k)).map((k) => `body: unknown field ${JSON.stringify(k.slice(0, 64))}`);
  for (const k of ['from', 'until'] as const) {
    if (b[k] === undefined) p.push(`${k}: missing (epoch milliseconds)`);
  }
  if (b.from !== undefined && b.until !== undefined) p.push(...periodProblems({ from: b.from as number, until: b.until as number }, now));
  if (b.pack !== undefined && (typeof b.pack !== 'string' || !Object.hasOwn(packs, b.pack))) {
    p.push(`pack: must be one of ${names.join(', ') || '(none offered)'}, got ${JSON.stringify(b.pack)?.slice(0, 64)}`);
  }
  if (b.pack === undefined && names.length === 0) p.push('pack: this process offers no control pack');
  if (p.length) throw fail(p);
  return { from: b.from as number, until: b.until as number, pack: (b.pack as string | undefined) ?? names[0] };
}

/** What GET /api/reports lists, from the file just issued (its files are rendered later, on download). */
function summaryOf(f: ReportFile): ReportSummary {
  const b = f.body;
  return {
    id: b.id, issued_at: b.issued_at, issued_by: b.issued_by, from: b.period.from, until: b.period.until, pack: b.pack.name,
    sha256: f.sha256, totals: { ...b.totals }, files: [],
  };
}
