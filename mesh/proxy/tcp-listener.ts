// L4 mode: pipes bytes between each client and the workload, with l4.open at
// accept and l4.close once both sides are closed (end reasons in
// connection-taps.ts). Half-closes pass through: a client that ends its side
// still receives the rest of the upstream's answer.

import net from 'node:net';
import { EXTERNAL_SERVICE } from '../../ingest/index.ts';
import { trackConnection } from './connection-taps.ts';
import type { Listener } from './http-listener.ts';
import type { HostPort } from './options.ts';
import type { SidecarRuntime } from './runtime.ts';
import { plainAddr } from './tap-capture.ts';
import { listen } from './listen.ts';

export async function startTcpListener(rt: SidecarRuntime, at: HostPort, upstream: HostPort): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    sockets.add(client);
    const conn = trackConnection(rt, 'inbound', client,
      // No caller identity at L4 until mTLS: the client is 'external'.
      { service: EXTERNAL_SERVICE, instance: '', addr: plainAddr(client.remoteAddress), port: client.remotePort ?? 0 },
      { service: rt.opts.service, instance: rt.opts.instance, addr: upstream.host, port: upstream.port, version: rt.opts.labels.version ?? '' });
    const up = net.connect({ host: upstream.host, port: upstream.port, allowHalfOpen: true });
    const connectTimer = setTimeout(() => up.destroy(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })), rt.opts.connectTimeoutMs);
    let connected = false;
    up.once('connect', () => { connected = true; clearTimeout(connectTimer); });
    if (rt.opts.tcpIdleMs > 0) {
      client.setTimeout(rt.opts.tcpIdleMs, () => {
        conn.end ??= 'timeout';
        client.destroy();
        up.destroy();
      });
    }

    client.once('end', () => { conn.end ??= 'remote_close'; });
    up.once('end', () => { conn.end ??= 'local_close'; });
    up.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(connectTimer);
      conn.end ??= 'error';
      conn.error ??= !connected
        ? `MESH_ERR_UPSTREAM_CONNECT: ${upstream.host}:${upstream.port}: ${e.code ?? e.message}`
        : `upstream: ${e.code ?? e.message}`;
      client.destroy();
    });
    client.on('error', () => up.destroy()); // recorded by trackConnection
    client.once('close', () => { sockets.delete(client); up.destroy(); });
    up.once('close', () => { if (client.writableEnded || !client.writable) return; client.end(); });
    client.pipe(up);
    up.pipe(client);
  });

  const address = await listen(server, at);
  return {
    address,
    async close(graceMs: number) {
      const closed = new Promise<void>((r) => server.close(() => r()));
      const grace = setTimeout(() => { for (const s of sockets) s.destroy(); }, graceMs);
      await closed;
      clearTimeout(grace);
    },
  };
}
