// Store behaviours of the config change log (`config_changes`) and of stored
// compliance reports (`reports`), run inside the shared store suite
// (./store-suite.ts) so they hold on chdb and on the 18.16 server alike.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { ConfigChange } from './config-change.ts';
import type { StoredReport } from './stored-report.ts';
import type { TapStore } from './store.ts';
import type { StoreBackend } from './store-suite.ts';

const DIGEST_A = 'a1'.repeat(32);
const DIGEST_B = 'b2'.repeat(32);

const change = (ts: number, over: Partial<ConfigChange> = {}): ConfigChange => ({
  ts, version: ts, kind: 'route', subject: 'payments', digest: '', actor: 'operator', detail: '{"subsets":[]}', ...over,
});

function sampleReport(t: number, over: Partial<StoredReport> = {}): StoredReport {
  const body = JSON.stringify({ format: 'meshlens-compliance-report/1', id: `rpt-${t}`, note: "ünï 'quoted' \\ text\nover lines", totals: { pass: 3, fail: 1 } });
  return {
    id: `rpt-${t}`, issued_at: t, from: t - 86_400_000, until: t - 1_000, pack: 'baseline', sha256: createHash('sha256').update(body).digest('hex'),
    status_counts: '{"pass":3,"fail":1}', body, files: '[]', issued_by: 'cli', ...over,
  };
}

const isMalformed = (...patterns: RegExp[]) => (e: Error & { code?: string }) =>
  e.code === 'INGEST_ERR_MALFORMED' && patterns.every((p) => p.test(e.message));

export function changeStoreTests(openStore: (place?: string) => Promise<TapStore>, backend: StoreBackend): void {
  test('configChanges answers the newest change per kind and subject before the period, less what a newer whole-kind record replaced, and the changes during it oldest first', async () => {
    const s = await openStore();
    const t = Date.now() - 3_600_000; // well within retention
    const startup = [
      change(t, { kind: 'authz_policy', subject: '*', digest: DIGEST_A, actor: 'startup', detail: '{"source":"policy.rego","bytes":512}' }),
      change(t, { kind: 'route', subject: '*', actor: 'startup', detail: '{"routes":[]}' }),
      change(t, { kind: 'registry', subject: '*', actor: 'startup', detail: '{"services":{}}' }),
    ];
    const before = [
      change(t + 10, { subject: 'payments', detail: '{"subsets":[{"version":"v1","weight":90},{"version":"v2","weight":10}]}' }),
      change(t + 20, { subject: 'payments', detail: '{"subsets":[{"version":"v1","weight":50},{"version":"v2","weight":50}]}', actor: 'tuning' }),
      change(t + 30, { kind: 'ejection', subject: 'cart-2', detail: `{"service":"cart","until":${t + 60_000},"reason":"it's \\"slow\\" — ünïcode"}` }),
    ];
    // An older control plane set a rate limit; this one started afresh at t - 1 with none.
    const stale = change(t - 100, { kind: 'ratelimit', subject: 'cart', detail: '{"rules":[{"rps":5,"burst":5}]}' });
    const restart = change(t - 1, { kind: 'ratelimit', subject: '*', actor: 'startup', detail: '{"limits":[]}' });
    const from = t + 1_000;
    const during = [
      change(from, { kind: 'authz_policy', subject: '*', digest: DIGEST_B, detail: '{"source":"PUT /v1/policy/bundle","bytes":640}' }),
      change(from + 5, { subject: 'payments', detail: '{"subsets":[]}', version: from + 6 }),
      change(from + 5, { kind: 'ejection', subject: 'cart-2', detail: 'null', actor: 'expiry', version: from + 5 }),
    ];
    const until = from + 100;
    const after = change(until, { subject: 'payments' });
    for (const c of [...[...during].reverse(), after, stale, restart, ...before, ...startup]) await s.writeConfigChange(c);
    await s.writeConfigChange(before[1]); // a retry: still one record

    const got = await s.configChanges(from, until);
    assert.deepEqual(got.at_start, [startup[0], before[2], restart, startup[2], startup[1], before[1]],
      'by kind then subject; the stale rate limit is replaced by the newer whole-kind record');
    assert.deepEqual(got.during, [during[0], during[2], during[1]], 'oldest first, then by version; until is exclusive');
    assert.deepEqual(await s.configChanges(t - 1_000, t - 1_000), { at_start: [], during: [] });
    assert.deepEqual((await s.configChanges(0, t)).during.map((c) => c.subject), ['cart', '*'], 'until is exclusive: the records at t are left out');
    await assert.rejects(s.configChanges(-1, 5), { code: 'INGEST_ERR_CONFIG' });
    await assert.rejects(s.configChanges(10, 5), { code: 'INGEST_ERR_CONFIG' });
  });

  test('a bad config change is refused with INGEST_ERR_MALFORMED naming each problem, and nothing is written', async () => {
    const s = await openStore();
    const t = Date.now() - 60_000;
    const bad = { ...change(t), ts: -5, version: 1.5, kind: 'firewall', subject: 'a\nb', digest: 'XYZ', actor: '', detail: '{not json', extra: 1 } as unknown as ConfigChange;
    await assert.rejects(s.writeConfigChange(bad), isMalformed(/ts must be epoch ms/, /version must be a config version/, /kind must be one of authz_policy/,
      /subject must not hold control characters/, /digest must be '' or a sha256/, /actor must not be empty/, /detail is not JSON/, /extra is not a field/));
    await assert.rejects(s.writeConfigChange(change(t, { detail: JSON.stringify({ x: 'y'.repeat(70_000) }) })), isMalformed(/detail is \d+ bytes, at most 65536/));
    assert.deepEqual(await s.configChanges(0, Date.now() + 1), { at_start: [], during: [] });
  });

  test('a stored report lists newest issued first without its body, reads back whole by id, and written again with its files grown reads once with the new files', async () => {
    const s = await openStore();
    const t = Date.now() - 3_600_000;
    const older = sampleReport(t);
    const newer = sampleReport(t + 1_000, { pack: 'pci-dss', issued_by: 'api (operator)' });
    await s.writeReport(older);
    await s.writeReport(newer);
    const { body: _b, ...summary } = newer;
    assert.deepEqual(await s.reports({ limit: 10 }), [summary, (({ body: _, ...r }) => r)(older)]);
    assert.deepEqual(await s.report(older.id), older);
    const files = JSON.stringify([{ format: 'html', sha256: DIGEST_A }]);
    await s.writeReport({ ...older, files });
    await s.writeReport({ ...older, files: JSON.stringify([{ format: 'html', sha256: DIGEST_A }, { format: 'pdf', sha256: DIGEST_B }]) });
    assert.deepEqual(JSON.parse((await s.report(older.id))!.files).map((f: { format: string }) => f.format), ['html', 'pdf'], 'the last written wins, within one ms too');
    assert.deepEqual((await s.reports({ limit: 10 })).map((r) => r.id), [newer.id, older.id], 'once each');
    assert.deepEqual((await s.reports({ limit: 1 })).map((r) => r.id), [newer.id]);
    assert.deepEqual((await s.reports({ limit: 10, since: t + 1 })).map((r) => r.id), [newer.id], 'since is on issued_at');
    assert.equal(await s.report('rpt-nobody'), null);
    assert.equal(await s.report("rpt' OR 1=1 --"), null, 'an id is a value, never SQL');
    await assert.rejects(s.report(''), { code: 'INGEST_ERR_CONFIG' });
    await assert.rejects(s.reports({ limit: -1, since: -3 }), (e: Error & { code?: string }) => e.code === 'INGEST_ERR_CONFIG' && /limit/.test(e.message) && /since/.test(e.message));
  });

  test('a bad report is refused with INGEST_ERR_MALFORMED naming each problem (a stamp that is not the body\'s SHA-256 among them), and nothing is written', async () => {
    const s = await openStore();
    const t = Date.now() - 60_000;
    const good = sampleReport(t);
    await assert.rejects(s.writeReport({ ...good, body: good.body.replace('pass', 'PASS') }), isMalformed(/sha256 is not the SHA-256 of body/));
    const bad = { ...good, id: '', until: good.from, status_counts: '{"pass":-1}', files: '[{"format":"pdf"}]', body: '[1]', sha256: 'nope', size: 3 } as unknown as StoredReport;
    await assert.rejects(s.writeReport(bad), isMalformed(/id must not be empty/, /until \d+ must be after from/, /status_counts must be a JSON object of counts/,
      /files must be a JSON array of/, /body must be a JSON object/, /sha256 must be a sha256/, /size is not a field/));
    assert.deepEqual(await s.reports({ limit: 10 }), []);
  });

  test('a store created before the config change log and the reports table gains them on init, keeping what it held', async () => {
    const place = backend.freshPlace();
    const before = await openStore(place);
    const t = Date.now() - 60_000;
    await before.writeAction((await import('./sample-actions.ts')).sampleAction(t));
    await before.close();
    for (const table of ['config_changes', 'reports']) await backend.sql(place, `DROP TABLE ${table}`); // as the store was before them
    const s = await openStore(place);
    assert.equal((await s.actions({ limit: 10 })).length, 1);
    await s.writeConfigChange(change(t));
    await s.writeReport(sampleReport(t));
    assert.deepEqual((await s.configChanges(t, t + 1)).during, [change(t)]);
    assert.equal((await s.reports({ limit: 10 })).length, 1);
  });
}
