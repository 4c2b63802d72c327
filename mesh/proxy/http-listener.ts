// HTTP/1.1 listeners: inbound (mesh → workload) and outbound (workload → mesh,
// HTTP proxy mode). Each request runs its direction's stage chain; each
// downstream connection gets l4 taps. Requests Node's parser refuses never
// reach the chain: conflicting framing headers are answered 400
// MESH_ERR_BAD_FRAMING here and the connection is closed.

import http from 'node:http';
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { EXTERNAL_SERVICE } from '../../ingest/index.ts';
import { INBOUND_CHAIN, OUTBOUND_CHAIN } from './chain.ts';
import type { Peer, RequestContext } from './context.ts';
import { trackConnection, type TrackedConnection } from './connection-taps.ts';
import { MeshError, rawErrorResponse } from './errors.ts';
import type { HostPort } from './options.ts';
import type { SidecarRuntime } from './runtime.ts';
import { runChain } from './stage.ts';
import { plainAddr } from './tap-capture.ts';
import { listen } from './listen.ts';

/** llhttp codes for ambiguous message framing (request-smuggling shapes). */
const FRAMING_CODES = new Set(['HPE_UNEXPECTED_CONTENT_LENGTH', 'HPE_INVALID_CONTENT_LENGTH', 'HPE_INVALID_TRANSFER_ENCODING']);

const connections = new WeakMap<net.Socket, TrackedConnection>();

export interface Listener {
  readonly address: HostPort;
  close(graceMs: number): Promise<void>;
}

export async function startHttpListener(rt: SidecarRuntime, direction: 'inbound' | 'outbound', at: HostPort): Promise<Listener> {
  const server = http.createServer({ keepAlive: true });
  // Idle client connections stay open 65 s (nginx uses 75 s): longer than any
  // client pool's idle timeout (ours is 4 s), so a client never reuses a
  // socket we are closing at that instant.
  server.keepAliveTimeout = 65_000;
  const sockets = new Set<net.Socket>();
  const own = (socket: net.Socket): Peer => ({
    service: rt.opts.service, instance: rt.opts.instance, addr: plainAddr(socket.localAddress), port: socket.localPort ?? 0,
  });
  const client = (socket: net.Socket, service: string, instance: string): Peer => ({
    service, instance, addr: plainAddr(socket.remoteAddress), port: socket.remotePort ?? 0,
  });

  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // A connection's peer is known per request (caller headers, routes), not at accept:
    // inbound callers are 'external' until mTLS identifies them at the handshake;
    // an outbound proxy connection may carry requests for many services (dst '').
    const conn = direction === 'inbound'
      ? trackConnection(rt, direction, socket, client(socket, EXTERNAL_SERVICE, ''), own(socket))
      : trackConnection(rt, direction, socket, client(socket, rt.opts.service, rt.opts.instance), { ...own(socket), service: '', instance: '' });
    connections.set(socket, conn);
  });

  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    const conn = connections.get(socket);
    let meshErr: MeshError | null;
    if (err.code && FRAMING_CODES.has(err.code)) {
      rt.counters.bad_framing++;
      meshErr = new MeshError('MESH_ERR_BAD_FRAMING',
        `conflicting or duplicate Content-Length/Transfer-Encoding headers (${err.code}: ${(err as { reason?: string }).reason ?? err.message}); request refused`);
    } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      rt.counters.bad_requests++;
      meshErr = new MeshError('MESH_ERR_REQUEST_TIMEOUT', 'request headers not received in time');
    } else if (err.code === 'ECONNRESET' || !socket.writable) {
      meshErr = null; // the client is gone; nothing to answer
    } else {
      rt.counters.bad_requests++;
      meshErr = new MeshError('MESH_ERR_BAD_REQUEST', `unparseable request (${err.code ?? 'parse error'}: ${(err as { reason?: string }).reason ?? err.message})`);
    }
    if (conn && meshErr) { conn.end = 'local_close'; conn.error = meshErr.code; }
    if (meshErr && socket.writable) socket.end(rawErrorResponse(meshErr));
    else socket.destroy();
  });

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    const conn = connections.get(socket);
    const authority = authorityOf(req);
    const ctx: RequestContext = {
      runtime: rt, direction, req, res, connId: conn?.id ?? '', config: rt.table.current,
      startedAt: rt.now(), startedHr: performance.now(), authority,
      src: direction === 'inbound' ? client(socket, EXTERNAL_SERVICE, '') : client(socket, rt.opts.service, rt.opts.instance),
      dst: direction === 'inbound' ? own(socket) : { service: authority, instance: '', addr: '', port: 0 },
      upstreamHeaders: {}, strippedHeaders: new Set(), upstream: '', reqBytes: 0, respBytes: 0, retries: 0,
    };
    runChain(direction === 'inbound' ? INBOUND_CHAIN : OUTBOUND_CHAIN, ctx)
      .then(() => {
        // The caller learned per request becomes the connection's source for its l4.close.
        if (conn && direction === 'inbound') {
          conn.src.service = ctx.src.service;
          conn.src.instance = ctx.src.instance;
        }
      })
      .catch((e: unknown) => {
        rt.log(`${direction} request chain failed outside rescue: ${e instanceof Error ? e.stack : String(e)}`);
        res.destroy();
      });
  });

  const address = await listen(server, at);

  return {
    address,
    async close(graceMs: number) {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(grace);
      // 'close' of the server fires once its sockets are gone; wait for their l4.close taps too.
      await Promise.all([...sockets].map((s) => new Promise((r) => (s.destroyed ? r(null) : s.once('close', r)))));
    },
  };
}

/** Host without port, lower-case: from an absolute-form target, else the Host header. */
function authorityOf(req: http.IncomingMessage): string {
  const target = req.url ?? '';
  let host = req.headers.host ?? '';
  if (!target.startsWith('/')) {
    try { host = new URL(target).host; } catch { /* malformed target: fall back to Host */ }
  }
  return host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '').toLowerCase();
}
