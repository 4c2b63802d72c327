import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { L4CloseTap } from '../../ingest/index.ts';
import { l7Taps, sidecarHarness } from './testing/sidecar-harness.ts';
import { rawExchange, request } from './testing/servers.ts';

/** A request with honest framing, pipelined behind the attack on the same connection. */
const AFTER = 'GET /after HTTP/1.1\r\nHost: cart\r\nConnection: close\r\n\r\n';

/**
 * What becomes of AFTER: served (the refusal keeps the connection), or dropped (the refusal
 * closes the connection and nothing after it is read: the bytes count as a bad request).
 * Node's parser used to read on past a body framed by `gzip, chunked` and hand what followed
 * as a further request (refused then, the connection condemned); the sidecar's own parser
 * does not read past a body it cannot frame.
 */
type Behind = 'served' | 'dropped';

const CASES: { what: string; bytes: string; status: number; code: string; behind: Behind; tap: [string, string] }[] = [
  { what: 'Transfer-Encoding: gzip, chunked', status: 501, code: 'MESH_ERR_UNSUPPORTED_TRANSFER_CODING', behind: 'dropped', tap: ['POST', '/pay'],
    bytes: 'POST /pay HTTP/1.1\r\nHost: cart\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' },
  { what: 'gzip and chunked on two Transfer-Encoding lines', status: 501, code: 'MESH_ERR_UNSUPPORTED_TRANSFER_CODING', behind: 'dropped', tap: ['POST', '/pay'],
    bytes: 'POST /pay HTTP/1.1\r\nHost: cart\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' },
  { what: 'Transfer-Encoding on an HTTP/1.0 request', status: 400, code: 'MESH_ERR_BAD_FRAMING', behind: 'dropped', tap: ['POST', '/pay'],
    bytes: 'POST /pay HTTP/1.0\r\nHost: cart\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' },
  { what: 'two Host headers', status: 400, code: 'MESH_ERR_BAD_HOST', behind: 'served', tap: ['GET', '/pay'],
    bytes: 'GET /pay HTTP/1.1\r\nHost: cart\r\nHost: admin\r\n\r\n' },
  { what: 'an HTTP/1.1 request without Host', status: 400, code: 'MESH_ERR_BAD_HOST', behind: 'served', tap: ['GET', '/pay'],
    bytes: 'GET /pay HTTP/1.1\r\n\r\n' },
  { what: 'a Host that is a list', status: 400, code: 'MESH_ERR_BAD_HOST', behind: 'served', tap: ['GET', '/pay'],
    bytes: 'GET /pay HTTP/1.1\r\nHost: cart, admin\r\n\r\n' },
  { what: 'an HTTP/2.0 request line', status: 400, code: 'MESH_ERR_BAD_VERSION', behind: 'dropped', tap: ['GET', '/pay'],
    bytes: 'GET /pay HTTP/2.0\r\nHost: cart\r\n\r\n' },
  { what: 'an HTTP/0.9 request line followed by an empty header section', status: 400, code: 'MESH_ERR_BAD_VERSION', behind: 'dropped', tap: ['GET', '/pay'],
    bytes: 'GET /pay\r\n\r\n' },
];

for (const c of CASES) {
  const closes = c.behind !== 'served';
  test(`refuses ${c.what} with ${c.status} ${c.code}, counted and tapped; ${closes ? `closes the connection, the request pipelined behind it ${c.behind}` : 'the connection serves the next request'}; an honest request beside it is unharmed`, async (t) => {
    const h = await sidecarHarness(t);
    const reply = await rawExchange(h.port, c.bytes + AFTER);
    assert.match(reply, new RegExp(`^HTTP/1\\.1 ${c.status} `));
    assert.match(reply, new RegExp(`x-meshlens-error: ${c.code}\\r\\n`));
    assert.equal(/\r\nconnection: close\r\n/i.test(reply.split('\r\n\r\n')[0] + '\r\n'), closes, 'connection: close on the refusal exactly when the message cannot be trusted');
    assert.equal(reply.match(/HTTP\/1\.1 \d{3}/g)!.length, closes ? 1 : 2);

    const honest = await request(h.port, { path: '/honest', headers: { host: 'cart' } });
    assert.equal(honest.status, 200);
    assert.deepEqual(h.workload.seen.map((r) => r.url), closes ? ['/honest'] : ['/after', '/honest'], 'only honest requests reach the workload');

    const taps = await l7Taps(h);
    const behind = { served: [['GET', '/after', 200, '']], dropped: [] }[c.behind];
    assert.deepEqual(taps.map((e) => [e.method, e.path, e.status, e.error]), [[...c.tap, c.status, c.code], ...behind, ['GET', '/honest', 200, '']]);
    const stats = h.sidecar.stats();
    assert.equal(stats.inbound.errors[c.code], 1, 'every refusal counted by code');
    assert.equal(stats.bad_requests, c.behind === 'dropped' ? 1 : 0, 'bytes after a connection-ending request counted');
  });
}

test('answers a bare HTTP/0.9 request line at once with 400 MESH_ERR_BAD_VERSION and closes, counted; no request reaches a stage or the workload', { timeout: 10_000 }, async (t) => {
  const h = await sidecarHarness(t);
  // A real HTTP/0.9 client sends this one line and waits: no header section ever follows.
  const reply = await rawExchange(h.port, 'GET /pay\r\n');
  assert.match(reply, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.match(reply, /x-meshlens-error: MESH_ERR_BAD_VERSION\r\n/);
  assert.match(reply, /MESH_ERR_BAD_VERSION: HTTP\/0\.9 request line "GET \/pay"/);
  assert.equal((await request(h.port, { path: '/honest' })).status, 200);
  assert.deepEqual(h.workload.seen.map((r) => r.url), ['/honest']);
  assert.equal(h.sidecar.stats().bad_requests, 1);
  const taps = await l7Taps(h);
  assert.deepEqual(taps.map((e) => e.path), ['/honest'], 'no request object, no l7 tap');
  const closes = h.collector.events().filter((e): e is L4CloseTap => e.kind === 'l4.close');
  assert.ok(closes.some((e) => e.error === 'MESH_ERR_BAD_VERSION'), 'the connection tap names why it was closed');
});

test('inbound, an HTTP/1.0 request without Host is for the local service: forwarded with Host set to it and tapped with that authority', async (t) => {
  const h = await sidecarHarness(t);
  const reply = await rawExchange(h.port, 'GET /pay HTTP/1.0\r\n\r\n');
  assert.match(reply, /^HTTP\/1\.1 200 /);
  assert.deepEqual(h.workload.seen.map((r) => [r.url, r.headers.host]), [['/pay', 'cart']]);
  const [tap] = await l7Taps(h);
  assert.deepEqual([tap.path, tap.authority, tap.status, tap.error], ['/pay', 'cart', 200, '']);
});

test('outbound, an HTTP/1.0 request without Host has nothing to route by: 400 MESH_ERR_NO_AUTHORITY, counted and tapped; an honest request beside it is routed', async (t) => {
  const h = await sidecarHarness(t, 'outbound');
  const reply = await rawExchange(h.port, 'GET /pay HTTP/1.0\r\n\r\n');
  assert.match(reply, /^HTTP\/1\.1 400 /);
  assert.match(reply, /x-meshlens-error: MESH_ERR_NO_AUTHORITY\r\n/);
  assert.equal((await request(h.port, { path: '/honest', headers: { host: 'cart' } })).status, 200);
  assert.deepEqual(h.workload.seen.map((r) => r.url), ['/honest']);
  const taps = await l7Taps(h);
  assert.deepEqual(taps.map((e) => [e.path, e.status, e.error]), [['/pay', 400, 'MESH_ERR_NO_AUTHORITY'], ['/honest', 200, '']]);
  assert.equal(h.sidecar.stats().outbound.errors.MESH_ERR_NO_AUTHORITY, 1);
});
