// Reports over a real chdb store filled through the real collector: a
// clean period passes every control that applies, and a period seeded with
// known violations gets exactly those flagged, each with the taps that
// broke it among its counterexamples.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createChdbStore, type TapStore } from '../../ingest/index.ts';
import { tamperStoredChain, tamperStoredRow } from '../../ingest/testing/tamper.ts';
import type { ControlResult } from './contract.ts';
import { loadPack } from './pack.ts';
import { issueReport } from './report.ts';
import { ReportService } from './reports.ts';
import { stampOf } from './stamp.ts';
import { seedMesh, type SeededMesh } from './testing/seed-mesh.ts';

const pack = loadPack('baseline');
/** Controls about traffic that a seeded period with no violations must pass. */
const TRAFFIC_CONTROLS = ['mtls', 'allowed_callers', 'ingress', 'decisions_recorded', 'no_secrets', 'trail_complete', 'trail_integrity', 'signed_taps'];

const byId = (controls: ControlResult[]) => new Map(controls.map((c) => [c.id, c]));
const points = (c: ControlResult) => c.counterexamples.map((x) => `${x.proxy}#${x.seq}`);

async function withStore(name: string): Promise<{ store: TapStore; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), `meshlens-compliance-${name}-`));
  const store = createChdbStore({ dataDir: dir });
  await store.init();
  return { store, dir };
}

describe('a clean period', () => {
  let store: TapStore;
  let dir: string;
  let mesh: SeededMesh;
  before(async () => {
    ({ store, dir } = await withStore('clean'));
    mesh = await seedMesh(store);
  });
  after(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });

  test('passes every traffic control and fails none', async () => {
    const { report } = await issueReport(store, { pack, period: { from: mesh.from, until: mesh.until }, issuedBy: 'test' });
    const c = byId(report.body.controls);
    for (const id of TRAFFIC_CONTROLS) assert.equal(c.get(id)?.status, 'pass', `${id}: ${c.get(id)?.summary}`);
    assert.deepEqual(report.body.controls.filter((x) => x.status === 'fail').map((x) => x.id), []);
    assert.equal(report.body.controls.filter((x) => x.error).length, 0, 'no control broke its contract');
    assert.ok(report.body.controls.length >= 10);
    assert.equal(report.body.chain.problems, 0);
    assert.equal(report.body.chain_heads.length, mesh.sidecars.size, 'one chain head per sidecar');
  });

  test('a period with no traffic never passes the traffic controls', async () => {
    const { report } = await issueReport(store, { pack, period: { from: mesh.from - 3_600_000, until: mesh.from - 1_800_000 }, issuedBy: 'test' });
    for (const ctl of report.body.controls.filter((x) => TRAFFIC_CONTROLS.includes(x.id))) {
      assert.notEqual(ctl.status, 'pass', `${ctl.id} passed with no evidence: ${ctl.summary}`);
    }
  });

  test('the stamp is the SHA-256 of the canonical body, and changes with any edit', async () => {
    const { report } = await issueReport(store, { pack, period: { from: mesh.from, until: mesh.until }, issuedBy: 'test' });
    assert.equal(report.sha256, stampOf(report.body));
    const edited = structuredClone(report.body);
    edited.totals.fail += 1;
    assert.notEqual(stampOf(edited), report.sha256);
  });
});

describe('a period with seeded violations', () => {
  let store: TapStore;
  let dir: string;
  let mesh: SeededMesh;
  let controls: Map<string, ControlResult>;
  let tampered: { proxy: string; seq: number };
  before(async () => {
    ({ store, dir } = await withStore('violations'));
    mesh = await seedMesh(store, { unexpectedCaller: ['inventory', 'payments'], secretHeaderTo: 'cart', plaintextTo: 'payments', gapIn: 'catalog-1' });
    // A row of web-1's first batch rewritten in the store, its batch record kept: what someone with database access would do.
    tampered = await tamperStoredRow(store, 'web-1', 0, (e) => ({ ...e, path: '/web/nothing-to-see' }));
    const { report } = await issueReport(store, { pack, period: { from: mesh.from, until: mesh.until }, issuedBy: 'test' });
    controls = byId(report.body.controls);
  });
  after(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });

  test('exactly the violated controls fail', () => {
    const failed = [...controls.values()].filter((c) => c.status === 'fail').map((c) => c.id).sort();
    assert.deepEqual(failed, ['allowed_callers', 'mtls', 'no_secrets', 'trail_complete', 'trail_integrity']);
    for (const id of ['ingress', 'decisions_recorded', 'signed_taps']) assert.equal(controls.get(id)?.status, 'pass', id);
  });

  test('the unexpected caller is named by its taps', () => {
    const c = controls.get('allowed_callers')!;
    for (const p of mesh.culprits.unexpectedCaller.slice(0, 3)) assert.ok(points(c).includes(`${p.proxy}#${p.seq}`), `${p.proxy}#${p.seq} in ${points(c)}`);
    assert.ok(c.counterexamples.every((x) => x.src_service === 'inventory' && x.dst_service === 'payments'));
  });

  test('the plaintext hops are named, with their share in the summary', () => {
    const c = controls.get('mtls')!;
    // The plaintext requests, and the connections they came on (the l4.open just before each).
    const expected = mesh.culprits.plaintextTo.flatMap((p) => [`${p.proxy}#${p.seq}`, `${p.proxy}#${p.seq - 1}`]);
    assert.ok(expected.length > 0);
    assert.ok(points(c).length > 0);
    for (const p of points(c)) assert.ok(expected.includes(p), `${p} is not a plaintext request or connection`);
    assert.match(c.summary, /plaintext/i);
  });

  test('the secret is found in its header and never repeated', () => {
    const c = controls.get('no_secrets')!;
    const [p] = mesh.culprits.secretHeaderTo;
    assert.ok(points(c).includes(`${p.proxy}#${p.seq}`), `${p.proxy}#${p.seq} in ${points(c)}`);
    assert.doesNotMatch(JSON.stringify(c), /eyJhbGciOiJIUzI1NiJ9\.eyJzdWIiOiIxMjM0In0/);
  });

  test('the gap in catalog-1\'s chain fails completeness', () => {
    const c = controls.get('trail_complete')!;
    assert.ok(JSON.stringify(c.counterexamples).includes('catalog-1'), JSON.stringify(c.counterexamples));
  });

  test('the tampered row fails integrity, pointing at its batch', () => {
    const c = controls.get('trail_integrity')!;
    assert.ok(c.counterexamples.some((x) => x.proxy === tampered.proxy), JSON.stringify(c.counterexamples));
  });
});

describe('a chain rewritten and hashed again to its head', () => {
  let store: TapStore;
  let dir: string;
  let mesh: SeededMesh;
  before(async () => {
    ({ store, dir } = await withStore('rehashed'));
    mesh = await seedMesh(store, {}, 5);
  });
  after(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });

  test('passes re-hashing alone, and fails trail_integrity by its signatures when the report checks them against the trust bundle', async () => {
    // The careful tamperer: a row of web-1's first batch rewritten, and every hash of web-1's chain after it, merged.
    const { statements } = await tamperStoredChain(store, 'web-1', 0, { path: '/web/nothing-to-see' });
    await store.close();
    const chdb = await import('chdb');
    const session = new chdb.Session(dir);
    try { for (const q of statements) session.query(q); } finally { session.close(); await chdb.drainPending(); }
    store = createChdbStore({ dataDir: dir });
    await store.init();
    const period = { from: mesh.from, until: mesh.until };
    const blind = (await issueReport(store, { pack, period, issuedBy: 'test' })).report;
    assert.equal(byId(blind.body.controls).get('trail_integrity')?.status, 'pass', 'without the bundle the rewritten chain passes');
    const { report } = await issueReport(store, { pack, period, issuedBy: 'test', trust: () => mesh.trust });
    const c = byId(report.body.controls).get('trail_integrity')!;
    assert.equal(c.status, 'fail', c.summary);
    const rewritten = mesh.batches.get('web-1')!.events.length;
    assert.equal(c.counterexamples_total, rewritten, 'every batch of web-1 from the rewritten one to the head');
    assert.ok(c.counterexamples.every((x) => x.proxy === 'web-1' && x.problem === 'bad_signature'), JSON.stringify(c.counterexamples[0]));
    assert.equal(report.body.chain.verified_signatures, report.body.chain.batches - rewritten, 'every other sidecar\'s signatures checked again');
  });
});

describe('stored reports', () => {
  let store: TapStore;
  let dir: string;
  let mesh: SeededMesh;
  before(async () => {
    ({ store, dir } = await withStore('stored'));
    mesh = await seedMesh(store, {}, 5);
  });
  after(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });

  test('a report verifies against the store until the store changes under it', async () => {
    const service = new ReportService(store);
    const report = await service.issue({ from: mesh.from, until: mesh.until }, 'baseline', 'test');
    const file = Buffer.from(JSON.stringify(report));
    const ok = await service.verify(file);
    assert.equal(ok.verified, true, ok.differences.join('; '));
    assert.equal(ok.issued, 'yes');

    const edited = Buffer.from(JSON.stringify({ ...report, body: { ...report.body, totals: { ...report.body.totals, pass: 99 } } }));
    const bad = await service.verify(edited);
    assert.equal(bad.verified, false);
    assert.equal(bad.stamp, 'altered');

    await tamperStoredRow(store, 'cart-1', 0, (e) => ({ ...e, ts: e.ts + 1 }));
    const after = await service.verify(file);
    assert.equal(after.verified, false);
    assert.equal(after.store, 'differs');
    assert.ok(after.differences.some((d) => /trail_integrity/.test(d)), after.differences.join('; '));
  });

  test('the list shows the report with its totals and the files rendered from it', async () => {
    const service = new ReportService(store);
    const report = await service.issue({ from: mesh.from, until: mesh.until }, 'baseline', 'test');
    const html = await service.render(report.body.id, 'html');
    assert.ok(html);
    const listed = (await service.list()).find((r) => r.id === report.body.id);
    assert.ok(listed);
    assert.deepEqual(listed.totals, report.body.totals);
    assert.ok(listed.files.some((f) => f.format === 'html' && f.sha256 === html.sha256));
    const v = await service.verify(html.bytes);
    assert.equal(v.file, 'html');
    assert.equal(v.stamp, 'intact');
    assert.equal(v.issued, 'yes');
  });
});
