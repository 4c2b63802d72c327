// The security review's findings, replayed as attacks against a running
// mesh (control plane with its collector, five sidecars, load), each while
// honest traffic flows beside it: each attack must be refused and counted,
// and the honest traffic exactly tapped, nothing more.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import { sendExactly } from '../demo/index.ts';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { controlClient } from '../cli/control-client.ts';
import { GENESIS_HASH, sealFrame, type L7RequestTap } from '../ingest/index.ts';
import { assertNoSidecarLoss, assertTapsPerHop, eventually, sidecarFinalStats, steadyTraffic, withDemoMesh } from './stack.ts';

const N = 600;

/** An attacker's HTTPS request: no client certificate, the server not checked. */
function attack(url: string, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(path, url), { method, rejectUnauthorized: false, agent: false, headers }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Plaintext bytes to a port; resolves with whatever came back before the close. */
function plaintext(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', () => resolve(got));
    s.on('close', () => resolve(got));
  });
}

test('findings 2-6 replayed against a running mesh are refused and counted, while honest traffic beside them is exactly tapped', { timeout: 180_000 }, () =>
  withDemoMesh('trust', [], {}, async ({ core, mesh, lines }) => {
    const before = core.control.status();
    const payments = core.control.registry.services().get('payments')![0];
    const honest = sendExactly(mesh.ingressUrl, N, 8);

    // 2: "curl -H 'x-meshlens-src: cart'" straight at payments' sidecar: the mesh listener speaks mTLS only.
    const smuggledCaller = await plaintext(payments.port, 'GET /charge HTTP/1.1\r\nHost: payments\r\nx-meshlens-src: cart\r\n\r\n');
    assert.doesNotMatch(smuggledCaller, /^HTTP\/1\.1 200/, 'no HTTP answer to a plaintext request');
    // 3: a config stream for a made-up payments instance pointing at the attacker's listener.
    const evilStream = await attack(core.control.url, 'GET', `/v1/config/stream?proxy=evil-1&service=payments&inbound=127.0.0.1:${payments.port + 1}`);
    assert.equal(evilStream.status, 401);
    // 4: a well-chained batch under the real name web-1, inventing a service; also as a cross-site text/plain post.
    const forged: L7RequestTap = {
      v: 1, kind: 'l7.request', proxy: 'web-1', seq: 0, ts: Date.now(), direction: 'outbound', conn_id: 'x', src_service: 'web', src_instance: 'web-1',
      src_addr: '127.0.0.1', src_port: 1, dst_service: 'made-up', dst_instance: 'made-up-1', dst_addr: '127.0.0.1', dst_port: 2, method: 'GET', authority: 'made-up',
      path: '/', status: 200, latency_ms: 1, req_bytes: 0, resp_bytes: 0, upstream: '', retries: 0, trace_id: '', error: '',
    };
    const frame = sealFrame({ proxy: 'web-1', stream: 'forged', batch: 0, first_seq: 0, lost: 0, events: [forged], prev_hash: GENESIS_HASH }).frame.toString('utf8');
    assert.equal((await attack(core.control.url, 'POST', '/v1/taps', frame, { 'content-type': 'application/x-ndjson' })).status, 401);
    assert.equal((await attack(core.control.url, 'POST', '/v1/taps', frame, { 'content-type': 'text/plain', origin: 'http://evil.example' })).status, 401);
    // 5: one batch far ahead in web-1's real stream (its stream id is shown to operators): no certificate, no entry.
    const webStream = core.control.status().proxies.find((p) => p.proxy === 'web-1');
    assert.ok(webStream);
    const ahead = sealFrame({ proxy: 'web-1', stream: 'x', batch: 1_000_000, first_seq: 1_000_000_000, lost: 0, events: [{ ...forged, seq: 1_000_000_000 }], prev_hash: 'f'.repeat(64) }).frame.toString('utf8');
    assert.equal((await attack(core.control.url, 'POST', '/v1/taps', ahead)).status, 401);
    // 6: an allow-all bundle pushed with a rebinding Host and no credentials.
    const port = new URL(core.control.url).port;
    const rebound = await attack(core.control.url, 'PUT', '/v1/policy/bundle', 'not even a bundle', { host: `evil.example:${port}` });
    assert.equal(rebound.status, 421);
    const noToken = await attack(core.control.url, 'PUT', '/v1/policy/bundle', 'x', { origin: 'http://evil.example' });
    assert.equal(noToken.status, 403);

    assert.deepEqual([...await honest], [[200, N]], 'honest traffic unharmed');
    await eventually(`${N * 9} l7 taps stored`, async () => await core.store.countTaps({ kind: 'l7.request' }) >= N * 9);
    await mesh.close();
    assertNoSidecarLoss(lines, mesh.sidecars.size);
    await assertTapsPerHop(core.store, N);

    const after = core.control.status();
    assert.equal(after.policy.digest, before.policy.digest, 'the policy in force did not change');
    assert.deepEqual(Object.keys(before.services).sort(), ['cart', 'catalog', 'inventory', 'payments', 'web']);
    assert.ok(!after.proxies.some((p) => p.proxy === 'evil-1'), 'no evil-1 ever registered');
    assert.equal(await core.store.countTaps({ dst_service: 'made-up' }), 0, 'the made-up service never reached the store');
    assert.equal(await core.store.countTaps({ proxy: 'web-1', kind: 'l7.request' }), N * 3, 'web-1 holds only its own taps');
    assert.equal(after.identity.refused_sidecar_requests, 4, 'stream and three tap posts refused for want of a certificate');
    assert.equal(after.refused_operator_requests, 2);
    assert.equal(sidecarFinalStats(lines).get('payments-1') && (sidecarFinalStats(lines).get('payments-1') as unknown as { tls_handshake_failures: number }).tls_handshake_failures, 1);
    assert.ok(lines.some((l) => /refused operator request PUT \/v1\/policy\/bundle .*evil\.example/.test(l)), 'the refusal is logged with the Host it came with');
  }));

test('certificates renew under load every few seconds and no request fails; taps stay exact and signed', { timeout: 180_000 }, () =>
  withDemoMesh('rotate', ['--svid-ttl-s', '6'], {}, async ({ core, mesh, lines }) => {
    // ~15 s of steady traffic: each sidecar renews about every 3 s meanwhile.
    const { sent, statuses } = await steadyTraffic(mesh.ingressUrl, 15_000);
    assert.deepEqual([...statuses], [[200, sent]], 'no request failed while certificates rotated');
    await eventually(`${sent * 9} l7 taps stored`, async () => await core.store.countTaps({ kind: 'l7.request' }) >= sent * 9, 60_000);
    await mesh.close();
    assertNoSidecarLoss(lines, mesh.sidecars.size);
    await assertTapsPerHop(core.store, sent);
    for (const [id, st] of sidecarFinalStats(lines) as Map<string, unknown>) {
      const identity = (st as { identity: { renewals: number; renewal_failures: number } }).identity;
      assert.ok(identity.renewals >= 3, `${id} renewed ${identity.renewals} times in 15 s with a 6 s certificate`);
      assert.equal(identity.renewal_failures, 0, id);
    }
    assert.equal(await core.store.countRejects({}), 0, 'every batch verified, across certificate changes');
    assert.ok(core.control.status().identity.renewals >= 15);
  }));

test('a CA rotation under load: the new root is trusted first, signs after one certificate lifetime, and no request fails', { timeout: 180_000 }, () =>
  withDemoMesh('ca-rotate', ['--svid-ttl-s', '6'], { stateDir: (d) => join(d, 'sidecars') }, async ({ core, mesh, lines, dir }) => {
    const oldRoot = core.control.ca.bundle.roots[0];
    const operator = await controlClient({ url: core.control.url, dataDir: dir });
    const traffic = await steadyTraffic(mesh.ingressUrl, 2_000);
    const begun = await operator.request('POST', '/v1/identity/rotate-ca');
    assert.equal(begun.status, 202);
    assert.equal((begun.body as { state: string }).state, 'spreading');
    await steadyTraffic(mesh.ingressUrl, 2_000, traffic);
    await eventually('the rotation completes', () => core.control.status().identity.rotation.state === 'none', 20_000);
    await steadyTraffic(mesh.ingressUrl, 8_000, traffic); // every sidecar renews onto the new root meanwhile
    const { sent, statuses } = traffic;
    assert.deepEqual([...statuses], [[200, sent]], 'no request failed across the rotation');
    await eventually(`${sent * 9} l7 taps stored`, async () => await core.store.countTaps({ kind: 'l7.request' }) >= sent * 9, 60_000);
    await mesh.close();
    assertNoSidecarLoss(lines, mesh.sidecars.size);
    await assertTapsPerHop(core.store, sent);
    assert.equal(await core.store.countRejects({}), 0);
    // Every sidecar ended on a certificate of the new root (its state dir keeps the last one).
    for (const id of mesh.sidecars.keys()) {
      const leaf = new X509Certificate(readFileSync(join(dir, 'sidecars', id, 'identity', 'chain.pem')));
      assert.ok(!leaf.checkIssued(oldRoot), `${id} holds a certificate of the new root`);
      assert.ok(core.control.ca.bundle.verify([leaf]));
    }
  }));
