import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseReader } from './http1-response.ts';

const feedAll = (r: ResponseReader, text: string, step = text.length) => {
  const out = [];
  for (let i = 0; i < text.length; i += step) out.push(...r.feed(Buffer.from(text.slice(i, i + step), 'latin1')));
  return out;
};

test('a Content-Length response fed a byte at a time ends exactly after its body', () => {
  const r = new ResponseReader();
  const one = 'HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nhello from upstream\n';
  assert.deepEqual(feedAll(r, one.slice(0, -1), 1), []);
  assert.deepEqual(r.feed(Buffer.from('\n')), [{ status: 200, close: false }]);
});

test('two responses arriving in one read are both reported, in order', () => {
  const r = new ResponseReader();
  const text = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';
  assert.deepEqual(feedAll(r, text), [{ status: 200, close: false }, { status: 503, close: true }]);
});

test('a chunked response with an extension and trailers ends after its trailers', () => {
  const text = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n';
  for (const step of [1, 3, text.length]) assert.deepEqual(feedAll(new ResponseReader(), text, step), [{ status: 200, close: false }], `step ${step}`);
});

test('204 and 1xx have no body; an interim 100 is not a response end', () => {
  const r = new ResponseReader();
  assert.deepEqual(feedAll(r, 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n'), [{ status: 204, close: false }]);
});

test('HTTP/1.0 without keep-alive closes the connection', () => {
  assert.deepEqual(feedAll(new ResponseReader(), 'HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n'), [{ status: 200, close: true }]);
});

test('bytes that are not an HTTP/1.x response, or a body framed by close, are refused', () => {
  assert.throws(() => new ResponseReader().feed(Buffer.from('\x00\x00\x12\x04\x00\x00\x00\x00\x00\r\n\r\n', 'latin1')), /not an HTTP\/1.x response/);
  assert.throws(() => new ResponseReader().feed(Buffer.from('HTTP/1.1 200 OK\r\n\r\nbody')), /without Content-Length or chunked/);
});
