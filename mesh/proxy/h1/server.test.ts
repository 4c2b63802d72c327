// The lean HTTP/1.1 server on real sockets, spoken to byte for byte.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { MeshError } from '../errors.ts';
import { H1Server } from './server.ts';
import type { LeanRequest, LeanResponse } from './server-messages.ts';
import type { H1Handlers } from './server-conn.ts';

interface Seen { method: string; url: string; version: string; body: string; headers: Record<string, string | string[]> }

async function serve(t: { after(f: () => Promise<void> | void): void }, answer?: (req: LeanRequest, res: LeanResponse, body: string) => void, extra: Partial<H1Handlers> = {}, opts = { headersTimeoutMs: 2_000, keepAliveTimeoutMs: 2_000 }) {
  const seen: Seen[] = [];
  const errors: string[] = [];
  let discarded = 0;
  const h1 = new H1Server({
    request: (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString('latin1'); });
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, version: req.httpVersion, body, headers: req.headers });
        if (answer) answer(req, res, body);
        else res.end(`${req.method} ${req.url} ${body}`);
      });
    },
    clientError: (err: MeshError, socket) => { errors.push(`${err.code}: ${err.message}`); socket.end(`HTTP/1.1 ${err.status} X\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`); },
    discarded: () => { discarded++; },
    ...extra,
  }, opts);
  const server = net.createServer((s) => h1.accept(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => { h1.closeAll(); return new Promise<void>((r) => server.close(() => r())); });
  const port = (server.address() as net.AddressInfo).port;
  return { port, seen, errors, get discarded() { return discarded; }, h1 };
}

/** Sends `bytes` (pieces with a pause between), reads until the server closes or `until` matches. */
function exchange(port: number, bytes: string | string[], until?: RegExp, pauseMs = 20): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => { s.destroy(); resolve(got); }, 3_000);
    s.on('data', (d) => { got += d.toString('latin1'); if (until?.test(got)) { clearTimeout(timer); s.destroy(); resolve(got); } });
    s.on('close', () => { clearTimeout(timer); resolve(got); });
    s.on('error', reject);
    const pieces = Array.isArray(bytes) ? bytes : [bytes];
    let i = 0;
    const next = () => { if (i < pieces.length) { s.write(pieces[i++], 'latin1'); setTimeout(next, pauseMs); } };
    next();
  });
}

const statuses = (reply: string) => [...reply.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));

test('keeps the connection: pipelined requests are answered in order, one at a time, bodies by length and chunked included', async (t) => {
  const s = await serve(t);
  const reply = await exchange(s.port, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcPOST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n', /POST \/c def/);
  assert.deepEqual(statuses(reply), [200, 200, 200]);
  assert.deepEqual(s.seen.map((r) => [r.method, r.url, r.body]), [['GET', '/a', ''], ['POST', '/b', 'abc'], ['POST', '/c', 'def']]);
  assert.match(reply, /Content-Length: 7\r\n/, 'end(body) before any write: the length is known');
});

test('a head and body split across many small writes are put back together', async (t) => {
  const s = await serve(t);
  const wire = 'POST /split HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello';
  const reply = await exchange(s.port, wire.match(/.{1,3}/gs)!, /hello$/, 2);
  assert.deepEqual(statuses(reply), [200]);
  assert.equal(s.seen[0].body, 'hello');
});

test('response framing: a streamed body is chunked to HTTP/1.1 and ends the connection for HTTP/1.0; HEAD and 204 carry none', async (t) => {
  const s = await serve(t, (req, res) => {
    if (req.url === '/204') { res.writeHead(204); res.end(); return; }
    res.writeHead(200, ['X-Kind', 'stream']);
    res.write('ab');
    res.end('cd');
  });
  const chunked = await exchange(s.port, 'GET /s HTTP/1.1\r\nHost: x\r\n\r\n', /0\r\n\r\n$/);
  assert.match(chunked, /^HTTP\/1\.1 200 OK\r\nX-Kind: stream\r\nDate: .*\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n$/);
  const old = await exchange(s.port, 'GET /s HTTP/1.0\r\n\r\n');
  assert.match(old, /^HTTP\/1\.1 200 OK\r\n[^]*Connection: close\r\n\r\nabcd$/, 'no chunked to a 1.0 client: the body runs until close');
  const head = await exchange(s.port, 'HEAD /s HTTP/1.1\r\nHost: x\r\n\r\nGET /204 HTTP/1.1\r\nHost: x\r\n\r\n', /204 No Content[^]*\r\n\r\n/);
  assert.deepEqual(statuses(head), [200, 204]);
  assert.doesNotMatch(head, /ab|cd/, 'no body bytes after a HEAD or a 204');
});

test('Connection: close and HTTP/1.0 end the connection after the response; bytes after such a request are not read, and said once', async (t) => {
  const s = await serve(t);
  const reply = await exchange(s.port, 'GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.deepEqual(statuses(reply), [200]);
  assert.match(reply, /Connection: close\r\n/);
  assert.deepEqual(s.seen.map((r) => r.url), ['/last']);
  assert.equal(s.discarded, 1);
  const kept = await exchange(s.port, 'GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n');
  assert.deepEqual(statuses(kept), [200, 200], 'HTTP/1.0 with keep-alive keeps it');
  assert.match(kept, /Connection: keep-alive\r\n/);
});

test('request smuggling shapes are refused before any request is made, naming what is wrong', async (t) => {
  const s = await serve(t);
  const cases: [string, RegExp][] = [
    ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', /MESH_ERR_BAD_FRAMING: .*both Content-Length and Transfer-Encoding/],
    ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello', /MESH_ERR_BAD_FRAMING: .*two Content-Length headers/],
    ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello', /MESH_ERR_BAD_FRAMING: .*is not a length/],
    ['GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n', /MESH_ERR_BAD_REQUEST: a folded header line/],
    ['GET / HTTP/1.1\nHost: x\r\n\r\n', /MESH_ERR_BAD_REQUEST: .*bare LF/],
    ['GET / HTTP/1.1\r\nHost : x\r\n\r\n', /MESH_ERR_BAD_REQUEST: bad header name/],
    ['GET / HTTP/1.1\r\nHost: x\x01y\r\n\r\n', /MESH_ERR_BAD_REQUEST: header Host: a control character/],
    ['GET /a b HTTP/1.1\r\nHost: x\r\n\r\n', /MESH_ERR_BAD_REQUEST: bad request line/],
    ['GET /pay\r\n', /MESH_ERR_BAD_VERSION: HTTP\/0\.9 request line/],
    [`GET / HTTP/1.1\r\nX: ${'a'.repeat(17_000)}\r\n\r\n`, /MESH_ERR_BAD_REQUEST: request head larger than 16384 bytes/],
  ];
  for (const [bytes, why] of cases) {
    const before = s.errors.length;
    const reply = await exchange(s.port, bytes);
    assert.deepEqual(statuses(reply), [bytes.startsWith('GET /pay\r') ? 400 : 400], JSON.stringify(bytes.slice(0, 40)));
    assert.match(s.errors[before] ?? '', why);
  }
  assert.deepEqual(s.seen, [], 'not one of them reached the handler');
});

test('a head that does not arrive within the headers timeout is answered 408 (slow-loris)', async (t) => {
  const s = await serve(t, undefined, {}, { headersTimeoutMs: 200, keepAliveTimeoutMs: 5_000 });
  const reply = await exchange(s.port, ['GET / HTTP/1.1\r\n', 'Host: x\r\n'], undefined, 50);
  assert.deepEqual(statuses(reply), [408]);
  assert.match(s.errors[0], /MESH_ERR_REQUEST_TIMEOUT/);
});

test('Expect: 100-continue gets its interim answer before the body is sent', async (t) => {
  const s = await serve(t);
  const reply = await exchange(s.port, ['POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n', 'ok'], /POST \/e ok/, 100);
  assert.match(reply, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
});

test('a request body is handed on with backpressure: the socket waits while the reader does not read', async (t) => {
  let req!: LeanRequest;
  let got = 0;
  const s = await serve(t, undefined, {
    request: (r, res) => { req = r; r.pause(); r.on('data', (c: Buffer) => { got += c.length; }); r.on('end', () => res.end(String(got))); },
  });
  const size = 8 * 1024 * 1024;
  const sock = net.connect(s.port, '127.0.0.1');
  sock.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`);
  sock.write(Buffer.alloc(size, 97));
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(req && got === 0, 'nothing is read while paused');
  assert.ok(req.readableLength < size, `buffered ${req.readableLength} of ${size} bytes: the rest waits in the socket`);
  const reply = new Promise<string>((r) => { let b = ''; sock.on('data', (d) => { b += d; if (b.endsWith(String(size))) r(b); }); });
  req.resume();
  assert.match(await reply, new RegExp(`${size}$`));
  sock.destroy();
});

test('a client gone mid-body: the request errors as aborted and the response says close', async (t) => {
  const events: string[] = [];
  const s = await serve(t, undefined, {
    request: (r, res) => { r.on('aborted', () => events.push('aborted')); r.on('error', () => events.push('error')); res.on('close', () => events.push('close')); r.resume(); },
  });
  const sock = net.connect(s.port, '127.0.0.1');
  sock.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial');
  await new Promise((r) => setTimeout(r, 100));
  sock.destroy();
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(events.sort(), ['aborted', 'close', 'error']);
});

test('an upgrade request hands the socket over with the bytes after its head; the server lets go of it', async (t) => {
  const s = await serve(t, undefined, {
    upgrade: (req, socket, head) => { socket.end(`HTTP/1.1 101 Switching Protocols\r\n\r\n${req.headers.upgrade} after=${head.toString('latin1')}`); },
  });
  const reply = await exchange(s.port, 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nFRAME');
  assert.equal(reply, 'HTTP/1.1 101 Switching Protocols\r\n\r\nwebsocket after=FRAME');
  assert.deepEqual(s.seen, []);
});

test('draining closes idle connections now and busy ones after their response, which says Connection: close', async (t) => {
  let release!: () => void;
  const s = await serve(t, (req, res) => { release = () => res.end('late'); });
  const idle = net.connect(s.port, '127.0.0.1');
  const idleClosed = new Promise((r) => idle.on('close', r));
  const busy = exchange(s.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await new Promise((r) => setTimeout(r, 100));
  s.h1.drain();
  await idleClosed;
  release();
  const reply = await busy;
  assert.match(reply, /Connection: close\r\n\r\nlate$/);
});
