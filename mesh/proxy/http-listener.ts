// HTTP/1.1 listeners, three kinds:
//   inbound   mesh → workload. With an identity: mutual TLS only (strict);
//             the caller is the SPIFFE id of the peer certificate, checked
//             against the trust bundle in the handshake. Without one (no
//             control plane issuing SVIDs): plaintext, every caller external.
//   ingress   outside → workload, plaintext; every caller is external.
//   outbound  workload → mesh (HTTP proxy mode).
// Each request runs its direction's stage chain; each downstream connection
// gets l4 taps. Requests Node's parser refuses never reach the chain:
// conflicting framing headers are answered 400 MESH_ERR_BAD_FRAMING here and
// the connection is closed.

import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { peerIdentity } from '../../identity/index.ts';
import { performance } from 'node:perf_hooks';
import { EXTERNAL_SERVICE } from '../../ingest/index.ts';
import { INBOUND_CHAIN, OUTBOUND_CHAIN } from './chain.ts';
import type { Peer, RequestContext } from './context.ts';
import { trackConnection, type TrackedConnection } from './connection-taps.ts';
import { MeshError, rawErrorResponse } from './errors.ts';
import { refuseHttp09 } from './http09-guard.ts';
import type { HostPort } from './options.ts';
import type { SidecarRuntime } from './runtime.ts';
import { runChain } from './stage.ts';
import { plainAddr } from './tap-capture.ts';
import { listen } from './listen.ts';

/** llhttp codes for ambiguous message framing (request-smuggling shapes). */
const FRAMING_CODES = new Set(['HPE_UNEXPECTED_CONTENT_LENGTH', 'HPE_INVALID_CONTENT_LENGTH', 'HPE_INVALID_TRANSFER_ENCODING']);

const connections = new WeakMap<net.Socket, TrackedConnection>();
const peerAddress = new WeakMap<net.Socket, string>();

export type ListenerKind = 'inbound' | 'ingress' | 'outbound';

/** Handshakes refused are logged one by one up to this many, then every 1000th. */
const HANDSHAKE_LOG_LIMIT = 20;

export interface Listener {
  readonly address: HostPort;
  close(graceMs: number): Promise<void>;
}

export async function startHttpListener(rt: SidecarRuntime, kind: ListenerKind, at: HostPort): Promise<Listener> {
  const direction = kind === 'outbound' ? 'outbound' : 'inbound';
  const identity = kind === 'inbound' ? rt.identity : null;
  // requireHostHeader off: Node would answer a Host-less HTTP/1.1 request with a bare 400,
  // uncounted and untapped; stages/message-checks.ts refuses it instead.
  const server = identity ? mtlsServer(rt) : http.createServer({ keepAlive: true, requireHostHeader: false });
  // Idle client connections stay open 65 s (nginx uses 75 s): longer than any
  // client pool's idle timeout (ours is 4 s), so a client never reuses a
  // socket we are closing at that instant.
  server.keepAliveTimeout = 65_000;
  const sockets = new Set<net.Socket>();
  const ownId = () => rt.identity?.current().svid.uri ?? '';
  const ownVersion = rt.opts.labels.version ?? '';
  const own = (socket: net.Socket): Peer => ({
    service: rt.opts.service, instance: rt.opts.instance, addr: plainAddr(socket.localAddress), port: socket.localPort ?? 0, identity: ownId(), version: ownVersion,
  });
  const client = (socket: net.Socket, service: string, instance: string, id = ''): Peer => ({
    service, instance, addr: plainAddr(socket.remoteAddress), port: socket.remotePort ?? 0, identity: id,
  });
  /** The local workload calling out through this sidecar: this instance, with its version. */
  const app = (socket: net.Socket): Peer => ({ ...client(socket, rt.opts.service, rt.opts.instance, ownId()), version: ownVersion });
  /** Who called, as far as this listener can prove it: the peer certificate on mTLS, else external. */
  const caller = (socket: net.Socket): Peer => {
    if (!identity) return client(socket, EXTERNAL_SERVICE, '');
    // The handshake has checked the chain; read the names only (getPeerX509Certificate costs ~3× as much per connection).
    const id = peerIdentity((socket as TLSSocket).getPeerCertificate());
    return client(socket, id.service, id.proxy, id.uri);
  };
  const tlsOf = (socket: net.Socket) => (identity ? (socket as TLSSocket).getProtocol() ?? '' : '');

  const onConnection = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // Inbound, the caller is known at accept (mTLS: from the handshake, which
    // is over by now); an outbound proxy connection may carry requests for
    // many services (dst '').
    const conn = direction === 'inbound'
      ? trackConnection(rt, direction, socket, caller(socket), own(socket), tlsOf(socket))
      : trackConnection(rt, direction, socket, app(socket), { ...own(socket), service: '', instance: '', identity: '', version: '' });
    connections.set(socket, conn);
    refuseHttp09(server, socket);
  };
  // A TLS server's 'connection' is the raw TCP socket, before any handshake.
  server.on(identity ? 'secureConnection' : 'connection', onConnection);
  if (identity) {
    server.on('connection', (raw: net.Socket) => {
      // Kept before the handshake: a client that resets leaves no address to log afterwards.
      peerAddress.set(raw, `${plainAddr(raw.remoteAddress)}:${raw.remotePort}`);
    });
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
      const n = ++rt.counters.tls_handshake_failures;
      if (n <= HANDSHAKE_LOG_LIMIT || n % 1000 === 0) {
        const from = peerAddress.get((socket as unknown as { _parent?: net.Socket })._parent ?? socket) ?? `${plainAddr(socket.remoteAddress)}:${socket.remotePort}`;
        rt.log(`inbound ${from}: refused at the TLS handshake (${n} so far): ${err.code ?? ''} ${err.message}`.replace(/\s+/g, ' '));
      }
    });
  }

  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    const conn = connections.get(socket);
    if (err.code === 'HPE_CLOSED_CONNECTION' && socket.writable) {
      // Bytes after a request that ends the connection (HTTP/1.0, `connection: close`) are not
      // processed (RFC 9112 §9.6); the response in flight still goes out, then the connection closes.
      rt.counters.bad_requests++;
      socket.pause();
      return;
    }
    let meshErr: MeshError | null;
    if (err.code && FRAMING_CODES.has(err.code)) {
      rt.counters.bad_framing++;
      meshErr = new MeshError('MESH_ERR_BAD_FRAMING',
        `conflicting or duplicate Content-Length/Transfer-Encoding headers (${err.code}: ${(err as { reason?: string }).reason ?? err.message}); request refused`);
    } else if (err instanceof MeshError) {
      rt.counters.bad_requests++; // refused before Node's parser would (http09-guard.ts)
      meshErr = err;
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
      src: direction === 'inbound' ? { ...(conn?.src ?? caller(socket)) } : app(socket),
      dst: direction === 'inbound' ? own(socket) : { service: authority, instance: '', addr: '', port: 0, identity: '' },
      tls: direction === 'inbound' ? tlsOf(socket) : '',
      upstreamHeaders: {}, strippedHeaders: new Set(), upstream: '', reqBytes: 0, respBytes: 0, retries: 0,
    };
    runChain(direction === 'inbound' ? INBOUND_CHAIN : OUTBOUND_CHAIN, ctx)
      .catch((e: unknown) => {
        rt.log(`${direction} request chain failed outside rescue: ${e instanceof Error ? e.stack : String(e)}`);
        res.destroy();
      });
  });

  const address = await listen(server, at);
  // New connections get the renewed certificate; open ones keep theirs.
  const unsubscribe = identity ? identity.onRotate(() => (server as https.Server).setSecureContext(tlsContext(rt))) : () => {};

  return {
    address,
    async close(graceMs: number) {
      unsubscribe();
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

function tlsContext(rt: SidecarRuntime) {
  const m = rt.identity!.current();
  return { key: m.keyPem, cert: m.chainPem, ca: m.bundlePem };
}

/**
 * Strict mTLS: a client without a certificate that chains to the mesh's
 * bundle never completes the handshake, so no byte of its request is parsed.
 */
function mtlsServer(rt: SidecarRuntime): https.Server {
  return https.createServer({
    ...tlsContext(rt), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'], keepAlive: true,
    requireHostHeader: false,
  });
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
