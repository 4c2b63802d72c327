import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { bundleDigest, compileToWasm, writeBundle } from '../../policy/index.ts';
import { AUTHZ_ENTRYPOINT, startControlPlane, type ConfigSnapshot } from './index.ts';

async function bundle(reason: string, entrypoint = AUTHZ_ENTRYPOINT): Promise<Buffer> {
  const pkg = entrypoint.split('/').slice(0, -1).join('.');
  const src = `package ${pkg}\n\ndecision := {"allow": false, "reason": ${JSON.stringify(reason)}}\n`;
  return writeBundle(await compileToWasm({ 'authz.rego': src }, [entrypoint]), [entrypoint], {}, {});
}

/** A sidecar's config stream: resolves the first snapshot matching `pred`. */
function stream(base: string, proxy: string) {
  const seen: ConfigSnapshot[] = [];
  let wake = () => {};
  let buf = '';
  const req = http.get(`${base}/v1/config/stream?proxy=${proxy}&service=cart&inbound=127.0.0.1:9001`, (res) => {
    res.setEncoding('utf8');
    res.on('data', (c: string) => {
      buf += c;
      for (let nl; (nl = buf.indexOf('\n')) >= 0; buf = buf.slice(nl + 1)) seen.push(JSON.parse(buf.slice(0, nl)));
      wake();
    });
  });
  req.on('error', () => {});
  const next = async (pred: (s: ConfigSnapshot) => boolean): Promise<ConfigSnapshot> => {
    for (;;) {
      const s = seen.find(pred);
      if (s) return s;
      await new Promise<void>((r) => { wake = r; });
    }
  };
  return { next, close: () => req.destroy() };
}

test('serves the policy bundle by its sha256 digest as immutable bytes, names it in every snapshot, and answers 404 for an unknown digest', async () => {
  const bytes = await bundle('deny all');
  const cp = await startControlPlane({ policyBundle: { bytes, source: 'test' } });
  const s = stream(cp.url, 'cart-1');
  try {
    const digest = bundleDigest(bytes);
    const snap = await s.next(() => true);
    assert.equal(snap.policy_digest, digest);
    assert.equal(cp.status().policy.digest, digest);

    const res = await fetch(`${cp.url}/v1/policy/bundles/${digest}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('cache-control')!, /immutable/);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);

    const missing = await fetch(`${cp.url}/v1/policy/bundles/${'0'.repeat(64)}`);
    assert.equal(missing.status, 404);
    assert.equal((await missing.json() as { code: string }).code, 'MESH_ERR_NO_BUNDLE');
  } finally {
    s.close();
    await cp.close();
  }
});

test('PUT /v1/policy/bundle replaces the bundle and pushes every sidecar a new version naming it; a bad bundle is refused with 400, counted, and nothing changes', async () => {
  const cp = await startControlPlane();
  const s = stream(cp.url, 'cart-1');
  try {
    const first = await s.next(() => true);
    assert.equal(first.policy_digest, '', 'no policy configured');

    const next = await bundle('second');
    const put = await fetch(`${cp.url}/v1/policy/bundle`, { method: 'PUT', body: new Uint8Array(next) });
    assert.equal(put.status, 200);
    const body = await put.json() as { digest: string; version: number };
    assert.equal(body.digest, bundleDigest(next));
    const pushed = await s.next((x) => x.policy_digest === body.digest);
    assert.equal(pushed.version, body.version);
    assert.ok(pushed.version > first.version);

    const wrongEntrypoint = await fetch(`${cp.url}/v1/policy/bundle`, { method: 'PUT', body: new Uint8Array(await bundle('x', 'other/decision')) });
    assert.equal(wrongEntrypoint.status, 400);
    assert.match((await wrongEntrypoint.json() as { message: string }).message, /no entrypoint meshlens\/authz\/decision \(has: other\/decision\)/);
    const junk = await fetch(`${cp.url}/v1/policy/bundle`, { method: 'PUT', body: 'junk' });
    assert.equal(junk.status, 400);
    assert.equal((await junk.json() as { code: string }).code, 'MESH_ERR_BAD_POLICY_BUNDLE');

    const st = cp.status();
    assert.deepEqual([st.policy.digest, st.policy.accepted, st.policy.refused], [body.digest, 1, 2]);
    assert.equal(st.version, body.version, 'a refused bundle pushes nothing');

    const viaCall = await cp.setPolicyBundle(await bundle('third'), 'test');
    assert.equal((await s.next((x) => x.policy_digest === viaCall.digest)).version, viaCall.version);
  } finally {
    s.close();
    await cp.close();
  }
});

// A caller that is not on loopback: this machine's own non-loopback address,
// connected to from that address (the kernel routes it locally, and the
// control plane sees it as the peer address).
const outside = Object.values((await import('node:os')).networkInterfaces()).flat()
  .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;

test('a bundle PUT from a non-loopback address is refused with 403 and the bundle stays as it was', { skip: outside ? false : 'no non-loopback IPv4 address on this machine' }, async () => {
  const before = await bundle('deny all');
  const cp = await startControlPlane({ host: '0.0.0.0', policyBundle: { bytes: before, source: 'test' } });
  try {
    const port = new URL(cp.url).port;
    const { status, body } = await new Promise<{ status: number; body: { code: string; message: string } }>((resolve, reject) => {
      const req = http.request({ host: outside, port, path: '/v1/policy/bundle', method: 'PUT', localAddress: outside }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end(Buffer.from('not even a bundle'));
    });
    assert.equal(status, 403);
    assert.equal(body.code, 'MESH_ERR_FORBIDDEN');
    assert.match(body.message, new RegExp(`loopback only, not (::ffff:)?${outside!.replace(/\./g, '\\.')}`));
    assert.equal(cp.status().policy.digest, bundleDigest(before), 'the bundle did not change');
  } finally {
    await cp.close();
  }
});
