// One request, whatever carried it (HTTP/1.1, h2, h2c, an HTTP/1.1
// upgrade): who is on each side, a RequestContext, and the direction's
// stage chain over it.

import type http from 'node:http';
import type net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { performance } from 'node:perf_hooks';
import { peerIdentity } from '../../identity/index.ts';
import { EXTERNAL_SERVICE } from '../../ingest/index.ts';
import { INBOUND_CHAIN, OUTBOUND_CHAIN } from './chain.ts';
import type { TrackedConnection } from './connection-taps.ts';
import type { Peer, RequestContext } from './context.ts';
import type { SidecarRuntime } from './runtime.ts';
import { runChain } from './stage.ts';
import { plainAddr } from './tap-capture.ts';

/** What a listener knows of one downstream connection. */
export interface ConnectionLink {
  readonly socket: net.Socket;
  readonly conn: TrackedConnection;
  /** TLS version of the connection, '' in plaintext. */
  readonly tls: string;
  /** HTTP/2 on it: over TLS ('h2', by ALPN) or plaintext ('h2c'); null for HTTP/1.x. */
  h2: 'h2' | 'h2c' | null;
}

export interface ListenerPeers {
  /** Source and destination of a new connection, for its l4 taps. */
  ends(socket: net.Socket): [Peer, Peer];
  /** This sidecar, at the address the connection reached. */
  own(socket: net.Socket): Peer;
  /** The local workload calling out through this sidecar: this instance, with its version. */
  app(socket: net.Socket): Peer;
}

export function listenerPeers(rt: SidecarRuntime, direction: 'inbound' | 'outbound', mtls: boolean): ListenerPeers {
  const ownId = () => rt.identity?.current().svid.uri ?? '';
  const ownVersion = rt.opts.labels.version ?? '';
  const own = (socket: net.Socket): Peer => ({
    service: rt.opts.service, instance: rt.opts.instance, addr: plainAddr(socket.localAddress), port: socket.localPort ?? 0, identity: ownId(), version: ownVersion,
  });
  const client = (socket: net.Socket, service: string, instance: string, id = ''): Peer => ({
    service, instance, addr: plainAddr(socket.remoteAddress), port: socket.remotePort ?? 0, identity: id,
  });
  const app = (socket: net.Socket): Peer => ({ ...client(socket, rt.opts.service, rt.opts.instance, ownId()), version: ownVersion });
  /** Who called, as far as this listener can prove it: the peer certificate on mTLS, else external. */
  const caller = (socket: net.Socket): Peer => {
    if (!mtls) return client(socket, EXTERNAL_SERVICE, '');
    // The handshake has checked the chain; read the names only (getPeerX509Certificate costs ~3× as much per connection).
    const id = peerIdentity((socket as TLSSocket).getPeerCertificate());
    return client(socket, id.service, id.proxy, id.uri);
  };
  return {
    // Inbound, the caller is known at accept (mTLS: from the handshake, which
    // is over by now); an outbound proxy connection may carry requests for
    // many services (dst '').
    ends: (socket) => (direction === 'inbound'
      ? [caller(socket), own(socket)]
      : [app(socket), { ...own(socket), service: '', instance: '', identity: '', version: '' }]),
    own,
    app,
  };
}

export type ServeRequest = (req: http.IncomingMessage, res: http.ServerResponse, link: ConnectionLink | undefined, upgrade?: RequestContext['upgrade']) => void;

/**
 * The listener's request handler. An HTTP/2 request comes as Node's compat
 * Http2ServerRequest/Response, which carry every member the stages use.
 */
export function requestServer(rt: SidecarRuntime, direction: 'inbound' | 'outbound', peers: ListenerPeers): ServeRequest {
  const chain = direction === 'inbound' ? INBOUND_CHAIN : OUTBOUND_CHAIN;
  return (req, res, link, upgrade) => {
    const socket = link?.socket ?? req.socket;
    const authority = authorityOf(req, link?.h2 ?? null);
    const ctx: RequestContext = {
      runtime: rt, direction, req, res, connId: link?.conn.id ?? '', config: rt.table.current,
      startedAt: rt.now(), startedHr: performance.now(), authority,
      // The connection's caller, shared by its requests: stages read ctx.src, never change it.
      src: direction === 'inbound' ? link?.conn.src ?? peers.ends(socket)[0] : peers.app(socket),
      dst: direction === 'inbound' ? peers.own(socket) : { service: authority, instance: '', addr: '', port: 0, identity: '' },
      tls: direction === 'inbound' ? link?.tls ?? '' : '',
      upstreamHeaders: {}, strippedHeaders: new Set(), upstream: '', reqBytes: 0, respBytes: 0, retries: 0,
    };
    if (link?.h2) ctx.h2 = link.h2;
    if (upgrade) ctx.upgrade = upgrade;
    runChain(chain, ctx)
      .catch((e: unknown) => {
        rt.log(`${direction} request chain failed outside rescue: ${e instanceof Error ? e.stack : String(e)}`);
        res.destroy();
      });
  };
}

/** Host without port, lower-case: HTTP/2's :authority, else from an absolute-form target, else the Host header. */
function authorityOf(req: http.IncomingMessage, h2: 'h2' | 'h2c' | null): string {
  const target = req.url ?? '';
  let host = (h2 ? req.headers[':authority'] as string | undefined : undefined) ?? req.headers.host ?? '';
  if (!h2 && !target.startsWith('/')) {
    try { host = new URL(target).host; } catch { /* malformed target: fall back to Host */ }
  }
  return host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '').toLowerCase();
}
