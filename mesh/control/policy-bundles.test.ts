import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bundleDigest, compileToWasm, writeBundle } from '../../policy/index.ts';
import { AUTHZ_ENTRYPOINT } from './index.ts';
import { startTestControl } from './testing/mesh-clients.ts';

async function bundle(reason: string, entrypoint = AUTHZ_ENTRYPOINT): Promise<Buffer> {
  const pkg = entrypoint.split('/').slice(0, -1).join('.');
  const src = `package ${pkg}\n\ndecision := {"allow": false, "reason": ${JSON.stringify(reason)}}\n`;
  return writeBundle(await compileToWasm({ 'authz.rego': src }, [entrypoint]), [entrypoint], {}, {});
}

test('serves the policy bundle by its sha256 digest as immutable bytes to sidecars, names it in every snapshot, and answers 404 for an unknown digest', async () => {
  const bytes = await bundle('deny all');
  const t = await startTestControl({ policyBundle: { bytes, source: 'test' } });
  const cart = await t.sidecar('cart', 'cart-1');
  const s = cart.stream('inbound=127.0.0.1:9001');
  try {
    const digest = bundleDigest(bytes);
    const snap = await s.next(() => true);
    assert.equal(snap.policy_digest, digest);
    assert.equal(t.cp.status().policy.digest, digest);

    const res = await cart.request('GET', `/v1/policy/bundles/${digest}`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['cache-control']), /immutable/);
    assert.deepEqual(res.body, bytes);

    const missing = await cart.request('GET', `/v1/policy/bundles/${'0'.repeat(64)}`);
    assert.equal(missing.status, 404);
    assert.equal(missing.json<{ code: string }>().code, 'MESH_ERR_NO_BUNDLE');
    assert.equal((await t.anonymous().request('GET', `/v1/policy/bundles/${digest}`)).status, 401, 'only sidecars fetch bundles');
  } finally {
    s.close();
    await t.close();
  }
});

test('PUT /v1/policy/bundle by an operator replaces the bundle and pushes every sidecar a new version naming it; a bad bundle is refused with 400, counted, and nothing changes', async () => {
  const t = await startTestControl();
  const s = (await t.sidecar('cart', 'cart-1')).stream('inbound=127.0.0.1:9001');
  const op = t.operator();
  try {
    const first = await s.next(() => true);
    assert.equal(first.policy_digest, '', 'no policy configured');

    const next = await bundle('second');
    const put = await op.request('PUT', '/v1/policy/bundle', next);
    assert.equal(put.status, 200);
    const body = put.json<{ digest: string; version: number }>();
    assert.equal(body.digest, bundleDigest(next));
    const pushed = await s.next((x) => x.policy_digest === body.digest);
    assert.equal(pushed.version, body.version);
    assert.ok(pushed.version > first.version);

    const wrongEntrypoint = await op.request('PUT', '/v1/policy/bundle', await bundle('x', 'other/decision'));
    assert.equal(wrongEntrypoint.status, 400);
    assert.match(wrongEntrypoint.json<{ message: string }>().message, /no entrypoint meshlens\/authz\/decision \(has: other\/decision\)/);
    const junk = await op.request('PUT', '/v1/policy/bundle', 'junk');
    assert.equal(junk.status, 400);
    assert.equal(junk.json<{ code: string }>().code, 'MESH_ERR_BAD_POLICY_BUNDLE');

    const st = t.cp.status();
    assert.deepEqual([st.policy.digest, st.policy.accepted, st.policy.refused], [body.digest, 1, 2]);
    assert.equal(st.version, body.version, 'a refused bundle pushes nothing');

    const viaCall = await t.cp.setPolicyBundle(await bundle('third'), 'test');
    assert.equal((await s.next((x) => x.policy_digest === viaCall.digest)).version, viaCall.version);
  } finally {
    s.close();
    await t.close();
  }
});

test('finding 6: an allow-all bundle PUT with Host: evil.example (DNS rebinding), without the token, or from a foreign Origin is refused and the bundle stays as it was', async () => {
  const before = await bundle('deny all');
  const t = await startTestControl({ policyBundle: { bytes: before, source: 'test' } });
  try {
    const allowAll = await bundle('allow all');
    const port = new URL(t.cp.url).port;
    const attempts: [string, ReturnType<typeof t.anonymous>, Record<string, string>, number, string][] = [
      ['rebinding', t.operator(), { host: `evil.example:${port}` }, 421, 'MESH_ERR_HOST_NOT_ALLOWED'],
      ['no token', t.anonymous(), {}, 403, 'MESH_ERR_ORIGIN_NOT_ALLOWED'],
      ['wrong token', t.anonymous(), { authorization: 'Bearer guessed' }, 401, 'MESH_ERR_UNAUTHENTICATED'],
      ['cross-site page', t.anonymous(), { origin: 'http://evil.example', 'content-type': 'text/plain' }, 403, 'MESH_ERR_ORIGIN_NOT_ALLOWED'],
      ['token but foreign origin', t.operator(), { origin: 'http://evil.example' }, 403, 'MESH_ERR_ORIGIN_NOT_ALLOWED'],
    ];
    for (const [what, client, headers, status, code] of attempts) {
      const r = await client.request('PUT', '/v1/policy/bundle', allowAll, headers);
      assert.equal(r.status, status, what);
      assert.equal(r.json<{ code: string }>().code, code, what);
    }
    assert.equal(t.cp.status().policy.digest, bundleDigest(before), 'the bundle did not change');
    assert.equal(t.cp.status().refused_operator_requests, attempts.length);
    // The operator, honestly: in force.
    assert.equal((await t.operator().request('PUT', '/v1/policy/bundle', allowAll)).status, 200);
    assert.equal(t.cp.status().policy.digest, bundleDigest(allowAll));
  } finally {
    await t.close();
  }
});
