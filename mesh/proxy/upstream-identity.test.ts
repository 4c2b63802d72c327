import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSidecar } from './index.ts';
import { testIdentities } from './testing/identities.ts';
import { request, startHttpServer } from './testing/servers.ts';

// A route that leads to the wrong service: an endpoint list pointing at
// payments' sidecar under catalog's name (a stale or forged registration).
// The caller's sidecar checks the SPIFFE id in the handshake.
test('an outbound request to an endpoint whose certificate is another service\'s is refused 502 MESH_ERR_UPSTREAM_IDENTITY, and its workload never sees it', async (t) => {
  const ids = await testIdentities();
  let reached = 0;
  const workload = await startHttpServer((_req, res) => { reached++; res.end('payments'); });
  const payments = await startSidecar({
    id: 'payments-1', service: 'payments', staticIdentity: await ids.identity('payments'), taps: { enabled: false }, closeGraceMs: 100,
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: workload.port },
  });
  const web = await startSidecar({
    id: 'web-1', service: 'web', staticIdentity: await ids.identity('web'), taps: { enabled: false }, closeGraceMs: 100,
    outbound: { host: '127.0.0.1', port: 0 },
    routes: [
      { authority: 'catalog', endpoints: [{ host: '127.0.0.1', port: payments.inboundAddress!.port }] },
      { authority: 'payments', endpoints: [{ host: '127.0.0.1', port: payments.inboundAddress!.port }] },
    ],
  });
  t.after(async () => { await web.close(); await payments.close(); await workload.close(); });

  const wrong = await request(web.outboundAddress!.port, { path: '/items', headers: { host: 'catalog' } });
  assert.equal(wrong.status, 502);
  assert.equal(wrong.headers['x-meshlens-error'], 'MESH_ERR_UPSTREAM_IDENTITY');
  assert.match(wrong.body, /is not spiffe:\/\/test\.local\/ns\/default\/sa\/catalog: ERR_MESH_PEER_IDENTITY peer is spiffe:\/\/test\.local\/ns\/default\/sa\/payments/);
  assert.equal(reached, 0, 'the request never reached the workload behind the wrong identity');
  // The same endpoint under its own name is fine.
  const right = await request(web.outboundAddress!.port, { path: '/items', headers: { host: 'payments' } });
  assert.deepEqual([right.status, right.body, reached], [200, 'payments', 1]);
  assert.equal(web.stats().outbound.errors.MESH_ERR_UPSTREAM_IDENTITY, 1);
});
