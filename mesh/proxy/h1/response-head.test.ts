import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkedDecoder, ChunkedError } from './chunked-decoder.ts';
import { MAX_HEAD_BYTES, parseResponseHead, ResponseHeadError } from './response-head.ts';

const head = (s: string) => parseResponseHead(Buffer.from(s, 'latin1'));

test('a response head gives status, reason, raw headers in order and case, its size, and how its body is framed', () => {
  const h = head('HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-Trace: a b \r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nhello')!;
  assert.deepEqual([h.minor, h.status, h.reason, h.framing, h.contentLength, h.close], [1, 201, 'Created', 'length', 5, false]);
  assert.deepEqual(h.raw, ['Content-Length', '5', 'X-Trace', 'a b', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']);
  assert.equal(h.size, Buffer.byteLength('HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-Trace: a b \r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n'));
  assert.equal(head('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')!.framing, 'chunked');
  assert.equal(head('HTTP/1.1 200 OK\r\n\r\n')!.framing, 'close', 'no length: the body runs until the upstream closes');
  assert.equal(head('HTTP/1.1 204\r\n\r\n')!.reason, '', 'the reason phrase may be absent');
});

test('an incomplete head waits for more; one past the size bound is refused before its end arrives', () => {
  assert.equal(head('HTTP/1.1 200 OK\r\nContent-Len'), null);
  assert.throws(() => head(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(MAX_HEAD_BYTES)}`), /larger than 16384 bytes/);
});

test('Connection: close and HTTP/1.0 without keep-alive end the connection after the response; 1.0 with keep-alive does not', () => {
  assert.equal(head('HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n')!.close, true);
  assert.equal(head('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n')!.close, true);
  assert.equal(head('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n')!.close, false);
});

test('a response two readers could frame differently is refused, naming what is wrong (response splitting and smuggling shapes)', () => {
  const refused: [string, RegExp][] = [
    ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n', /both Content-Length and Transfer-Encoding/],
    ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n', /two Content-Lengths: 5 and 6/],
    ['HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n', /disagrees with itself/],
    ['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', /is not a length/],
    ['HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n', /is not a length/],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', /only one "chunked"/],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n', /only one "chunked"/],
    ['HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', /Transfer-Encoding on HTTP\/1.0/],
    ['HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n', /bad header line/],
    ['HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n', /bad header name/],
    ['HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n', /CR, LF or NUL/],
    ['HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n', /CR, LF or NUL/],
    ['HTTP/2.0 200 OK\r\n\r\n', /bad status line/],
    ['HTTP/1.1 99 Low\r\n\r\n', /bad status line/],
    ['HTTP/1.1 2000 OK\r\n\r\n', /bad status line/],
    ['ICY 200 OK\r\n\r\n', /bad status line/],
  ];
  for (const [text, why] of refused) assert.throws(() => head(text), (e: Error) => e instanceof ResponseHeadError && why.test(e.message), JSON.stringify(text));
  assert.equal(head('HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n')!.contentLength, 5, 'one length said twice is one length');
});

function decode(pieces: string[]): { body: string; trailers: string[]; rest: string } {
  const d = new ChunkedDecoder();
  let body = '';
  let rest = '';
  for (const p of pieces) {
    const buf = Buffer.from(p, 'latin1');
    const used = d.feed(buf, 0, (c) => { body += c.toString('latin1'); });
    if (d.done) rest += buf.subarray(used).toString('latin1');
  }
  assert.equal(d.done, true);
  return { body, trailers: d.trailers, rest };
}

test('a chunked body decodes whatever the pieces it arrives in, skipping extensions, keeping trailers, stopping where it ends', () => {
  const wire = '5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nGrpc-Status: 0\r\n\r\nNEXT';
  assert.deepEqual(decode([wire]), { body: 'hello world', trailers: ['Grpc-Status', '0'], rest: 'NEXT' });
  assert.deepEqual(decode(wire.split('')).body, 'hello world', 'one byte at a time');
  assert.equal(decode(['A\r\n0123456789\r\n0\r\n\r\n']).body, '0123456789', 'hex sizes');
});

test('a chunked body that is not well-formed is an error, never a guess', () => {
  for (const [wire, why] of [
    ['g\r\nx\r\n0\r\n\r\n', /bad chunk size/],
    ['5\r\nhelloXX0\r\n\r\n', /not followed by CRLF/],
    ['5\nhello\r\n0\r\n\r\n', /bare LF/],
    ['-5\r\nhello\r\n0\r\n\r\n', /bad chunk size/],
    [`${'1'.repeat(13)}\r\n`, /bad chunk size/],
    [`5;${'x'.repeat(5000)}`, /longer than 4096/],
  ] as const) {
    assert.throws(() => new ChunkedDecoder().feed(Buffer.from(wire, 'latin1'), 0, () => {}), (e: Error) => e instanceof ChunkedError && why.test(e.message), wire.slice(0, 20));
  }
});
