import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import type { L4CloseTap, L7RequestTap } from '../../ingest/index.ts';
import { ERROR_HEADER, startSidecar } from './index.ts';
import { h2Request } from './testing/h2.ts';
import { testIdentities } from './testing/identities.ts';
import { startRecordingCollector } from './testing/recording-collector.ts';
import { rawExchange } from './testing/servers.ts';

// The WebSocket handshake (RFC 6455 §4) and one text frame each way, by hand:
// the client's frames are masked, the server's are not.
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const acceptFor = (key: string) => createHash('sha1').update(key + WS_GUID).digest('base64');

function textFrame(text: string, mask: boolean): Buffer {
  const payload = Buffer.from(text, 'utf8'); // < 126 bytes here
  if (!mask) return Buffer.concat([Buffer.from([0x81, payload.length]), payload]);
  const key = randomBytes(4);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), key, payload.map((b, i) => b ^ key[i % 4])]);
}

function readText(frame: Buffer): string {
  const len = frame[1] & 0x7f;
  if (!(frame[1] & 0x80)) return frame.subarray(2, 2 + len).toString('utf8');
  const key = frame.subarray(2, 6);
  return Buffer.from(frame.subarray(6, 6 + len).map((b, i) => b ^ key[i % 4])).toString('utf8');
}

/** A WebSocket echo server: answers the handshake, then each text frame with `echo: <text>`. */
async function wsEchoServer(): Promise<{ port: number; upgrades: () => number; close(): Promise<void> }> {
  let upgrades = 0;
  const server = http.createServer((_req, res) => res.writeHead(426, { 'content-type': 'text/plain' }).end('upgrade required'));
  const tunnels = new Set<net.Socket>();
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    upgrades++;
    tunnels.add(socket);
    socket.on('error', () => {}); // a tunnel the sidecar closed (idle) may arrive as a reset
    socket.once('end', () => socket.end());
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(String(req.headers['sec-websocket-key']))}\r\n\r\n`);
    socket.on('data', (d: Buffer) => socket.write(textFrame(`echo: ${readText(d)}`, false)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    upgrades: () => upgrades,
    close: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); for (const s of tunnels) s.destroy(); }),
  };
}

/** A WebSocket client through `port` (an outbound listener, `Host: cart`): handshake, one message, its echo. */
function wsExchange(port: number, message: string): Promise<{ head: string; accepted: boolean; echo: string; sent: number; received: number }> {
  const key = randomBytes(16).toString('base64');
  return new Promise((resolve, reject) => {
    const handshake = `GET /chat HTTP/1.1\r\nHost: cart\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    const s = net.connect(port, '127.0.0.1', () => s.write(handshake));
    let buf = Buffer.alloc(0);
    let head = '';
    let received = 0;
    const frame = textFrame(message, true);
    s.on('data', (d: Buffer) => {
      received += d.length;
      buf = Buffer.concat([buf, d]);
      if (!head) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        head = buf.subarray(0, end).toString('latin1');
        buf = buf.subarray(end + 4);
        s.write(frame);
      }
      if (buf.length >= 2 && buf.length >= 2 + (buf[1] & 0x7f)) {
        const accepted = new RegExp(`sec-websocket-accept: ${acceptFor(key).replace(/[+/]/g, '\\$&')}`, 'i').test(head);
        resolve({ head, accepted, echo: readText(buf), sent: handshake.length + frame.length, received });
        s.end();
      }
    });
    s.on('error', reject);
  });
}

test('a WebSocket upgrade is tunnelled through an outbound and an inbound sidecar (mTLS): 101, messages both ways, an l7 tap per hop with status 101 and protocol ws, the tunnel\'s bytes in l4.close', async (t) => {
  const ids = await testIdentities();
  const ws = await wsEchoServer();
  const collector = await startRecordingCollector();
  const cart = await startSidecar({
    id: 'cart-1', service: 'cart', staticIdentity: await ids.identity('cart'), collectorUrl: collector.url, taps: { lingerMs: 5 }, closeGraceMs: 100,
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: ws.port },
  });
  const web = await startSidecar({
    id: 'web-1', service: 'web', staticIdentity: await ids.identity('web'), collectorUrl: collector.url, taps: { lingerMs: 5 }, closeGraceMs: 100,
    outbound: { host: '127.0.0.1', port: 0 }, routes: [{ authority: 'cart', endpoints: [{ host: '127.0.0.1', port: cart.inboundAddress!.port }] }],
  });
  t.after(async () => { await web.close(); await cart.close(); await collector.close(); await ws.close(); });

  const out = await wsExchange(web.outboundAddress!.port, 'hello through the mesh');
  assert.match(out.head, /^HTTP\/1\.1 101 Switching Protocols/);
  assert.ok(out.accepted, 'Sec-WebSocket-Accept answers our key: the handshake reached the server unchanged');
  assert.equal(out.echo, 'echo: hello through the mesh');
  assert.equal(ws.upgrades(), 1);

  // l4.close comes once each hop's connection has closed.
  const l4 = () => collector.events().filter((e): e is L4CloseTap => e.kind === 'l4.close');
  while (l4().filter((e) => e.direction === 'outbound').length < 1 || l4().filter((e) => e.direction === 'inbound').length < 1) {
    await web.taps.flush();
    await cart.taps.flush();
    await new Promise((r) => setTimeout(r, 20));
  }
  const taps = collector.events().filter((e): e is L7RequestTap => e.kind === 'l7.request');
  assert.deepEqual(taps.map((e) => [e.direction, e.status, e.protocol, e.path]).sort(), [['inbound', 101, 'ws', '/chat'], ['outbound', 101, 'ws', '/chat']]);
  assert.equal(taps.find((e) => e.direction === 'inbound')?.src_identity, 'spiffe://test.local/ns/default/sa/web');
  const client = l4().find((e) => e.direction === 'outbound')!;
  assert.deepEqual([client.bytes_in, client.bytes_out], [out.sent, out.received], 'the handshake and both frames, counted on the client\'s connection');
});

test('CONNECT is refused 501 MESH_ERR_CONNECT_UNSUPPORTED over HTTP/1.1 and HTTP/2, tapped and counted; nothing is tunnelled', async (t) => {
  const collector = await startRecordingCollector();
  const web = await startSidecar({
    id: 'web-1', service: 'web', collectorUrl: collector.url, taps: { lingerMs: 5 }, closeGraceMs: 100,
    outbound: { host: '127.0.0.1', port: 0 }, routes: [{ authority: 'cart', endpoints: [{ host: '127.0.0.1', port: 1 }] }],
  });
  t.after(async () => { await web.close(); await collector.close(); });
  const port = web.outboundAddress!.port;
  const h1 = await rawExchange(port, 'CONNECT cart:443 HTTP/1.1\r\nHost: cart:443\r\n\r\n');
  assert.match(h1, /^HTTP\/1\.1 501 /);
  assert.match(h1, new RegExp(`${ERROR_HEADER}: MESH_ERR_CONNECT_UNSUPPORTED`, 'i'));
  const h2 = await h2Request(`http://127.0.0.1:${port}`, { ':method': 'CONNECT', ':authority': 'cart:443', ':path': undefined });
  assert.equal(h2.status, 501);
  assert.equal(h2.headers[ERROR_HEADER], 'MESH_ERR_CONNECT_UNSUPPORTED');
  assert.equal(web.stats().outbound.errors.MESH_ERR_CONNECT_UNSUPPORTED, 2);
  await web.taps.flush();
  const taps = collector.events().filter((e): e is L7RequestTap => e.kind === 'l7.request');
  assert.deepEqual(taps.map((e) => [e.method, e.status, e.error, e.protocol]), [
    ['CONNECT', 501, 'MESH_ERR_CONNECT_UNSUPPORTED', 'http/1.1'],
    ['CONNECT', 501, 'MESH_ERR_CONNECT_UNSUPPORTED', 'h2c'],
  ]);
});

test('a WebSocket tunnel with no byte either way for --tunnel-idle-s is closed and counted; one that keeps talking stays open', async (t) => {
  const ws = await wsEchoServer();
  const cart = await startSidecar({
    id: 'cart-1', service: 'cart', taps: { enabled: false }, closeGraceMs: 100, tunnelIdleMs: 400,
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: ws.port },
  });
  t.after(async () => { await cart.close(); await ws.close(); });
  const open = async () => {
    const s = net.connect(cart.inboundAddress!.port, '127.0.0.1');
    s.on('error', () => {}); // the sidecar closing an idle tunnel may reset it
    await new Promise((r) => s.once('connect', r));
    s.write(`GET /chat HTTP/1.1\r\nHost: cart\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    await new Promise((r) => s.once('data', r)); // the 101
    const closed = new Promise<number>((r) => { const at = Date.now(); s.once('close', () => r(Date.now() - at)); });
    return { s, closed };
  };
  const quiet = await open();
  const talking = await open();
  // The talker sends a frame every 100 ms for 1.2 s, three idle periods' worth.
  let echoes = 0;
  talking.s.on('data', () => { echoes++; });
  for (let i = 0; i < 12; i++) { talking.s.write(textFrame(`ping ${i}`, true)); await new Promise((r) => setTimeout(r, 100)); }
  const after = await quiet.closed;
  assert.ok(after >= 350, `the quiet tunnel closed after ${after} ms, not before its idle time`);
  assert.equal(talking.s.destroyed, false, 'the talking tunnel is still open');
  assert.ok(echoes >= 10, `${echoes} echoes came back`);
  assert.equal(cart.stats().tunnels_idle_closed, 1);
  talking.s.destroy();
});
