import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { test } from 'node:test';
import type { L7RequestTap } from '../../ingest/index.ts';
import { startTestControl } from '../control/testing/mesh-clients.ts';
import { ERROR_HEADER, startSidecar, type Sidecar } from './index.ts';
import { h2Request } from './testing/h2.ts';
import { testIdentities } from './testing/identities.ts';
import { startRecordingCollector } from './testing/recording-collector.ts';
import { rawExchange, startHttpServer, startTcpServer } from './testing/servers.ts';
import { until } from './testing/small-mesh.ts';

/**
 * web-1 (outbound) → cart-1 (inbound, mTLS) in front of an HTTP workload and,
 * on the same host, a TCP echo server; the control plane opens the echo
 * port, the workload's HTTP port and cart-1's own inbound port of cart to
 * tunnels (the last two so the test can show the inbound side refuses them anyway).
 */
async function tunnelMesh(t: { after(fn: () => Promise<void>): void }) {
  const ids = await testIdentities();
  const echo = await startTcpServer((s) => s.pipe(s));
  const workload = await startHttpServer((req, res) => { req.resume(); res.end('cart-1'); });
  const collector = await startRecordingCollector();
  const closers: (() => Promise<void>)[] = [() => echo.close(), () => workload.close(), () => collector.close()];
  t.after(async () => { for (const c of closers.reverse()) await c(); });
  const cartListen = await startTcpServer(() => {});
  const cartPort = cartListen.port;
  await cartListen.close();
  const control = await startTestControl({ ca: ids.ca, settings: { connect_by_service: { cart: { allow_ports: [echo.port, workload.port, cartPort] } } } });
  closers.push(() => control.close());
  const common = { controlUrl: control.cp.url, closeGraceMs: 100, controlRetryMaxMs: 50, collectorUrl: collector.url, taps: { lingerMs: 5 } };
  const sidecars: Sidecar[] = [];
  const started = (s: Sidecar) => { sidecars.push(s); closers.push(() => s.close()); return s; };
  const cart = started(await startSidecar({
    ...common, id: 'cart-1', service: 'cart', staticIdentity: await ids.identity('cart', 'cart-1'),
    listen: { host: '127.0.0.1', port: cartPort }, upstream: { host: '127.0.0.1', port: workload.port },
  }));
  const web = started(await startSidecar({
    ...common, id: 'web-1', service: 'web', staticIdentity: await ids.identity('web', 'web-1'), outbound: { host: '127.0.0.1', port: 0 },
  }));
  await until(() => control.cp.registry.services().has('cart') && sidecars.every((s) => s.stats().config.version >= control.cp.status().version));
  const taps = async () => {
    await web.taps.flush();
    await cart.taps.flush();
    assert.deepEqual(collector.problems, []);
    return collector.events().filter((e): e is L7RequestTap => e.kind === 'l7.request');
  };
  return { ids, echo, workload, cart, web, cartPort, taps };
}

/** Sends a CONNECT on `socket`; resolves its answer's head and a function that sends bytes through and resolves what comes back. */
function connectOn(socket: net.Socket, target: string): Promise<{ head: string; echo(bytes: string): Promise<string> }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const head = buf.subarray(0, end).toString('latin1');
      resolve({
        head,
        echo: (bytes) => new Promise((ok) => {
          let got = '';
          socket.on('data', (c: Buffer) => { got += c.toString('latin1'); if (got.length >= bytes.length) ok(got); });
          socket.write(bytes);
        }),
      });
    };
    socket.on('data', onData);
    socket.on('error', reject);
    socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  });
}

test('a CONNECT to an allowed port of a mesh service is tunnelled over mTLS to that service\'s host: bytes both ways, an l7 tap per hop, and counted', async (t) => {
  const m = await tunnelMesh(t);
  const socket = net.connect(m.web.outboundAddress!.port, '127.0.0.1');
  t.after(() => { socket.destroy(); });
  const tunnel = await connectOn(socket, `cart:${m.echo.port}`);
  assert.equal(tunnel.head, 'HTTP/1.1 200 Connection Established', 'nothing but the status line: no framing or connection fields');
  assert.equal(await tunnel.echo('ping through the mesh'), 'ping through the mesh');
  assert.equal(m.echo.connections(), 1);
  await new Promise<void>((r) => { socket.once('close', () => r()); socket.end(); });
  await until(() => m.web.stats().connect.open === 0 && m.cart.stats().connect.open === 0);
  for (const s of [m.web, m.cart]) {
    assert.deepEqual(s.stats().connect, { tunnels: 1, open: 0, bytes_to_upstream: 21, bytes_to_client: 21 }, s.id);
  }
  const taps = await m.taps();
  assert.deepEqual(taps.map((e) => [e.direction, e.method, e.status, e.error, e.dst_service, e.upstream, e.protocol]).sort(), [
    ['inbound', 'CONNECT', 200, '', 'cart', `127.0.0.1:${m.echo.port}`, 'connect'],
    ['outbound', 'CONNECT', 200, '', 'cart', `127.0.0.1:${m.cartPort}`, 'connect'],
  ]);
  assert.equal(taps.find((e) => e.direction === 'inbound')!.src_identity, 'spiffe://test.local/ns/default/sa/web', 'the tunnel came over mTLS from web');
});

test('CONNECT stays 501 for a port not allowed, a host that is no mesh service, an address, HTTP/2, and, at the callee, another service, the workload\'s HTTP port or the sidecar\'s own', async (t) => {
  const m = await tunnelMesh(t);
  const out = m.web.outboundAddress!.port;
  const refused = async (what: string, answer: Promise<string>, because: RegExp) => {
    const a = await answer;
    assert.match(a, /^HTTP\/1\.1 501 /, what);
    assert.match(a, new RegExp(`${ERROR_HEADER}: MESH_ERR_CONNECT_UNSUPPORTED`, 'i'), what);
    assert.match(a, because, what);
  };
  const viaOutbound = (target: string, host = target) => rawExchange(out, `CONNECT ${target} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  await refused('a port not allowed', viaOutbound('cart:1'), /is not open to tunnels/);
  await refused('no mesh service', viaOutbound(`example.com:${m.echo.port}`), /'example\.com' is no service of the mesh/);
  await refused('an address', viaOutbound(`127.0.0.1:${m.echo.port}`), /'127\.0\.0\.1' is no service of the mesh/);
  await refused('userinfo', viaOutbound(`evil@cart:${m.echo.port}`, `cart:${m.echo.port}`), /must be <service>:<port>/);
  await refused('no port', viaOutbound('cart'), /must be <service>:<port>/);
  const h2 = await h2Request(`http://127.0.0.1:${out}`, { ':method': 'CONNECT', ':authority': `cart:${m.echo.port}`, ':path': undefined });
  assert.deepEqual([h2.status, h2.headers[ERROR_HEADER]], [501, 'MESH_ERR_CONNECT_UNSUPPORTED']);

  // Straight at cart-1's inbound listener, with web's SVID, as a caller that skips its own sidecar would.
  const web = await m.ids.identity('web', 'web-2');
  const viaInbound = (target: string) => new Promise<string>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: m.cartPort, key: web.keyPem, cert: web.chainPem, ca: web.bundlePem, checkServerIdentity: () => undefined, ALPNProtocols: ['http/1.1'] });
    const chunks: Buffer[] = [];
    s.on('secureConnect', () => s.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    s.on('error', reject);
  });
  await refused('another service', viaInbound(`payments:${m.echo.port}`), /fronts 'cart', not 'payments'/);
  await refused('the workload\'s HTTP port', viaInbound(`cart:${m.workload.port}`), /is the workload's HTTP port or this sidecar's own/);
  await refused('the sidecar\'s own port', viaInbound(`cart:${m.cartPort}`), /is the workload's HTTP port or this sidecar's own/);
  assert.equal(m.echo.connections(), 0, 'nothing was tunnelled');
  assert.equal(m.web.stats().outbound.errors.MESH_ERR_CONNECT_UNSUPPORTED, 6);
  assert.equal(m.cart.stats().inbound.errors.MESH_ERR_CONNECT_UNSUPPORTED, 3);
  assert.deepEqual([m.web.stats().connect.tunnels, m.cart.stats().connect.tunnels], [0, 0]);
  const taps = await m.taps();
  assert.equal(taps.length, 9);
  assert.ok(taps.every((e) => e.method === 'CONNECT' && e.status === 501 && e.error === 'MESH_ERR_CONNECT_UNSUPPORTED' && e.protocol !== 'connect'), 'each refusal tapped, as no tunnel');
});
