// l4.open / l4.close taps for one downstream connection, in HTTP and TCP mode.
//
// How a connection ended (`end`), seen from the sidecar:
//   remote_close  the downstream peer (client) closed first
//   local_close   the sidecar closed it (upstream ended first in TCP mode,
//                 a rejected request, shutdown, idle keep-alive expiry)
//   error         a socket error on either side; `error` says which
//   timeout       closed for being idle too long
// bytes_in / bytes_out count the downstream socket: bytes received from and
// sent to the client.

import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { L4End } from '../../ingest/index.ts';
import type { Peer } from './context.ts';
import type { SidecarRuntime } from './runtime.ts';
import type { TapInput } from './taps.ts';

export interface TrackedConnection {
  readonly id: string;
  readonly src: Peer;
  readonly dst: Peer;
  /** Set by whoever knows better than the socket events (TCP piping, rejections). */
  end?: L4End;
  error?: string;
}

export function trackConnection(
  rt: SidecarRuntime, direction: 'inbound' | 'outbound', socket: net.Socket, src: Peer, dst: Peer, tls = '',
): TrackedConnection {
  const conn: TrackedConnection = { id: rt.nextConnId(), src, dst };
  const ts = rt.now();
  const startedHr = performance.now();
  rt.counters.connections_total++;
  rt.counters.connections_open++;
  const base = () => ({
    v: 1 as const, ts, direction, conn_id: conn.id,
    src_service: conn.src.service, src_instance: conn.src.instance, src_addr: conn.src.addr, src_port: conn.src.port,
    dst_service: conn.dst.service, dst_instance: conn.dst.instance, dst_addr: conn.dst.addr, dst_port: conn.dst.port,
    ...(conn.src.identity ? { src_identity: conn.src.identity } : {}),
    ...(conn.dst.identity ? { dst_identity: conn.dst.identity } : {}),
    ...(tls ? { tls_version: tls } : {}),
    ...(conn.src.version ? { src_version: conn.src.version } : {}),
    ...(conn.dst.version ? { dst_version: conn.dst.version } : {}),
  });
  if (rt.taps.enabled) rt.taps.push({ ...base(), kind: 'l4.open' });

  let peerEnded = false;
  socket.once('end', () => { peerEnded = true; });
  socket.once('error', (e: NodeJS.ErrnoException) => {
    conn.end ??= 'error';
    conn.error ??= `downstream: ${e.code ?? e.message}`;
  });
  socket.once('close', () => {
    rt.counters.connections_open--;
    if (!rt.taps.enabled) return;
    const ev: TapInput = {
      ...base(), kind: 'l4.close',
      bytes_in: socket.bytesRead, bytes_out: socket.bytesWritten,
      duration_ms: Math.round((performance.now() - startedHr) * 1000) / 1000,
      end: conn.end ?? (peerEnded ? 'remote_close' : 'local_close'),
    };
    if (conn.error) ev.error = conn.error.slice(0, 256);
    rt.taps.push(ev);
  });
  return conn;
}
