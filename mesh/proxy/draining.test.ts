import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { test } from 'node:test';
import { startFaultyUpstream } from './testing/faulty-upstream.ts';
import { cluster, outboundSidecar, until } from './testing/outbound-harness.ts';
import { request } from './testing/servers.ts';

test('an endpoint dropped from the config finishes the request in flight to it, gets no new one, and its connections are closed after', async (t) => {
  // The held request's server, watching its connections close.
  let open = 0;
  let release = () => {};
  const held = http.createServer((req, res) => { req.resume(); release = () => res.end('old'); });
  held.on('connection', (s: net.Socket) => { open++; s.once('close', () => open--); });
  await new Promise<void>((r) => held.listen(0, '127.0.0.1', () => r()));
  const heldPort = (held.address() as net.AddressInfo).port;
  const stays = await startFaultyUpstream('stays');
  t.after(async () => { release(); held.closeAllConnections(); await new Promise((r) => held.close(r)); await stays.close(); });
  const m = await outboundSidecar(t);
  await m.push([cluster('cart', [heldPort, stays.port])]);

  const inFlight = m.call('cart', { path: '/slow' }); // round robin: the first goes to heldPort
  await until(() => open === 1 && m.sidecar.stats().resilience.cart?.endpoints.some((e) => e.outstanding === 1));
  await m.push([cluster('cart', [stays.port])]);
  const gone = m.sidecar.stats().resilience.cart.endpoints.find((e) => e.addr === `127.0.0.1:${heldPort}`);
  assert.deepEqual([gone?.removed, gone?.outstanding], [true, 1], 'draining');
  for (let i = 0; i < 3; i++) assert.equal((await m.call('cart')).body, 'stays');

  release();
  assert.deepEqual([(await inFlight).status, (await inFlight).body], [200, 'old'], 'the request in flight finished');
  await until(() => open === 0);
  const c = m.sidecar.stats().resilience.cart;
  assert.equal(c.drained, 1);
  assert.deepEqual(c.endpoints.map((e) => e.addr), [`127.0.0.1:${stays.port}`]);
});

test('close() lets a request in flight finish within the grace period while refusing new connections', async (t) => {
  const slow = await startFaultyUpstream('slow', () => 'hold');
  t.after(async () => { slow.releaseAll(); await slow.close(); });
  const m = await outboundSidecar(t);
  await m.push([cluster('cart', [slow.port])]);
  const port = m.sidecar.outboundAddress!.port;
  const inFlight = m.call('cart');
  await slow.arrived(1);
  const closed = m.sidecar.close();
  await assert.rejects(request(port, { headers: { host: 'cart' } }), { code: 'ECONNREFUSED' });
  slow.releaseAll();
  assert.deepEqual([(await inFlight).status, (await inFlight).body], [200, 'slow']);
  await closed;
  const taps = m.collector.events().filter((e) => e.kind === 'l7.request');
  assert.equal(taps.length, 1, 'its tap flushed on the way out');
});
