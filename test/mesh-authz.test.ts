import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { assertNoSidecarLoss, DEMO_HOPS, eventually, sidecarFinalStats, withDemoMesh } from './stack.ts';

const DEMO_POLICY = join(import.meta.dirname, '..', 'demo', 'policy');
const BROWSE = 40; // GET /products: allowed at every hop
const CHECKOUT_SIGNED_IN = 20; // GET /checkout with Authorization: allowed at every hop
const CHECKOUT_ANONYMOUS = 30; // GET /checkout without: denied at web's inbound sidecar
const EXTERNAL_TO_PAYMENTS = 10; // straight at payments' sidecar from outside the mesh: refused at the TLS handshake

/** Sends `n` requests, 8 at a time; returns the count of each status. */
async function send(n: number, url: string, headers: Record<string, string> = {}): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  for (let i = 0; i < n; i += 8) {
    const batch = await Promise.all(Array.from({ length: Math.min(8, n - i) }, async () => {
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      return res.status;
    }));
    for (const s of batch) statuses.set(s, (statuses.get(s) ?? 0) + 1);
  }
  return statuses;
}

test('the demo policy allows the shop\'s calls and denies anonymous checkout; outsiders cannot reach payments at all; every decision and reason is in ClickHouse, counts exact', { timeout: 180_000 }, () =>
  withDemoMesh('authz', ['--policy', DEMO_POLICY], {}, async ({ core, mesh, lines }) => {
    const digest = core.control.status().policy.digest;
    assert.match(digest, /^[0-9a-f]{64}$/, 'the control plane holds the demo policy');
    // Ready (withDemoMesh waited for it) means every sidecar ACKed its snapshot, which it does only once the bundle is loaded.
    const payments = core.control.registry.services().get('payments')![0];
    const paymentsUrl = `http://${payments.addr}:${payments.port}`;

    assert.deepEqual([...await send(BROWSE, `${mesh.ingressUrl}/products`)], [[200, BROWSE]]);
    assert.deepEqual([...await send(CHECKOUT_SIGNED_IN, `${mesh.ingressUrl}/checkout`, { authorization: 'Bearer customer-7' })], [[200, CHECKOUT_SIGNED_IN]]);
    assert.deepEqual([...await send(CHECKOUT_ANONYMOUS, `${mesh.ingressUrl}/checkout`)], [[403, CHECKOUT_ANONYMOUS]]);
    // Outside the mesh, payments' sidecar is out of reach: its listener takes mTLS from mesh identities only.
    for (let i = 0; i < EXTERNAL_TO_PAYMENTS; i++) {
      await assert.rejects(fetch(`${paymentsUrl}/charge`), 'a plaintext request to a mesh listener never gets an answer');
    }

    const allowedThrough = BROWSE + CHECKOUT_SIGNED_IN;
    const expected = allowedThrough * DEMO_HOPS.length + CHECKOUT_ANONYMOUS;
    await eventually(`${expected} l7 taps stored`, async () => await core.store.countTaps({ kind: 'l7.request' }) >= expected);
    await mesh.close();
    assertNoSidecarLoss(lines, mesh.sidecars.size);
    assert.equal(await core.store.countTaps({ kind: 'l7.request' }), expected, 'no taps beyond the expected ones');

    // Decisions per inbound sidecar, as ClickHouse has them.
    const decisions = async (proxy: string) => {
      const rows = await core.store.recentTaps({ kind: 'l7.request', proxy, direction: 'inbound' }, 10_000);
      const tally: Record<string, number> = {};
      for (const r of rows) {
        const key = `${r.status} ${r.decision} ${r.src_service}: ${r.decision_reason}`;
        tally[key] = (tally[key] ?? 0) + 1;
      }
      return tally;
    };
    assert.deepEqual(await decisions('web-1'), {
      '200 allow external: external may call web': allowedThrough,
      '403 deny external: checkout requires a signed-in customer (Authorization header)': CHECKOUT_ANONYMOUS,
    });
    assert.deepEqual(await decisions('catalog-1'), { '200 allow web: web may call catalog': allowedThrough });
    assert.deepEqual(await decisions('cart-1'), { '200 allow web: web may call cart': allowedThrough });
    assert.deepEqual(await decisions('inventory-1'), { '200 allow cart: cart may call inventory': allowedThrough });
    assert.deepEqual(await decisions('payments-1'), { '200 allow cart: cart may call payments': allowedThrough });
    const outbound = await core.store.recentTaps({ kind: 'l7.request', direction: 'outbound' }, 10_000);
    assert.equal(outbound.length, allowedThrough * 4);
    assert.ok(outbound.every((t) => t.decision === undefined), 'outbound taps carry no inbound decision');

    // The sidecars counted the same decisions and ran the control plane's bundle.
    const stats = sidecarFinalStats(lines) as unknown as Map<string, { tls_handshake_failures: number; policy?: { loaded_digest: string; allowed: number; denied: number; errors: number } }>;
    assert.equal(stats.get('payments-1')!.tls_handshake_failures, EXTERNAL_TO_PAYMENTS, 'each outside attempt was refused at the handshake and counted');
    assert.deepEqual(stats.get('web-1')!.policy, { ...stats.get('web-1')!.policy, loaded_digest: digest, allowed: allowedThrough, denied: CHECKOUT_ANONYMOUS, errors: 0 });
    assert.deepEqual(stats.get('payments-1')!.policy, { ...stats.get('payments-1')!.policy, loaded_digest: digest, allowed: allowedThrough, denied: 0, errors: 0 });
  }));
