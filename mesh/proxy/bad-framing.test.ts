import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSidecar } from './index.ts';
import { rawExchange, startHttpServer } from './testing/servers.ts';

const CASES: [string, string][] = [
  ['Content-Length together with Transfer-Encoding: chunked', 'POST /pay HTTP/1.1\r\nHost: cart\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: cart\r\n\r\n'],
  ['two different Content-Length values', 'POST /pay HTTP/1.1\r\nHost: cart\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello12'],
  ['a Content-Length list with different values', 'POST /pay HTTP/1.1\r\nHost: cart\r\nContent-Length: 5, 7\r\n\r\nhello12'],
];

for (const [what, bytes] of CASES) {
  test(`rejects ${what} with 400 MESH_ERR_BAD_FRAMING, closes the connection and counts it`, async (t) => {
    let reached = 0;
    const workload = await startHttpServer((_req, res) => { reached++; res.end('ok'); });
    const sidecar = await startSidecar({ service: 'cart', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: workload.port }, closeGraceMs: 200 });
    t.after(async () => { await sidecar.close(); await workload.close(); });
    const reply = await rawExchange(sidecar.inboundAddress!.port, bytes);
    assert.match(reply, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(reply, /x-meshlens-error: MESH_ERR_BAD_FRAMING\r\n/);
    assert.match(reply, /\r\n\r\nMESH_ERR_BAD_FRAMING: conflicting or duplicate Content-Length\/Transfer-Encoding/);
    assert.equal(reply.match(/HTTP\/1\.1/g)?.length, 1, 'only one response: nothing smuggled');
    assert.equal(reached, 0);
    assert.equal(sidecar.stats().bad_framing, 1);
  });
}

test('answers other unparseable requests with 400 MESH_ERR_BAD_REQUEST, counted apart from framing', async (t) => {
  const workload = await startHttpServer((_req, res) => res.end('ok'));
  const sidecar = await startSidecar({ service: 'cart', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: workload.port }, closeGraceMs: 200 });
  t.after(async () => { await sidecar.close(); await workload.close(); });
  const reply = await rawExchange(sidecar.inboundAddress!.port, 'GET / HTTP/1.1\r\nHost: cart\r\nBad Header Name: x\r\n\r\n');
  assert.match(reply, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.match(reply, /x-meshlens-error: MESH_ERR_BAD_REQUEST/);
  assert.equal(sidecar.stats().bad_requests, 1);
  assert.equal(sidecar.stats().bad_framing, 0);
});
