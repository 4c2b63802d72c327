import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createChdbStore, type TapStore } from '../../ingest/index.ts';
import { compileToWasm, writeBundle, type ReplayResult } from '../../policy/index.ts';
import { CURRENT_REGO, DRAFT_REGO, knownRequests } from '../../policy/testing/replay-policies.ts';
import { seedRequests } from '../../policy/testing/replay-seed.ts';
import { MAX_BODY_BYTES } from './policy-replay-api.ts';
import { AUTHZ_ENTRYPOINT } from './snapshot.ts';
import { startTestControl, type TestControl } from './testing/mesh-clients.ts';

const PATH = '/v1/policy/replay';

describe('POST /v1/policy/replay', () => {
  let dir: string;
  let store: TapStore;
  let t: TestControl;
  let t0: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshlens-replay-api-'));
    store = createChdbStore({ dataDir: dir });
    await store.init();
    t0 = Date.now() - 3_600_000;
    await seedRequests(store, knownRequests(t0));
    const wasm = await compileToWasm({ 'current.rego': CURRENT_REGO }, [AUTHZ_ENTRYPOINT]);
    t = await startTestControl({ policyReplay: { store }, policyBundle: { bytes: writeBundle(wasm, [AUTHZ_ENTRYPOINT], {}, {}), source: 'test' } });
  });
  after(async () => {
    await t?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const body = (over: Record<string, unknown> = {}) => ({ from: t0, until: t0 + 1000, draft: { files: { 'draft.rego': DRAFT_REGO } }, ...over });

  test('the operator replays a draft against the bundle enforced now, or the recorded decisions, and sees the flips the seed implies', async () => {
    const now = await t.operator().request('POST', PATH, body());
    assert.equal(now.status, 200, now.body.toString());
    const r = now.json<ReplayResult>();
    assert.deepEqual([r.baseline, r.current_digest, r.evaluated, r.flips], ['current_policy', t.cp.status().policy.digest, 11, { allow_to_deny: 4, deny_to_allow: 1 }]);
    const rec = (await t.operator().request('POST', PATH, body({ against: 'recorded' }))).json<ReplayResult>();
    assert.deepEqual([rec.baseline, rec.flips], ['recorded_decision', { allow_to_deny: 5, deny_to_allow: 2 }]);
    const asDraft = (await t.operator().request('POST', PATH, body({ against: { files: { 'c.rego': CURRENT_REGO } } }))).json<ReplayResult>();
    assert.deepEqual(asDraft.flips, r.flips, 'the same policy given as sources decides as the enforced bundle');
    assert.equal(t.cp.status().policy_replay && (t.cp.status().policy_replay as { replays: number }).replays, 3);
  });

  test('asked for x-ndjson, progress comes page by page before the result', async () => {
    const r = await t.operator().request('POST', PATH, body(), { accept: 'application/x-ndjson' });
    assert.equal(r.status, 200);
    const lines = r.body.toString().trim().split('\n').map((l) => JSON.parse(l) as { progress?: { done: number; total: number }; result?: ReplayResult });
    assert.deepEqual(lines.slice(0, -1).map((l) => l.progress), [{ done: 0, total: 11 }, { done: 11, total: 11 }]);
    assert.deepEqual(lines[lines.length - 1].result!.flips, { allow_to_deny: 4, deny_to_allow: 1 });
  });

  test('refused: no token, a wrong one, a foreign Origin, a rebinding Host, an oversized draft, a draft that does not compile (file:line:col), a period too long or backwards; each counted', async () => {
    const port = new URL(t.cp.url).port;
    const before = t.cp.status();
    const refusedBefore = (before.policy_replay as { refused: number }).refused;
    const auth: [string, ReturnType<TestControl['anonymous']>, Record<string, string>, number][] = [
      ['no token', t.anonymous(), {}, 403], // a state change without token or Origin: refused as cross-origin first
      ['wrong token', t.anonymous(), { authorization: 'Bearer guessed' }, 401],
      ['foreign Origin', t.operator(), { origin: 'http://evil.example' }, 403],
      ['rebinding Host', t.operator(), { host: `evil.example:${port}` }, 421],
    ];
    for (const [what, client, headers, status] of auth) {
      const r = await client.request('POST', PATH, body(), headers);
      assert.equal(r.status, status, what);
    }
    assert.equal(t.cp.status().refused_operator_requests - before.refused_operator_requests, auth.length);

    const op = t.operator();
    const huge = await op.request('POST', PATH, body({ draft: { files: { 'big.rego': 'package meshlens.authz\n' + '#'.repeat(MAX_BODY_BYTES) } } }));
    assert.deepEqual([huge.status, huge.json().code], [413, 'MESH_ERR_TOO_LARGE']);
    const broken = await op.request('POST', PATH, body({ draft: { files: { 'draft.rego': 'package meshlens.authz\n\ndecision := {"allow": true, "reason": reason}\n' } } }));
    assert.equal(broken.status, 400);
    const b = broken.json<{ code: string; message: string; loc: { file: string; line: number; col: number } }>();
    assert.equal(b.code, 'MESH_ERR_BAD_REPLAY');
    assert.match(b.message, /^draft\.rego:3:\d+: /);
    assert.deepEqual([b.loc.file, b.loc.line], ['draft.rego', 3]);
    const cases: [Record<string, unknown>, RegExp][] = [
      [body({ from: t0 - 8 * 86_400_000 }), /the period is at most 7 days/],
      [body({ until: t0 - 1 }), /until must be later than from/],
      [body({ draft: { files: { '../../etc/passwd': 'x' } } }), /is not a name\.rego/],
      [body({ draft: { bundle: 'not base64!' } }), /draft\.bundle: a base64 OPA bundle/],
      [body({ draft: { bundle: Buffer.from('not a bundle').toString('base64') } }), /not a readable OPA bundle/],
      [body({ against: 'yesterday' }), /against: \{files/],
      [body({ header_allow: ['Authorization'] }), /header_allow/],
    ];
    for (const [req, problem] of cases) {
      const r = await op.request('POST', PATH, req);
      assert.equal(r.status, 400, JSON.stringify(req).slice(0, 200));
      assert.match(r.json<{ message: string }>().message, problem);
    }
    assert.equal((t.cp.status().policy_replay as { refused: number }).refused - refusedBefore, 2 + cases.length);
  });
});
