// HTTP listeners, three kinds:
//   inbound   mesh → workload. With an identity: mutual TLS only (strict);
//             the caller is the SPIFFE id of the peer certificate, checked
//             against the trust bundle in the handshake. Without one (no
//             control plane issuing SVIDs): plaintext, every caller external.
//   ingress   outside → workload, plaintext; every caller is external.
//   outbound  workload → mesh (HTTP proxy mode).
// Each speaks HTTP/1.1 and HTTP/2 on one port: over TLS the client chooses
// by ALPN (h2, http/1.1), in plaintext by sending the h2c preface or not
// (h2/preface.ts). The port belongs to a plain TCP or TLS server that only
// accepts, tracks (l4 taps) and hands each connection to the HTTP/1.1 server
// or to the HTTP/2 one (h2/downstream.ts); neither of those listens itself.
// HTTP/1.1 is the sidecar's own lean server (h1/server.ts), not Node's
// http module, which cost about a third of a proxied request's CPU.
// Every request runs its direction's stage chain (serve-request.ts);
// HTTP/1.1 upgrades and CONNECT go through upgrade/downstream.ts. Requests
// the HTTP/1.1 parser refuses never reach the chain: conflicting framing
// headers are answered 400 MESH_ERR_BAD_FRAMING here and the connection is
// closed.

import type http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { trackConnection } from './connection-taps.ts';
import { rawErrorResponse, type MeshError } from './errors.ts';
import { H2Downstream, sniffPreface } from './h2/index.ts';
import { H1Server } from './h1/server.ts';
import { listen } from './listen.ts';
import type { HostPort } from './options.ts';
import type { SidecarRuntime } from './runtime.ts';
import { listenerPeers, requestServer, type ConnectionLink } from './serve-request.ts';
import { plainAddr } from './tap-capture.ts';
import { UpgradeTunnels } from './upgrade/index.ts';

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
  const peers = listenerPeers(rt, direction, identity !== null);
  const serve = requestServer(rt, direction, peers);
  const links = new WeakMap<net.Socket, ConnectionLink>();
  const sockets = new Set<net.Socket>();

  // Idle client connections stay open 65 s (nginx uses 75 s): longer than any
  // client pool's idle timeout (ours is 4 s), so a client never reuses a
  // socket we are closing at that instant. A request head must arrive within
  // --headers-timeout-ms of its first byte (60 s, as Node's headersTimeout).
  const tunnels = new UpgradeTunnels(serve, links);
  const h1 = new H1Server({
    request: (req, res) => serve(req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse, links.get(req.socket)),
    clientError: (err, socket) => refused(rt, links.get(socket), err, socket),
    // Bytes after a request that ends the connection (HTTP/1.0, `connection: close`, a refusal that
    // closes it) are not processed (RFC 9112 §9.6): counted as a bad request, once per connection.
    discarded: () => { rt.counters.bad_requests++; },
    upgrade: (req, socket, head) => tunnels.upgrade(req as unknown as http.IncomingMessage, socket, head),
  }, { keepAliveTimeoutMs: 65_000, headersTimeoutMs: rt.opts.headersTimeoutMs });

  const h2 = new H2Downstream<ConnectionLink>(rt.counters.h2, (req, res, link) => serve(req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse, link));

  const accepted = (socket: net.Socket): ConnectionLink => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const tlsVersion = identity ? (socket as tls.TLSSocket).getProtocol() ?? '' : '';
    const link: ConnectionLink = { socket, conn: trackConnection(rt, direction, socket, ...peers.ends(socket), tlsVersion), tls: tlsVersion, h2: null };
    links.set(socket, link);
    return link;
  };
  const toH1 = (socket: net.Socket) => h1.accept(socket);

  let front: net.Server;
  if (identity) {
    const server = mtlsServer(rt);
    // ALPN has chosen by now: the handshake is over.
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      const link = accepted(socket);
      if (socket.alpnProtocol === 'h2') { link.h2 = 'h2'; h2.accept(socket, link); } else toH1(socket);
    });
    watchHandshakes(rt, server);
    front = server;
  } else {
    // Half-open allowed, as Node's HTTP server has it: a client that ends its side after a request still gets the answer.
    front = net.createServer({ noDelay: true, keepAlive: true, allowHalfOpen: true }, (socket) => {
      const link = accepted(socket);
      sniffPreface(socket, toH1, (stream) => { link.h2 = 'h2c'; h2.accept(stream, link); });
    });
  }

  const address = await listen(front, at);
  // New connections get the renewed certificate; open ones keep theirs.
  const unsubscribe = identity ? identity.onRotate(() => (front as tls.Server).setSecureContext(tlsContext(rt))) : () => {};

  return {
    address,
    async close(graceMs: number) {
      unsubscribe();
      const closed = new Promise<void>((r) => front.close(() => r()));
      h1.drain(); // idle HTTP/1.1 connections close now, busy ones after their response
      h2.drain(); // GOAWAY: streams in flight finish
      const grace = setTimeout(() => { h1.closeAll(); h2.destroyAll(); tunnels.destroyAll(); }, graceMs);
      await closed;
      clearTimeout(grace);
      // 'close' of the server fires once its sockets are gone; wait for their l4.close taps too.
      await Promise.all([...sockets].map((s) => new Promise((r) => (s.destroyed ? r(null) : s.once('close', r)))));
    },
  };
}

/** A request the HTTP/1.1 parser refused (or whose head timed out): counted, answered while the client is there, the connection closed. */
function refused(rt: SidecarRuntime, link: ConnectionLink | undefined, err: MeshError, socket: net.Socket): void {
  if (err.code === 'MESH_ERR_BAD_FRAMING') rt.counters.bad_framing++;
  else rt.counters.bad_requests++;
  if (link) { link.conn.end = 'local_close'; link.conn.error = err.code; }
  if (socket.writable) socket.end(rawErrorResponse(err));
  else socket.destroy();
}

/** Counts and logs (sparingly) the clients refused at the TLS handshake. */
function watchHandshakes(rt: SidecarRuntime, server: tls.Server): void {
  const peerAddress = new WeakMap<net.Socket, string>();
  server.on('connection', (raw: net.Socket) => {
    // Kept before the handshake: a client that resets leaves no address to log afterwards.
    peerAddress.set(raw, `${plainAddr(raw.remoteAddress)}:${raw.remotePort}`);
  });
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
    const n = ++rt.counters.tls_handshake_failures;
    if (n <= HANDSHAKE_LOG_LIMIT || n % 1000 === 0) {
      const from = peerAddress.get((socket as unknown as { _parent?: net.Socket })._parent ?? socket) ?? `${plainAddr(socket.remoteAddress)}:${socket.remotePort}`;
      rt.log(`inbound ${from}: refused at the TLS handshake (${n} so far): ${err.code ?? ''} ${err.message}`.replace(/\s+/g, ' '));
    }
  });
}

function tlsContext(rt: SidecarRuntime) {
  const m = rt.identity!.current();
  return { key: m.keyPem, cert: m.chainPem, ca: m.bundlePem };
}

/**
 * Strict mTLS: a client without a certificate that chains to the mesh's
 * bundle never completes the handshake, so no byte of its request is parsed.
 * ALPN offers h2 first; a client that names neither protocol gets HTTP/1.1.
 */
function mtlsServer(rt: SidecarRuntime): tls.Server {
  return tls.createServer({
    ...tlsContext(rt), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2', ALPNProtocols: ['h2', 'http/1.1'],
    noDelay: true, keepAlive: true,
  });
}
