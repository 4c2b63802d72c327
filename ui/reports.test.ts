// Compliance reports through the UI's API, over real sockets, against a real
// chdb store holding the demo shop's sealed taps and a real ReportService
// (the built-in baseline pack and a test pack of hostile strings): issuing,
// listing, the file and its downloads, every refusal, and the taps query
// the report's links into the tap explorer make.
// One store per file: chdb allows one data directory per process.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChdbStore, type TapStore } from '../ingest/index.ts';
import { canonicalJson, ReportService, type ReportFile } from '../policy/index.ts';
import { startUi, type RunningUi } from './index.ts';
import { HOSTILE_CALLS, HOSTILE_PATH, HOSTILE_SUMMARY, writeHostilePack } from './testing/report-pack.ts';
import { shopTrafficBatches } from './testing/shop-traffic.ts';

let dir: string;
let store: TapStore;
let ui: RunningUi;
let bare: RunningUi;
let gated: RunningUi;
let gate: Gate;
const until = Math.floor(Date.now() / 1000) * 1000;
const from = until - 3_600_000;
const DAY = 86_400_000;

/** A promise the test resolves by hand. */
function latch(): { open: () => void; wait: Promise<void> } {
  let open = () => {};
  const wait = new Promise<void>((r) => { open = r; });
  return { open, wait };
}
interface Gate { entered: ReturnType<typeof latch>; release: ReturnType<typeof latch> }

/** The real service, holding each issue until the test releases it: to see a second request while one runs. */
class GatedReports extends ReportService {
  override async issue(...args: Parameters<ReportService['issue']>): Promise<ReportFile> {
    gate.entered.open();
    await gate.release.wait;
    return super.issue(...args);
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshlens-ui-reports-'));
  store = createChdbStore({ dataDir: join(dir, 'chdb') });
  await store.init();
  for (const b of shopTrafficBatches({ now: until - 60_000, calls: HOSTILE_CALLS })) await store.writeBatch(b);
  const packs = { baseline: 'baseline', echo: await writeHostilePack(dir) };
  ui = await startUi({ store, port: 0, reports: { service: new ReportService(store), packs }, log: () => {} });
  bare = await startUi({ store, port: 0, log: () => {} });
  gate = { entered: latch(), release: latch() };
  gated = await startUi({ store, port: 0, reports: { service: new GatedReports(store), packs }, log: () => {} });
});

after(async () => {
  await ui?.close();
  await bare?.close();
  await gated?.close();
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

interface Answer { status: number; headers: http.IncomingHttpHeaders; bytes: Buffer; body: any }

/** One request with exactly these headers (Host defaults to the server's own; a script's Bearer token unless told otherwise). */
function send(server: RunningUi, method: string, path: string, opts: { headers?: Record<string, string>; body?: string; auth?: boolean } = {}): Promise<Answer> {
  const port = Number(new URL(server.url).port);
  const headers: Record<string, string> = { host: `127.0.0.1:${port}`, ...(opts.auth === false ? {} : { authorization: `Bearer ${server.token}` }), ...opts.headers };
  if (opts.body !== undefined) headers['content-type'] ??= 'application/json';
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, setHost: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const json = String(res.headers['content-type']).includes('json');
        resolve({ status: res.statusCode!, headers: res.headers, bytes, body: json ? JSON.parse(bytes.toString('utf8')) : undefined });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const post = (server: RunningUi, body: unknown, headers: Record<string, string> = {}) =>
  send(server, 'POST', '/api/reports', { body: typeof body === 'string' ? body : JSON.stringify(body), headers });
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

let issued: { id: string; sha256: string };

test('GET /api/reports offers the packs by name and lists no report before one is issued', async () => {
  const r = await send(ui, 'GET', '/api/reports');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { reports: [], packs: ['baseline', 'echo'] });
});

test('POST /api/reports issues a report of the first pack over the period, as "operator (ui)", and answers 201 with its summary', async () => {
  const r = await post(ui, { from, until });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.match(r.body.id, /^rpt-[0-9TZ]{16}-[0-9a-f]{6}$/);
  assert.deepEqual([r.body.from, r.body.until, r.body.pack, r.body.issued_by, r.body.files], [from, until, 'baseline', 'operator (ui)', []]);
  assert.match(r.body.sha256, /^[0-9a-f]{64}$/);
  const t = r.body.totals;
  assert.deepEqual(Object.keys(t).sort(), ['fail', 'insufficient_evidence', 'not_applicable', 'pass']);
  assert.ok(t.fail >= 1, `the shop's traffic has no mTLS, so at least that control fails: ${JSON.stringify(t)}`);
  issued = r.body;
  const list = await send(ui, 'GET', '/api/reports');
  assert.deepEqual(list.body.reports.map((x: { id: string }) => x.id), [issued.id]);
  assert.deepEqual(list.body.reports[0].totals, t);
});

test('GET /api/reports/<id> is the stamped report file: its sha256 is that of the canonical body', async () => {
  const r = await send(ui, 'GET', `/api/reports/${issued.id}`);
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  assert.equal(r.headers['content-disposition'], undefined, 'the page reads it in place');
  const file = r.body as ReportFile;
  assert.equal(file.sha256, issued.sha256);
  assert.equal(sha256(canonicalJson(file.body)), file.sha256);
  assert.equal(file.body.id, issued.id);
  assert.deepEqual(file.body.period, { from, until });
  const mtls = file.body.controls.find((c) => c.id === 'mtls');
  assert.equal(mtls?.status, 'fail');
  assert.ok(mtls!.counterexamples.length > 0 && mtls!.counterexamples.every((c) => typeof c.proxy === 'string' && Number.isInteger(c.seq)), 'plaintext requests, named by stored tap');
  assert.equal(r.headers['x-content-sha256'], sha256(r.bytes));
});

test('the HTML, PDF and JSON downloads are attachments named by the id; the HTML runs no script and loads nothing', async () => {
  const html = await send(ui, 'GET', `/api/reports/${issued.id}/html`);
  assert.equal(html.status, 200);
  assert.equal(html.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(html.headers['content-disposition'], `attachment; filename="${issued.id}.html"`);
  assert.equal(html.headers['content-security-policy'], "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
  assert.equal(html.headers['x-content-type-options'], 'nosniff');
  assert.ok(html.bytes.toString('utf8').includes(issued.sha256), 'the page names its stamp');
  assert.equal(html.headers['x-content-sha256'], sha256(html.bytes));

  const json = await send(ui, 'GET', `/api/reports/${issued.id}/json`);
  assert.equal(json.headers['content-disposition'], `attachment; filename="${issued.id}.json"`);
  assert.equal(json.body.sha256, issued.sha256);

  const pdf = await send(ui, 'GET', `/api/reports/${issued.id}/pdf`);
  assert.equal(pdf.status, 200, pdf.bytes.toString('utf8').slice(0, 300));
  assert.equal(pdf.headers['content-type'], 'application/pdf');
  assert.equal(pdf.headers['content-disposition'], `attachment; filename="${issued.id}.pdf"`);
  assert.equal(pdf.bytes.subarray(0, 5).toString('latin1'), '%PDF-');

  const listed = (await send(ui, 'GET', '/api/reports')).body.reports[0];
  assert.deepEqual(new Set(listed.files.map((f: { format: string }) => f.format)), new Set(['json', 'html', 'pdf']), 'every file handed out is recorded');
  assert.ok(listed.files.some((f: { format: string; sha256: string }) => f.format === 'pdf' && f.sha256 === sha256(pdf.bytes)));
});

test('a report of a pack chosen by name carries the network\'s strings as they were: the page must show them as text', async () => {
  const r = await post(ui, { from, until, pack: 'echo' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.pack, 'echo');
  const file = (await send(ui, 'GET', `/api/reports/${r.body.id}`)).body as ReportFile;
  const [c] = file.body.controls;
  assert.equal(c.status, 'fail');
  assert.equal(c.summary, `${HOSTILE_SUMMARY} ${HOSTILE_PATH}`);
  assert.equal(c.counterexamples[0].path, HOSTILE_PATH);
});

test('a bad report request is 400 UI_ERR_BAD_PARAM naming every problem, and issues nothing', async () => {
  const before = (await send(ui, 'GET', '/api/reports')).body.reports.length;
  const cases: [unknown, string[]][] = [
    [{}, ['from: missing (epoch milliseconds)', 'until: missing (epoch milliseconds)']],
    [{ from: 'yesterday', until: 1.5, colour: 'red' }, ['body: unknown field "colour"', 'from: must be epoch milliseconds, got yesterday', 'until: must be epoch milliseconds, got 1.5']],
    [{ from: until, until: from }, [`until (${new Date(from).toISOString()}) must be after from (${new Date(until).toISOString()})`]],
    [{ from: until - 94 * DAY, until, pack: 'nope' }, ['the period is longer than 93 days; issue one report per shorter period', 'pack: must be one of baseline, echo, got "nope"']],
    [{ from: until + 10 * DAY, until: until + 11 * DAY }, [`from (${new Date(until + 10 * DAY).toISOString()}) is in the future`]],
    [{ from, until, pack: '../../etc' }, ['pack: must be one of baseline, echo, got "../../etc"']],
    [[from, until], ['body: must be a JSON object {"from", "until", "pack"?} sent as application/json']],
  ];
  for (const [body, problems] of cases) {
    const r = await post(ui, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.code, 'UI_ERR_BAD_PARAM');
    assert.deepEqual(r.body.problems, problems, JSON.stringify(body));
    assert.equal(r.body.message, `report: ${problems.join('; ')}`);
  }
  const broken = await post(ui, '{"from":');
  assert.equal(broken.status, 400, 'broken JSON');
  const form = await send(ui, 'POST', '/api/reports', { body: `from=${from}&until=${until}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.deepEqual([form.status, form.body.problems], [400, ['body: must be a JSON object {"from", "until", "pack"?} sent as application/json']]);
  assert.equal((await send(ui, 'GET', '/api/reports')).body.reports.length, before);
});

test('report ids that are not rpt-<time>-<hex> are 400, an unknown one 404, an unknown format 400, another method 405', async () => {
  for (const id of ['x', 'rpt-20260309T060000Z-3F9A1C', `${'rpt-20260309T060000Z-3f9a1c'}0`, '..%2F..%2Fetc', "rpt-' OR 1=1 --"]) {
    const r = await send(ui, 'GET', `/api/reports/${encodeURIComponent(id).replace(/%25/g, '%')}`);
    assert.equal(r.status, 400, id);
    assert.equal(r.body.code, 'UI_ERR_BAD_PARAM', id);
    assert.match(r.body.message, /report id must look like rpt-/);
  }
  const unknown = await send(ui, 'GET', '/api/reports/rpt-20200101T000000Z-000000/html');
  assert.deepEqual([unknown.status, unknown.body], [404, { code: 'UI_ERR_NOT_FOUND', message: 'no report rpt-20200101T000000Z-000000' }]);
  const format = await send(ui, 'GET', `/api/reports/${issued.id}/docx`);
  assert.deepEqual([format.status, format.body.message], [400, 'report format must be one of json, html, pdf']);
  for (const [method, path, allow] of [['DELETE', `/api/reports/${issued.id}`, 'GET'], ['PUT', '/api/reports', 'GET, POST'], ['POST', `/api/reports/${issued.id}/html`, 'GET']]) {
    const r = await send(ui, method, path, { headers: { origin: ui.url } });
    assert.equal(r.status, 405, `${method} ${path}`);
    assert.equal(r.headers.allow, allow);
  }
  assert.equal((await send(ui, 'GET', '/api/reports?limit=0')).status, 400);
  assert.equal((await send(ui, 'GET', '/api/reports?evil=1')).status, 400);
});

test('while a report is being issued another request is 409 UI_ERR_CONFLICT; the first one completes', async () => {
  const first = post(gated, { from, until, pack: 'echo' });
  await gate.entered.wait;
  const second = await post(gated, { from, until, pack: 'echo' });
  gate.release.open();
  assert.equal(second.status, 409);
  assert.equal(second.body.code, 'UI_ERR_CONFLICT');
  assert.match(second.body.message, /^a report is being issued \(.* pack echo\); wait for it, then ask again$/);
  assert.equal((await first).status, 201);
  assert.equal((await post(gated, { from, until, pack: 'echo' })).status, 201, 'and the next one is taken again');
});

test('without a report service every reports route is 503 UI_ERR_NO_REPORTS', async () => {
  for (const [method, path] of [['GET', '/api/reports'], ['POST', '/api/reports'], ['GET', `/api/reports/${issued.id}`], ['GET', `/api/reports/${issued.id}/pdf`]]) {
    const r = method === 'POST' ? await post(bare, { from, until }) : await send(bare, method, path);
    assert.equal(r.status, 503, `${method} ${path}`);
    assert.equal(r.body.code, 'UI_ERR_NO_REPORTS');
    assert.match(r.body.message, /no report service runs in this process/);
  }
});

test('without the token, from a foreign Origin or through a rebinding Host nothing is listed, read or issued', async () => {
  const port = Number(new URL(ui.url).port);
  const before = (await send(ui, 'GET', '/api/reports')).body.reports.length;
  for (const path of ['/api/reports', `/api/reports/${issued.id}`, `/api/reports/${issued.id}/html`, `/api/reports/${issued.id}/pdf`]) {
    const r = await send(ui, 'GET', path, { auth: false });
    assert.deepEqual([r.status, r.body.code], [401, 'UI_ERR_UNAUTHENTICATED'], path);
    const rebound = await send(ui, 'GET', path, { headers: { host: `evil.example:${port}` } });
    assert.deepEqual([rebound.status, rebound.body.code], [421, 'UI_ERR_HOST_NOT_ALLOWED'], path);
  }
  const cookie = `meshlens_ui_${port}=${ui.token}`;
  const attempts: [string, Record<string, string>, boolean, number, string][] = [
    ['no credentials', { origin: ui.url }, false, 401, 'UI_ERR_UNAUTHENTICATED'],
    ['a wrong token', { origin: ui.url, authorization: `Bearer ${'x'.repeat(43)}` }, true, 401, 'UI_ERR_UNAUTHENTICATED'],
    ['a foreign Origin with the token', { origin: 'https://evil.example' }, true, 403, 'UI_ERR_ORIGIN_NOT_ALLOWED'],
    ['a foreign Origin with the cookie', { origin: 'http://evil.example', cookie }, false, 403, 'UI_ERR_ORIGIN_NOT_ALLOWED'],
    ['the cookie and no Origin', { cookie }, false, 403, 'UI_ERR_ORIGIN_NOT_ALLOWED'],
    ['a cross-site fetch', { cookie, origin: ui.url, 'sec-fetch-site': 'cross-site' }, false, 403, 'UI_ERR_CROSS_SITE'],
    ['a rebinding Host', { host: `evil.example:${port}` }, true, 421, 'UI_ERR_HOST_NOT_ALLOWED'],
  ];
  for (const [what, headers, auth, status, code] of attempts) {
    const r = await send(ui, 'POST', '/api/reports', { body: JSON.stringify({ from, until }), headers, auth });
    assert.deepEqual([r.status, r.body.code], [status, code], what);
  }
  assert.equal((await send(ui, 'GET', '/api/reports')).body.reports.length, before, 'no report was issued');
});

test('GET /api/taps?proxy=&since=&until= reads the taps of a proxy in [since, until), newest first: the tap explorer around a counterexample', async () => {
  const all = (await send(ui, 'GET', '/api/taps?proxy=search-1&limit=10')).body.taps as { ts: number; seq: number; path: string }[];
  assert.equal(all.length, 3);
  assert.ok(all.every((t) => t.path === HOSTILE_PATH));
  const [newest, middle, oldest] = all;
  const upTo = await send(ui, 'GET', `/api/taps?proxy=search-1&until=${middle.ts + 1}`);
  assert.deepEqual(upTo.body.taps.map((t: { seq: number }) => t.seq), [middle.seq, oldest.seq], 'the pointed tap and what came before');
  const after = await send(ui, 'GET', `/api/taps?proxy=search-1&since=${middle.ts + 1}&until=${newest.ts + 1}`);
  assert.deepEqual(after.body.taps.map((t: { seq: number }) => t.seq), [newest.seq]);
  for (const [q, message] of [['since=soon', /parameter since must be epoch milliseconds/], ['until=-1', /parameter until must be epoch milliseconds/],
    [`since=${middle.ts}&until=${middle.ts}`, /parameter until \(\d+\) must be after since \(\d+\)/]] as const) {
    const r = await send(ui, 'GET', `/api/taps?proxy=search-1&${q}`);
    assert.equal(r.status, 400, q);
    assert.match(r.body.message, message);
  }
});
