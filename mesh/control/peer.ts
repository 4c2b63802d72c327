// Who is on the other end of a control plane request. The server asks every
// client for a certificate but lets the handshake finish without one (join
// tokens and operators come without); each route then decides: sidecar routes
// need a certificate that chained to the mesh's trust bundle in the
// handshake (identity/'s verifiedPeer), and take the caller's service and
// proxy from it, never from the request.

import type { IncomingMessage } from 'node:http';
import { verifiedPeer as verifiedSocketPeer, type PeerResult } from '../../identity/index.ts';

export function verifiedPeer(req: IncomingMessage): PeerResult {
  return verifiedSocketPeer(req.socket);
}

/** The address a client connected from, without the IPv4-mapped prefix. */
export function remoteAddress(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
}
