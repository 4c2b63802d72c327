import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { runOpenLoop } from './open-loop.ts';

async function listening(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}
const closed = (server: net.Server) => new Promise((resolve) => { server.close(resolve); (server as http.Server).closeAllConnections?.(); });

test('every scheduled request against a prompt server completes, each recorded once', async () => {
  const server = http.createServer((_req, res) => res.end('ok'));
  const port = await listening(server);
  const r = await runOpenLoop({ port, rate: 400, seconds: 0.5, connections: 4, authority: 'upstream' });
  await closed(server);
  assert.deepEqual([r.scheduled, r.completed, r.latency.count, r.errors], [200, 200, 200, {}]);
  assert.equal(r.connectionsOpened, 4);
});

test('a server stalling 200 ms once shows the stall in every request scheduled during it, not only in the one it held', async () => {
  // The whole server stops answering for 200 ms once, 300 ms after its first request:
  // what arrives meanwhile is answered when the stall ends.
  let first = 0;
  let stallEnd = 0;
  const server = http.createServer((_req, res) => {
    const now = Date.now();
    first ||= now;
    if (!stallEnd && now - first >= 300) stallEnd = now + 200;
    if (now < stallEnd) setTimeout(() => res.end('late'), stallEnd - now);
    else res.end('ok');
  });
  const port = await listening(server);
  // 200 req/s: one due every 5 ms, 4 connections. Those due in the stall's first 100 ms
  // (20 of them) wait on a held connection or in the queue for at least 100 ms.
  const r = await runOpenLoop({ port, rate: 200, seconds: 1, connections: 4 });
  await closed(server);
  assert.equal(r.completed, 200);
  assert.ok(r.latency.max >= 200_000, `max ${r.latency.max} µs: the request that met the stall waited 200 ms`);
  const slow = r.latency.countAtLeast(100_000);
  assert.ok(slow >= 19, `${slow} requests took ≥ 100 ms; a generator timing from the actual send would show at most 4 (one per connection)`);
  assert.ok(r.maxQueued > 0, 'requests queued for a connection during the stall');
});

test('a request waiting for the only connection counts its wait: one connection, 20 ms per request, due every 10 ms', async () => {
  const server = http.createServer((_req, res) => setTimeout(() => res.end('ok'), 20));
  const port = await listening(server);
  const r = await runOpenLoop({ port, rate: 100, seconds: 0.5, connections: 1 });
  await closed(server);
  // Request i is due at 10·i ms and cannot end before 20·(i+1) ms: the last (i = 49) waited ≥ 510 ms.
  assert.equal(r.completed, 50);
  assert.equal(r.connectionsOpened, 1);
  assert.ok(r.latency.max >= 510_000, `max ${r.latency.max} µs`);
  assert.ok(r.latency.percentile(50) >= 260_000, `p50 ${r.latency.percentile(50)} µs (request 24 waited ≥ 260 ms)`);
});

test('a server closing the connection after each response gets a new connection for the next request', async () => {
  const server = http.createServer((_req, res) => { res.setHeader('connection', 'close'); res.end('bye'); });
  const port = await listening(server);
  const r = await runOpenLoop({ port, rate: 200, seconds: 0.25, connections: 2 });
  await closed(server);
  assert.deepEqual([r.completed, r.errors], [50, {}]);
  assert.ok(r.connectionsOpened >= 50, `${r.connectionsOpened} connections opened`);
});

test('failures are counted by kind: non-2xx statuses and connections closed mid-request', async () => {
  let n = 0;
  const server = http.createServer((req, res) => {
    if (n++ % 2) { res.statusCode = 503; res.end('busy'); } else req.socket.destroy();
  });
  const port = await listening(server);
  const r = await runOpenLoop({ port, rate: 200, seconds: 0.2, connections: 2 });
  await closed(server);
  const errors = Object.values(r.errors).reduce((a, b) => a + b, 0);
  assert.equal(errors, 40, JSON.stringify(r.errors));
  assert.equal(r.errors['status 503'], r.completed);
  assert.ok(r.completed > 0 && r.completed < 40, `${r.completed} answered 503, the rest were cut`);
});
