// Who is on the other end of a control plane request. The server asks every
// client for a certificate but lets the handshake finish without one (join
// tokens and operators come without); each route then decides: sidecar routes
// need a certificate that chained to the mesh's trust bundle in the
// handshake (`authorized`), and take the caller's service and proxy from it,
// never from the request.

import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { IdentityError, readSvid, type Svid } from '../../identity/index.ts';

export type PeerResult = { ok: true; svid: Svid } | { ok: false; message: string };

export function verifiedPeer(req: IncomingMessage): PeerResult {
  const socket = req.socket as TLSSocket;
  if (typeof socket.getPeerX509Certificate !== 'function') return { ok: false, message: 'not a TLS connection' };
  const cert = socket.getPeerX509Certificate();
  if (!cert) return { ok: false, message: 'no client certificate: sidecar routes need the sidecar\'s SVID (mTLS)' };
  if (!socket.authorized) return { ok: false, message: `client certificate refused: ${String(socket.authorizationError)}` };
  try {
    return { ok: true, svid: readSvid(cert) };
  } catch (e) {
    return { ok: false, message: e instanceof IdentityError ? e.message : String(e) };
  }
}

/** The address a client connected from, without the IPv4-mapped prefix. */
export function remoteAddress(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
}
