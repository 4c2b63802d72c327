// The operator API for compliance reports (policy/compliance). The server
// has authenticated the operator (Host, Origin, token) before any of this.
//
//   GET  /v1/reports?limit=            -> 200 {reports: [summary, newest first]}
//   POST /v1/reports                   body {from, until, pack?} (epoch ms; pack: a name the control
//                                      plane offers, default the first) -> 201 summary of the issued report;
//                                      400 MESH_ERR_BAD_REPORT naming every problem
//   GET  /v1/reports/<id>?format=json|html|pdf -> 200 the report file; 404 unknown
//   POST /v1/reports/verify            body: a report file (JSON, HTML or PDF, ≤ 32 MiB)
//                                      -> 200 the verdict (verified: true|false, and why)
//
// Packs are offered by name only (the built-in ones and those given at
// start): a path from the network never names a folder to read.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { periodProblems, REPORT_FORMATS, type ReportFormat, type ReportService } from '../../policy/index.ts';
import { readBytes, readJson, reply } from './http-json.ts';

export interface ReportsApi {
  service: ReportService;
  /** Pack names accepted from the network → what loadPack is given (a built-in name or a folder). */
  packs: Record<string, string>;
}

export const REPORTS_PATH = '/v1/reports';
const MAX_REQUEST_BYTES = 4 * 1024;
const MAX_VERIFY_BYTES = 32 * 1024 * 1024;
const ID = /^rpt-[0-9TZ]{16}-[0-9a-f]{6}$/;

export const isReportsPath = (pathname: string): boolean => pathname === REPORTS_PATH || pathname.startsWith(`${REPORTS_PATH}/`);

export async function serveReports(req: IncomingMessage, res: ServerResponse, url: URL, api: ReportsApi): Promise<void> {
  const r = `${req.method} ${url.pathname}`;
  const bad = (status: number, code: string, message: string, extra: object = {}) => { req.resume(); reply(res, status, { code, message, ...extra }); };
  if (r === `GET ${REPORTS_PATH}`) {
    const limit = Number(url.searchParams.get('limit') ?? 100);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return bad(400, 'MESH_ERR_BAD_REQUEST', 'limit: an integer in 1..1000');
    return reply(res, 200, { reports: await api.service.list(limit), packs: Object.keys(api.packs) });
  }
  if (r === `POST ${REPORTS_PATH}`) {
    return readJson(req, MAX_REQUEST_BYTES, (err, body) => {
      void (async () => {
        const b = (body ?? {}) as { from?: unknown; until?: unknown; pack?: unknown };
        const problems = err ? [err] : issueProblems(b, api.packs);
        if (problems.length) return reply(res, 400, { code: 'MESH_ERR_BAD_REPORT', message: problems.join('; '), problems });
        const pack = b.pack === undefined ? Object.keys(api.packs)[0] : String(b.pack);
        try {
          const report = await api.service.issue({ from: b.from as number, until: b.until as number }, api.packs[pack], 'api (operator)');
          const s = (await api.service.list(50)).find((x) => x.id === report.body.id);
          reply(res, 201, s ?? { id: report.body.id, sha256: report.sha256, totals: report.body.totals });
        } catch (e) {
          reply(res, 500, { code: 'MESH_ERR_REPORT_FAILED', message: (e as Error).message });
        }
      })();
    });
  }
  if (r === `POST ${REPORTS_PATH}/verify`) {
    return readBytes(req, MAX_VERIFY_BYTES, (tooLarge, bytes) => {
      if (tooLarge) return reply(res, 413, { code: 'MESH_ERR_TOO_LARGE', message: `a report file is at most ${MAX_VERIFY_BYTES} bytes` });
      api.service.verify(bytes).then((v) => reply(res, 200, v), (e: Error) => reply(res, 500, { code: 'MESH_ERR_VERIFY_FAILED', message: e.message }));
    });
  }
  const id = url.pathname.slice(REPORTS_PATH.length + 1);
  if (req.method === 'GET' && ID.test(id)) {
    const format = (url.searchParams.get('format') ?? 'json') as ReportFormat;
    if (!REPORT_FORMATS.includes(format)) return bad(400, 'MESH_ERR_BAD_REQUEST', `format: one of ${REPORT_FORMATS.join(', ')}`);
    const out = await api.service.render(id, format);
    if (!out) return bad(404, 'MESH_ERR_NOT_FOUND', `no report ${id}`);
    res.writeHead(200, {
      'content-type': out.contentType, 'content-length': out.bytes.length, 'x-content-sha256': out.sha256,
      'content-disposition': `attachment; filename="${id}.${format}"`, 'x-content-type-options': 'nosniff',
      ...(format === 'html' ? { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:" } : {}),
    });
    res.end(out.bytes);
    return;
  }
  return bad(req.method === 'GET' || req.method === 'POST' ? 404 : 405, req.method === 'GET' || req.method === 'POST' ? 'MESH_ERR_NOT_FOUND' : 'MESH_ERR_METHOD',
    `no route for ${r.slice(0, 200)}`);
}

function issueProblems(b: { from?: unknown; until?: unknown; pack?: unknown }, packs: Record<string, string>): string[] {
  const p = periodProblems({ from: b.from as number, until: b.until as number }, Date.now());
  if (b.pack !== undefined && (typeof b.pack !== 'string' || !Object.hasOwn(packs, b.pack))) {
    p.push(`pack: one of ${Object.keys(packs).join(', ')}`);
  }
  return p;
}
