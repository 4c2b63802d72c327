// `meshlens report` as a user runs it: the real CLI as a child process,
// first alone over a chdb data dir seeded beforehand (it opens the store
// itself), then beside a running `meshlens control` on that data dir (the
// control plane holds the store, so the CLI asks it).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Child, freePorts } from '../demo/index.ts';
import { createChdbStore } from '../ingest/index.ts';
import { stampOf, type ReportFile, type ReportSummary } from '../policy/index.ts';
import { seedMesh, type SeededMesh } from '../policy/compliance/testing/seed-mesh.ts';
import { startControlChild, type ControlChild } from './testing/control-child.ts';

const BIN = fileURLToPath(new URL('../bin/meshlens.js', import.meta.url));
const chromiumMissing = existsSync('/usr/bin/chromium') ? null : 'needs Chromium; run as root: apt-get install -y chromium';

interface Run { code: number | null; stdout: string; stderr: string }

/** `meshlens …` as a child process; resolves with its exit code and output whatever the code. */
function meshlens(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

let dir: string;
let data: string;
let mesh: SeededMesh;
const iso = (ms: number) => new Date(ms).toISOString();
/** The seeded traffic's period, as flags. */
const periodFlags = () => ['--from', iso(mesh.from), '--until', iso(mesh.until)];
const readReport = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as ReportFile;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshlens-report-cli-'));
  data = join(dir, 'data');
  const store = createChdbStore({ dataDir: data });
  await store.init();
  try {
    mesh = await seedMesh(store, {}, 5);
  } finally {
    // chdb allows one process per data dir: the CLI and the control plane open it after this.
    await store.close();
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('with no control plane, the CLI opens the store itself', () => {
  let id: string;
  const json = () => join(dir, 'in-process.json');

  test('--format json --out writes the stamped report of the period, issued by cli, and report list shows it', async () => {
    const r = await meshlens('report', '--data-dir', data, ...periodFlags(), '--format', 'json', '--out', json());
    assert.equal(r.code, 0, r.stderr);
    const report = readReport(json());
    id = report.body.id;
    assert.equal(stampOf(report.body), report.sha256);
    assert.deepEqual([report.body.period, report.body.issued_by, report.body.pack.name], [{ from: mesh.from, until: mesh.until }, 'cli', 'baseline']);
    assert.ok(report.body.totals.pass > 0, JSON.stringify(report.body.totals));
    assert.match(r.stderr, new RegExp(`report ${id} \\(${iso(mesh.from)} \\.\\. ${iso(mesh.until)}\\) written to ${json()}: .*\\b${report.body.totals.pass} pass`));

    const list = await meshlens('report', 'list', '--data-dir', data);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^${id}  .* baseline .*${report.body.totals.pass} pass, .*${report.sha256.slice(0, 16)}…$`, 'm'));
  });

  test('report verify exits 0 and prints VERIFIED for the file as written, and exits 1 with the stamp line for an edited copy', async () => {
    const ok = await meshlens('report', 'verify', json(), '--data-dir', data);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, new RegExp(`: VERIFIED \\(json, ${id}\\)`));
    assert.match(ok.stdout, /stamp: {2}intact\n {2}issued: yes\n {2}store: {2}agrees/);

    const edited = readReport(json());
    edited.body.totals.pass -= 1;
    edited.body.totals.fail += 1;
    const copy = join(dir, 'edited.json');
    writeFileSync(copy, JSON.stringify(edited, null, 2));
    const bad = await meshlens('report', 'verify', copy, '--data-dir', data);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /: NOT VERIFIED \(json, /);
    assert.match(bad.stdout, /^ {2}stamp: {2}altered$/m);
    assert.match(bad.stdout, /the file was edited/);
  });

  test('--format pdf without --out is a usage error (exit 2), and no store is opened', async () => {
    const never = join(dir, 'never-opened');
    const r = await meshlens('report', '--data-dir', never, '--format', 'pdf');
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--out: required for a PDF/);
    assert.equal(existsSync(never), false);
  });

  test('a bad --from or --until is a usage error (exit 2) naming that flag', async () => {
    const never = join(dir, 'never-opened');
    const from = await meshlens('report', '--data-dir', never, '--from', 'yesterday');
    assert.equal(from.code, 2, from.stderr);
    assert.match(from.stderr, /^meshlens report: --from: "yesterday" is neither a duration/m);
    assert.doesNotMatch(from.stderr, /--since|--until/);
    const until = await meshlens('report', '--data-dir', never, '--until', 'soon');
    assert.equal(until.code, 2, until.stderr);
    assert.match(until.stderr, /--until: "soon" is neither/);
    const backwards = await meshlens('report', '--data-dir', never, '--from', '1h', '--until', '2h');
    assert.equal(backwards.code, 2, backwards.stderr);
    assert.match(backwards.stderr, /--until \(.*\) must be later than --from/);
    assert.equal(existsSync(never), false);
  });
});

describe('with meshlens control running on the data dir, the CLI asks it', () => {
  let control: ControlChild;
  const where = () => ['--control', control.url, '--data-dir', data];

  before(async () => { control = await startControlChild(data, []); });
  after(async () => { await control?.stop(); });

  test('the report is issued by the control plane: its list shows issued_by "api (operator)"', async () => {
    const out = join(dir, 'via-control.json');
    const r = await meshlens('report', ...where(), ...periodFlags(), '--out', out);
    assert.equal(r.code, 0, r.stderr);
    const report = readReport(out);
    assert.equal(report.body.issued_by, 'api (operator)');
    const list = await meshlens('report', 'list', '--json', ...where());
    assert.equal(list.code, 0, list.stderr);
    const reports = (JSON.parse(list.stdout) as { reports: ReportSummary[] }).reports;
    assert.equal(reports.find((x) => x.id === report.body.id)?.issued_by, 'api (operator)');
    assert.equal(reports.find((x) => x.issued_by === 'cli')?.pack, 'baseline', 'the report issued in-process before is in the same store');

    // A folder is never sent to a control plane: it offers packs by name only.
    const folder = await meshlens('report', ...where(), ...periodFlags(), '--pack', './my-pack', '--out', join(dir, 'never.json'));
    assert.equal(folder.code, 1);
    assert.match(folder.stderr, /offers packs by name only/);
    assert.equal(existsSync(join(dir, 'never.json')), false);
  });

  test('the PDF written with --out verifies through the control plane (exit 0)', { skip: chromiumMissing ?? false }, async () => {
    const pdf = join(dir, 'via-control.pdf');
    const r = await meshlens('report', ...where(), ...periodFlags(), '--format', 'pdf', '--out', pdf);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(pdf).subarray(0, 5).toString('latin1'), '%PDF-');
    const id = /^report (rpt-\S+) /.exec(r.stderr)?.[1];
    assert.ok(id, r.stderr);
    const v = await meshlens('report', 'verify', pdf, ...where());
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.match(v.stdout, new RegExp(`: VERIFIED \\(pdf, ${id}\\)`));
    assert.match(v.stdout, /issued: yes\n {2}store: {2}agrees/);
  });
});
