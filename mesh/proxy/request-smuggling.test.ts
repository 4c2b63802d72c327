import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rawExchange } from './testing/servers.ts';
import { l7Taps, sidecarHarness } from './testing/sidecar-harness.ts';

// The attack: a body that is itself a request, on a method Node's client does
// not chunk by default. Unframed on the way to the workload, it would run as a
// second request that no policy checked and no tap recorded.
const SMUGGLED = 'GET /admin HTTP/1.1\r\nHost: cart\r\n\r\n';
const chunked = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n0\r\n\r\n`;
const HONEST = 'GET /next HTTP/1.1\r\nHost: cart\r\nConnection: close\r\n\r\n';

const CASES: { direction: 'inbound' | 'outbound'; method: string; framing: 'chunked' | 'length' }[] = [
  { direction: 'inbound', method: 'GET', framing: 'chunked' },
  { direction: 'inbound', method: 'DELETE', framing: 'chunked' },
  { direction: 'inbound', method: 'OPTIONS', framing: 'chunked' },
  { direction: 'inbound', method: 'GET', framing: 'length' },
  { direction: 'outbound', method: 'GET', framing: 'chunked' },
];

for (const { direction, method, framing } of CASES) {
  test(`${direction}: a ${method} whose ${framing === 'chunked' ? 'chunked' : 'Content-Length'} body is a second request reaches the workload as one request carrying that body, framed; the request after it on the connection is unharmed; one tap each`, async (t) => {
    const h = await sidecarHarness(t, direction);
    const { workload, port } = h;

    const body = framing === 'chunked' ? chunked(SMUGGLED) : SMUGGLED;
    const framingHeader = framing === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${Buffer.byteLength(SMUGGLED)}`;
    const reply = await rawExchange(port, `${method} /a HTTP/1.1\r\nHost: cart\r\n${framingHeader}\r\n\r\n${body}${HONEST}`);

    assert.deepEqual(reply.match(/HTTP\/1\.1 \d{3}/g), ['HTTP/1.1 200', 'HTTP/1.1 200'], 'one answer per request sent');
    assert.match(reply, new RegExp(`ok ${method} /a`));
    assert.match(reply, /ok GET \/next/);
    assert.deepEqual(workload.seen.map((r) => [r.method, r.url, r.body]), [[method, '/a', SMUGGLED], ['GET', '/next', '']],
      'the workload parsed exactly the two requests sent, the smuggled one only as a body');
    const first = workload.seen[0].headers;
    if (framing === 'chunked') {
      assert.equal(first['transfer-encoding'], 'chunked');
      assert.equal(first['content-length'], undefined);
    } else {
      assert.equal(first['content-length'], String(Buffer.byteLength(SMUGGLED)));
    }

    const taps = await l7Taps(h);
    assert.deepEqual(taps.map((e) => [e.direction, e.method, e.path, e.status, e.req_bytes, e.error]), [
      [direction, method, '/a', 200, Buffer.byteLength(SMUGGLED), ''],
      [direction, 'GET', '/next', 200, 0, ''],
    ]);
  });
}
