// The upstream pool against a scripted HTTP/1.1 server on a real socket:
// each test says how the server answers, byte for byte.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Readable } from 'node:stream';
import { UpstreamPool } from './upstream-pool.ts';
import type { UpstreamError } from './upstream-conn.ts';

/** A server that hands each request's head (and the socket) to `answer`; counts connections. */
async function scripted(answer: (head: string, sock: net.Socket, nth: number) => void) {
  let connections = 0;
  const heads: string[] = [];
  const server = net.createServer((sock) => {
    connections++;
    let buf = '';
    let nth = 0;
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end + 4);
        buf = buf.slice(end + 4);
        const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        const body = buf.slice(0, len);
        buf = buf.slice(len);
        heads.push(head + body);
        answer(head + body, sock, ++nth);
      }
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const pool = new UpstreamPool({ host: '127.0.0.1', port, maxSockets: 4, idleMs: 1000 });
  return {
    pool, port, heads, get connections() { return connections; },
    close: () => { pool.close(); return new Promise<void>((r) => server.close(() => r())); },
  };
}

interface Got { status: number; raw: string[]; body: string; trailers: string[]; error?: UpstreamError }

function send(pool: UpstreamPool, head = 'GET / HTTP/1.1\r\nhost: x\r\n\r\n', opts: { isHead?: boolean; body?: { stream: Readable; framing: 'length' | 'chunked' } } = {}): Promise<Got> {
  return new Promise((resolve) => {
    const got: Got = { status: 0, raw: [], body: '', trailers: [] };
    pool.dispatch({
      head, body: opts.body ?? null, isHead: opts.isHead ?? false,
      onResponse: (h) => { got.status = h.status; got.raw = h.raw; },
      onData: (c) => { got.body += c.toString('latin1'); return true; },
      onEnd: (t) => { got.trailers = t; resolve(got); },
      onError: (e) => { got.error = e; resolve(got); },
    }, 1000);
  });
}

test('keeps the connection: sequential requests share one socket; length, chunked (with trailers) and 204 bodies are framed right', async () => {
  const s = await scripted((head, sock, nth) => {
    if (nth === 1) sock.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello');
    else if (nth === 2) { sock.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc'); setTimeout(() => sock.write('\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n'), 20); }
    else sock.write('HTTP/1.1 204 No Content\r\n\r\n');
  });
  try {
    const a = await send(s.pool);
    const b = await send(s.pool);
    const c = await send(s.pool);
    assert.deepEqual([a.status, a.body, b.status, b.body, b.trailers, c.status, c.body], [200, 'hello', 200, 'abcde', ['X-T', '1'], 204, '']);
    assert.equal(s.connections, 1);
  } finally { await s.close(); }
});

test('a HEAD response has no body whatever its Content-Length says, and the socket is reused after it', async () => {
  const s = await scripted((head, sock) => sock.write(head.startsWith('HEAD') ? 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n' : 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  try {
    const h = await send(s.pool, 'HEAD / HTTP/1.1\r\nhost: x\r\n\r\n', { isHead: true });
    assert.deepEqual([h.status, h.body, h.raw], [200, '', ['Content-Length', '100']]);
    assert.equal((await send(s.pool)).body, 'ok');
    assert.equal(s.connections, 1);
  } finally { await s.close(); }
});

test('a body without a length runs until the upstream closes, and that socket is not reused', async () => {
  const s = await scripted((head, sock) => { sock.write('HTTP/1.1 200 OK\r\n\r\nuntil'); setTimeout(() => sock.end(' close'), 20); });
  try {
    assert.equal((await send(s.pool)).body, 'until close');
    assert.equal((await send(s.pool)).body, 'until close');
    assert.equal(s.connections, 2);
  } finally { await s.close(); }
});

test('a kept-alive socket closed under a request before any response is told apart (stale) from a fresh one that fails (reset)', async () => {
  const s = await scripted((head, sock) => { if (head.includes('/drop')) sock.destroy(); else sock.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'); });
  const get = (path: string) => send(s.pool, `GET ${path} HTTP/1.1\r\nhost: x\r\n\r\n`);
  try {
    assert.equal((await get('/ok')).status, 200);
    assert.deepEqual([(await get('/drop')).error?.kind, s.connections], ['stale', 1], 'on the kept-alive socket: may be replayed');
    assert.deepEqual([(await get('/drop')).error?.kind, s.connections], ['reset', 2], 'on a new socket: the upstream really failed');
  } finally { await s.close(); }
});

test('a response cut mid-body is a reset after the response began; a malformed one is a protocol error; neither socket is reused', async () => {
  const s = await scripted((head, sock, nth) => {
    if (head.includes('/cut')) { sock.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'); setTimeout(() => sock.destroy(), 20); }
    else sock.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab');
  });
  try {
    const cut = await send(s.pool, 'GET /cut HTTP/1.1\r\nhost: x\r\n\r\n');
    assert.deepEqual([cut.error?.kind, cut.error?.responded, cut.body], ['reset', true, 'abc']);
    const bad = await send(s.pool, 'GET /bad HTTP/1.1\r\nhost: x\r\n\r\n');
    assert.equal(bad.error?.kind, 'protocol');
    assert.match(bad.error!.message, /two Content-Lengths/);
    assert.equal(s.connections, 2);
  } finally { await s.close(); }
});

test('bytes after a complete response (a second, unasked-for answer) make the socket unusable: the next request gets a new one', async () => {
  const s = await scripted((head, sock) => sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil'));
  try {
    assert.equal((await send(s.pool)).body, 'ok');
    assert.equal((await send(s.pool)).body, 'ok', 'not "evil"');
    assert.equal(s.connections, 2);
  } finally { await s.close(); }
});

test('request bodies go out framed as the head says: as received by length, re-chunked when chunked', async () => {
  const s = await scripted((head, sock) => sock.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
  try {
    await send(s.pool, 'POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 6\r\n\r\n', { body: { stream: Readable.from([Buffer.from('abc'), Buffer.from('def')]), framing: 'length' } });
    assert.equal(s.heads[0], 'POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 6\r\n\r\nabcdef');
    const raw: Buffer[] = [];
    const server = net.createServer((sock) => { sock.on('data', (d) => { raw.push(d); if (Buffer.concat(raw).includes('0\r\n\r\n')) sock.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'); }); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const pool = new UpstreamPool({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, maxSockets: 1, idleMs: 1000 });
    const r = await send(pool, 'POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n', { body: { stream: Readable.from([Buffer.from('abc'), Buffer.from('de')]), framing: 'chunked' } });
    assert.equal(r.status, 200);
    assert.equal(Buffer.concat(raw).toString('latin1'), 'POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n');
    pool.close();
    server.close();
  } finally { await s.close(); }
});

test('an early answer (before the request body is all sent) is passed on, and that socket is not reused', async () => {
  const s = await scripted((head, sock) => sock.write('HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n'));
  try {
    const never = new Readable({ read() {} });
    never.push('partial');
    const r = await send(s.pool, 'POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n', { body: { stream: never, framing: 'length' } });
    assert.equal(r.status, 413);
    assert.equal((await send(s.pool)).status, 413);
    assert.equal(s.connections, 2);
  } finally { await s.close(); }
});

test('at most maxSockets connections: further requests wait for a free one and all complete', async () => {
  const s = await scripted((head, sock) => setTimeout(() => sock.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx'), 10));
  const two = new UpstreamPool({ host: '127.0.0.1', port: s.port, maxSockets: 2, idleMs: 1000 });
  try {
    const all = await Promise.all(Array.from({ length: 6 }, () => send(two)));
    assert.deepEqual(all.map((g) => g.body), ['x', 'x', 'x', 'x', 'x', 'x']);
    assert.equal(s.connections, 2);
  } finally { two.close(); await s.close(); }
});

test('a refused connection is a connect error with its code', async () => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  const pool = new UpstreamPool({ host: '127.0.0.1', port, maxSockets: 1, idleMs: 1000 });
  const r = await send(pool);
  assert.deepEqual([r.error?.kind, r.error?.code], ['connect', 'ECONNREFUSED']);
  assert.equal(pool.size, 0);
});
