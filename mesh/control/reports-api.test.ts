// /v1/reports on real parts: a control plane over HTTPS with its CA and
// operator token, a ReportService over a real chdb store filled through the
// real collector (policy/compliance/testing/seed-mesh.ts). Refusals issue
// nothing and read nothing; the happy path issues, lists, renders and
// verifies a report.

import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createChdbStore, type TapStore } from '../../ingest/index.ts';
import { BUILTIN_PACKS_DIR, readEmbeddedReport, ReportService, stampOf, type ReportFile, type ReportSummary, type Verdict } from '../../policy/index.ts';
import { seedMesh, type SeededMesh } from '../../policy/compliance/testing/seed-mesh.ts';
import { startTestControl, type TestControl } from './testing/mesh-clients.ts';

const DAY = 86_400_000;
const chromiumMissing = existsSync('/usr/bin/chromium') ? null : 'needs Chromium; run as root: apt-get install -y chromium';

interface Problem { code: string; message: string; problems?: string[] }

describe('the reports API of a control plane with a store', () => {
  let dir: string;
  let store: TapStore;
  let mesh: SeededMesh;
  let service: ReportService;
  let tc: TestControl;
  /** How often the service looked a report up in the store (ids the API should refuse before that). */
  const lookups: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshlens-reports-api-'));
    store = createChdbStore({ dataDir: join(dir, 'data') });
    await store.init();
    mesh = await seedMesh(store, {}, 5);
    // The real store, its report() lookups noted; every other call passes straight through.
    const watched = new Proxy(store, {
      get(target, key) {
        const v = Reflect.get(target, key) as unknown;
        if (key === 'report') return (id: string) => { lookups.push(id); return target.report(id); };
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    service = new ReportService(watched);
    tc = await startTestControl({ reports: { service, packs: { baseline: 'baseline' } } });
  });
  after(async () => {
    await tc?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const period = () => ({ from: mesh.from, until: mesh.until });
  const stored = async () => (await store.reports({ limit: 1000 })).length;

  test('without the token, with a rebinding Host or from a foreign Origin, nothing is listed or issued and each refusal is counted', async () => {
    const port = new URL(tc.cp.url).port;
    const refusedBefore = tc.cp.status().refused_operator_requests;
    const attempts: [string, string, ReturnType<TestControl['anonymous']>, Record<string, string>, number][] = [
      ['GET, no token', 'GET', tc.anonymous(), {}, 401],
      ['POST, wrong token', 'POST', tc.anonymous(), { authorization: 'Bearer guessed' }, 401],
      // A state change with neither Origin nor token is refused as cross-origin before credentials are read.
      ['POST, no token', 'POST', tc.anonymous(), {}, 403],
      ['GET, rebinding Host', 'GET', tc.operator(), { host: `evil.example:${port}` }, 421],
      ['POST, rebinding Host', 'POST', tc.operator(), { host: `evil.example:${port}` }, 421],
      ['POST, foreign Origin', 'POST', tc.operator(), { origin: 'http://evil.example' }, 403],
      ['POST verify, foreign Origin', 'POST', tc.operator(), { origin: 'http://evil.example' }, 403],
    ];
    for (const [what, method, client, headers, status] of attempts) {
      const path = what.includes('verify') ? '/v1/reports/verify' : '/v1/reports';
      const r = await client.request(method, path, method === 'POST' ? period() : undefined, headers);
      assert.equal(r.status, status, `${what}: ${r.body.toString()}`);
      assert.doesNotMatch(r.body.toString(), /rpt-/, `${what}: no report named in the refusal`);
    }
    assert.equal(tc.cp.status().refused_operator_requests - refusedBefore, attempts.length);
    assert.deepEqual(service.counters, { issued: 0, failed: 0, rendered: 0, files_not_recorded: 0 });
    assert.equal(await stored(), 0);
  });

  test('a bad period is refused with 400 MESH_ERR_BAD_REPORT naming each problem, and nothing is issued', async () => {
    const now = Date.now();
    const cases: [string, object, RegExp[]][] = [
      ['until before from', { from: now - 60_000, until: now - 120_000 }, [/^until \(.*\) must be after from/]],
      ['an empty period', { from: now - 60_000, until: now - 60_000 }, [/^until \(.*\) must be after from/]],
      ['longer than 93 days', { from: now - 94 * DAY, until: now }, [/longer than 93 days/]],
      ['from in the future', { from: now + 3_600_000, until: now + 7_200_000 }, [/^from \(.*\) is in the future/]],
      ['strings for times', { from: '2026-01-01', until: 'now' }, [/^from: must be epoch milliseconds, got 2026-01-01/, /^until: must be epoch milliseconds, got now/]],
      ['no times at all', {}, [/^from: must be epoch milliseconds/, /^until: must be epoch milliseconds/]],
      ['a fraction and a negative', { from: -5, until: now + 0.5 }, [/^from: /, /^until: /]],
      ['a bad period and an unknown pack', { from: now, until: now - 1, pack: 'gold' }, [/must be after from/, /^pack: one of baseline$/]],
    ];
    for (const [what, body, expected] of cases) {
      const r = await tc.operator().request('POST', '/v1/reports', body);
      assert.equal(r.status, 400, `${what}: ${r.body.toString()}`);
      const b = r.json<Problem>();
      assert.equal(b.code, 'MESH_ERR_BAD_REPORT', what);
      assert.equal(b.problems?.length, expected.length, `${what}: ${b.message}`);
      expected.forEach((re, i) => assert.match(b.problems![i], re, what));
      for (const p of b.problems!) assert.ok(b.message.includes(p), `${what}: the message carries "${p}"`);
    }
    const notJson = await tc.operator().request('POST', '/v1/reports', '{"from": 1,');
    assert.equal(notJson.status, 400);
    assert.match(notJson.json<Problem>().message, /body is not JSON/);
    assert.deepEqual(service.counters, { issued: 0, failed: 0, rendered: 0, files_not_recorded: 0 });
    assert.equal(await stored(), 0);
  });

  test('a pack given as a path is refused with 400 and no folder is read, even one holding a valid pack', async () => {
    // A copy of the built-in pack: had the API handed this path to loadPack, a report would have been issued from it.
    const copy = join(dir, 'stolen-pack');
    cpSync(join(BUILTIN_PACKS_DIR, 'baseline'), copy, { recursive: true });
    for (const pack of ['../../etc', '/tmp/x', 'baseline/../x', copy, './baseline', 'baseline/', 'constructor', '__proto__', 7]) {
      const r = await tc.operator().request('POST', '/v1/reports', { ...period(), pack });
      assert.equal(r.status, 400, `${JSON.stringify(pack)}: ${r.body.toString()}`);
      assert.deepEqual(r.json<Problem>().problems, ['pack: one of baseline'], JSON.stringify(pack));
    }
    assert.deepEqual(service.counters, { issued: 0, failed: 0, rendered: 0, files_not_recorded: 0 }, 'the service never ran: no pack was loaded');
    assert.equal(await stored(), 0);
  });

  test('an oversized request body is refused: an issue request over 4 KiB with 400, a file to verify over 32 MiB with 413', async () => {
    const big = await tc.operator().request('POST', '/v1/reports', { ...period(), pack: 'baseline', padding: 'x'.repeat(8 * 1024) });
    assert.equal(big.status, 400);
    assert.match(big.json<Problem>().message, /body larger than 4096 bytes/);
    const huge = await tc.operator().request('POST', '/v1/reports/verify', Buffer.alloc(32 * 1024 * 1024 + 1, 0x20));
    assert.equal(huge.status, 413);
    assert.equal(huge.json<Problem>().code, 'MESH_ERR_TOO_LARGE');
    assert.deepEqual(service.counters, { issued: 0, failed: 0, rendered: 0, files_not_recorded: 0 });
    assert.equal(await stored(), 0);
  });

  test('an id that is not a report id is refused before the store is asked; a well-formed unknown id is 404', async () => {
    const before = lookups.length;
    for (const id of ['..%2F..%2Fetc%2Fpasswd', 'rpt-20261207T150000Z-3f9a1c%2F..', 'RPT-20261207T150000Z-3F9A1C', "rpt-x'%20OR%201=1", 'rpt-20261207T150000Z-3f9a1c0', 'x'.repeat(300)]) {
      const r = await tc.operator().request('GET', `/v1/reports/${id}?format=json`);
      assert.ok(r.status === 404 || r.status === 400, `${id}: ${r.status}`);
      assert.doesNotMatch(r.json<Problem>().message, /^no report /, `${id} was looked up`);
    }
    assert.equal(lookups.length, before, 'the store was not asked');
    const unknown = await tc.operator().request('GET', '/v1/reports/rpt-20000101T000000Z-000000?format=json');
    assert.deepEqual([unknown.status, unknown.json<Problem>().code], [404, 'MESH_ERR_NOT_FOUND']);
    assert.deepEqual(lookups.slice(before), ['rpt-20000101T000000Z-000000']);
    const badFormat = await tc.operator().request('GET', '/v1/reports/rpt-20000101T000000Z-000000?format=docx');
    assert.deepEqual([badFormat.status, badFormat.json<Problem>().message], [400, 'format: one of json, html, pdf']);
  });

  describe('an issued report', () => {
    let summary: ReportSummary;
    let json: ReportFile;
    let jsonBytes: Buffer;
    before(async () => {
      const r = await tc.operator().request('POST', '/v1/reports', { ...period(), pack: 'baseline' });
      assert.equal(r.status, 201, r.body.toString());
      summary = r.json<ReportSummary>();
    });

    test('POST answers 201 with its summary, and the list shows it newest first with the packs offered', async () => {
      assert.match(summary.id, /^rpt-\d{8}T\d{6}Z-[0-9a-f]{6}$/);
      assert.deepEqual([summary.from, summary.until, summary.pack, summary.issued_by], [mesh.from, mesh.until, 'baseline', 'api (operator)']);
      assert.ok(summary.totals.pass > 0, JSON.stringify(summary.totals));
      assert.equal(service.counters.issued, 1);
      const list = await tc.operator().request('GET', '/v1/reports');
      assert.equal(list.status, 200);
      const l = list.json<{ reports: ReportSummary[]; packs: string[] }>();
      assert.deepEqual(l.packs, ['baseline']);
      assert.deepEqual(l.reports.map((x) => x.id), [summary.id]);
      assert.deepEqual(l.reports[0].totals, summary.totals);
      assert.equal((await tc.operator().request('GET', '/v1/reports?limit=0')).status, 400);
    });

    test('?format=json is the stamped file: its stamp is the SHA-256 of its canonical body, the header names the file\'s digest', async () => {
      const r = await tc.operator().request('GET', `/v1/reports/${summary.id}?format=json`);
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.match(String(r.headers['content-disposition']), new RegExp(`filename="${summary.id}\\.json"`));
      jsonBytes = r.body;
      json = JSON.parse(r.body.toString('utf8')) as ReportFile;
      assert.equal(json.body.id, summary.id);
      assert.equal(json.sha256, summary.sha256);
      assert.equal(stampOf(json.body), json.sha256);
      const fileDigest = String(r.headers['x-content-sha256']);
      assert.ok((await service.list()).find((x) => x.id === summary.id)!.files.some((f) => f.format === 'json' && f.sha256 === fileDigest));
    });

    test('?format=html carries a strict Content-Security-Policy and embeds the same report', async () => {
      const r = await tc.operator().request('GET', `/v1/reports/${summary.id}?format=html`);
      assert.equal(r.status, 200);
      assert.match(String(r.headers['content-type']), /^text\/html/);
      const csp = String(r.headers['content-security-policy']);
      assert.match(csp, /default-src 'none'/);
      assert.doesNotMatch(csp, /script-src/);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.deepEqual(readEmbeddedReport(r.body.toString('utf8')), json);
    });

    test('?format=pdf is a PDF whose digest the report lists, and it verifies', { skip: chromiumMissing ?? false }, async () => {
      const r = await tc.operator().request('GET', `/v1/reports/${summary.id}?format=pdf`);
      assert.equal(r.status, 200, r.body.toString().slice(0, 300));
      assert.equal(r.headers['content-type'], 'application/pdf');
      assert.equal(r.body.subarray(0, 5).toString('latin1'), '%PDF-');
      const listed = (await service.list()).find((x) => x.id === summary.id)!;
      assert.ok(listed.files.some((f) => f.format === 'pdf' && f.sha256 === r.headers['x-content-sha256']));
      const v = (await tc.operator().request('POST', '/v1/reports/verify', r.body)).json<Verdict>();
      assert.deepEqual([v.verified, v.file, v.id, v.issued, v.store], [true, 'pdf', summary.id, 'yes', 'agrees'], v.differences.join('; '));
    });

    test('POST /v1/reports/verify says verified for the file as issued, and not verified, stamp altered, for an edited copy', async () => {
      const ok = await tc.operator().request('POST', '/v1/reports/verify', jsonBytes);
      assert.equal(ok.status, 200);
      const v = ok.json<Verdict>();
      assert.deepEqual([v.verified, v.file, v.id, v.stamp, v.issued, v.store], [true, 'json', summary.id, 'intact', 'yes', 'agrees'], v.differences.join('; '));
      const edited = structuredClone(json);
      edited.body.totals.fail += 1;
      const bad = (await tc.operator().request('POST', '/v1/reports/verify', JSON.stringify(edited))).json<Verdict>();
      assert.equal(bad.verified, false);
      assert.equal(bad.stamp, 'altered');
      assert.ok(bad.differences.some((d) => /the file was edited/.test(d)), bad.differences.join('; '));
      const junk = (await tc.operator().request('POST', '/v1/reports/verify', 'not a report')).json<Verdict>();
      assert.deepEqual([junk.verified, junk.file], [false, 'unknown']);
    });
  });
});

test('a control plane without reports answers 404 on /v1/reports, even to the operator', async (t) => {
  const tc = await startTestControl();
  t.after(() => tc.close());
  for (const [method, path] of [['GET', '/v1/reports'], ['POST', '/v1/reports'], ['POST', '/v1/reports/verify'], ['GET', '/v1/reports/rpt-20000101T000000Z-000000']]) {
    const r = await tc.operator().request(method, path, method === 'POST' ? { from: 1, until: 2 } : undefined);
    assert.deepEqual([r.status, r.json<Problem>().code], [404, 'MESH_ERR_NOT_FOUND'], `${method} ${path}`);
  }
});
