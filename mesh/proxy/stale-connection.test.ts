import assert from 'node:assert/strict';
import type net from 'node:net';
import { test } from 'node:test';
import { startSidecar } from './index.ts';
import { request, startTcpServer } from './testing/servers.ts';

/**
 * A workload that answers the first request on each connection with keep-alive
 * and resets the connection when a second request arrives on it: the race of a
 * server closing an idle pooled socket just as the proxy reuses it.
 */
async function resettingWorkload() {
  let connections = 0;
  const server = await startTcpServer((socket: net.Socket) => {
    connections++;
    let requests = 0;
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      while (buf.includes('\r\n\r\n')) {
        const head = buf.slice(0, buf.indexOf('\r\n\r\n'));
        const len = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < head.length + 4 + len) return;
        buf = buf.slice(head.length + 4 + len);
        requests++;
        if (requests === 2) { socket.resetAndDestroy(); return; }
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok');
      }
    });
    socket.on('error', () => {});
  });
  return { server, connections: () => connections };
}

test('replays a bodyless request once on a new connection when the pooled one is reset under it', async (t) => {
  const w = await resettingWorkload();
  const sidecar = await startSidecar({ service: 'cart', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: w.server.port }, closeGraceMs: 200 });
  t.after(async () => { await sidecar.close(); await w.server.close(); });
  const port = sidecar.inboundAddress!.port;
  assert.equal((await request(port, { path: '/a' })).status, 200);
  const second = await request(port, { path: '/b' }); // goes out on the pooled socket, which resets
  assert.equal(second.status, 200, `replayed on a fresh connection, got ${second.status} ${second.body}`);
  assert.equal(w.connections(), 2);
});

test('a request with a body is not replayed: the reset answers 502 MESH_ERR_UPSTREAM_RESET', async (t) => {
  const w = await resettingWorkload();
  const sidecar = await startSidecar({ service: 'cart', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: w.server.port }, closeGraceMs: 200 });
  t.after(async () => { await sidecar.close(); await w.server.close(); });
  const port = sidecar.inboundAddress!.port;
  assert.equal((await request(port, { path: '/a', method: 'POST', body: 'x' })).status, 200);
  const second = await request(port, { path: '/b', method: 'POST', body: 'payload' });
  assert.equal(second.status, 502);
  assert.equal(second.headers['x-meshlens-error'], 'MESH_ERR_UPSTREAM_RESET');
  assert.equal(w.connections(), 1);
});
