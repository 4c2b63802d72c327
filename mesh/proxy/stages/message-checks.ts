// Both directions, first after rescue: refuses request messages that the
// sidecar and the server behind it could read two ways, before any stage acts
// on them. The HTTP/1.1 parser (h1/request-head.ts) has already refused
// what it cannot read or frame; these are the shapes it lets through, and
// every HTTP/2 request (h2/request-checks.ts has its own rules):
//
//   version          only HTTP/1.0 and 1.1 (llhttp hands over HTTP/0.9 and
//                    "HTTP/2.0" request lines) → 400 MESH_ERR_BAD_VERSION, close
//   Transfer-Encoding  exactly `chunked` or absent. On HTTP/1.0 the framing is
//                    faulty whatever it says (RFC 9112 §6.1) → 400
//                    MESH_ERR_BAD_FRAMING, close. Codings before `chunked`
//                    (`gzip, chunked`, also split over two header lines) are
//                    not implemented → 501 MESH_ERR_UNSUPPORTED_TRANSFER_CODING,
//                    close: we would forward bytes the workload decodes
//                    differently, and we would not know what the policy saw.
//   Host             read from rawHeaders: Node keeps only the first of two.
//                    Two → 400 MESH_ERR_BAD_HOST (one proxy routes by the first,
//                    another by the last). HTTP/1.1 without one → 400 (RFC 9112
//                    §3.2; the listener turns Node's bare answer off so it is
//                    counted and tapped here). A value that is not host[:port]
//                    (a comma list, spaces, userinfo) → 400.
//   HTTP/1.0 without Host: inbound the request is for the local service, so
//                    that is its authority; outbound there is nothing to route
//                    by → 400 MESH_ERR_NO_AUTHORITY (not 404: the request is
//                    incomplete, no route is missing).
//
// The refusals that close the connection (the catalogue's `close`) also
// condemn what follows on it: the HTTP/1.1 parser reads nothing past a body
// it cannot frame, and anything that still arrives on a condemned connection
// is refused here too (tapped, never forwarded), so nothing read past a bad
// frame reaches a workload.

import type http from 'node:http';
import type net from 'node:net';
import type { RequestContext } from '../context.ts';
import { MESH_ERRORS, MeshError, type MeshErrorCode } from '../errors.ts';
import type { Stage } from '../stage.ts';
import { checkH2Request } from '../h2/request-checks.ts';

/** host[:port]: a reg-name (RFC 3986 §3.2.2, without ',' so a folded list never passes) or an IP literal. */
export const HOST_VALUE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+;=%]+)(?::\d{1,5})?$/;

/** Connections whose framing was refused, with the code that condemned them. */
const condemned = new WeakMap<net.Socket, MeshErrorCode>();

export const messageChecksStage: Stage = {
  name: 'message-checks',
  handle(ctx, next) {
    const socket = ctx.req.socket;
    const earlier = condemned.get(socket);
    if (earlier) throw new MeshError(earlier, `pipelined after a request refused with ${earlier} on this connection, which is closing`);
    try {
      checkVersion(ctx);
      if (ctx.h2) checkH2Request(ctx, HOST_VALUE); // its own rules (../h2/request-checks.ts)
      else { checkTransferEncoding(ctx.req); checkHost(ctx); }
    } catch (e) {
      if (e instanceof MeshError && 'close' in MESH_ERRORS[e.code]) condemned.set(socket, e.code);
      throw e;
    }
    return next();
  },
};

/** HTTP/2.0 only on an HTTP/2 connection: a "HTTP/2.0" request line over HTTP/1 is not HTTP/2. */
function checkVersion(ctx: RequestContext): void {
  const req = ctx.req;
  if (ctx.h2 ? req.httpVersionMajor === 2 : req.httpVersionMajor === 1 && (req.httpVersionMinor === 0 || req.httpVersionMinor === 1)) return;
  throw new MeshError('MESH_ERR_BAD_VERSION', `HTTP/${req.httpVersion} request line; this sidecar serves HTTP/1.0 and HTTP/1.1 on HTTP/1 connections, HTTP/2 by ALPN h2 or the h2c preface`);
}

/** Every value of one header, in order, however many lines carried it. */
function rawValues(req: http.IncomingMessage, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i].toLowerCase() === name) out.push(req.rawHeaders[i + 1]);
  }
  return out;
}

function checkTransferEncoding(req: http.IncomingMessage): void {
  if (req.headers['transfer-encoding'] === undefined) return; // no such line (every line lands in headers); spares a pass over rawHeaders
  const lines = rawValues(req, 'transfer-encoding');
  if (lines.length === 0) return;
  const codings = lines.join(',').split(',').map((c) => c.trim().toLowerCase()).filter(Boolean);
  const said = JSON.stringify(lines.join(', '));
  if (req.httpVersionMinor === 0) {
    throw new MeshError('MESH_ERR_BAD_FRAMING', `Transfer-Encoding ${said} on an HTTP/1.0 request: its framing cannot be trusted (RFC 9112 §6.1); request refused`);
  }
  if (codings.length === 1 && codings[0] === 'chunked') return;
  if (codings.at(-1) === 'chunked' && !codings.slice(0, -1).includes('chunked')) {
    throw new MeshError('MESH_ERR_UNSUPPORTED_TRANSFER_CODING', `Transfer-Encoding ${said}: only "chunked" alone is implemented`);
  }
  // Node's parser refuses these itself; kept so the rule does not depend on it.
  throw new MeshError('MESH_ERR_BAD_FRAMING', `Transfer-Encoding ${said}: chunked must be the final coding, once; request refused`);
}

function checkHost(ctx: RequestContext): void {
  const req = ctx.req;
  const hosts = rawValues(req, 'host');
  if (hosts.length > 1) {
    throw new MeshError('MESH_ERR_BAD_HOST', `${hosts.length} Host headers (${hosts.map((h) => JSON.stringify(h)).join(', ')}); exactly one is allowed`);
  }
  const host = hosts[0]?.trim();
  if (host === undefined || host === '') {
    if (req.httpVersionMinor === 1) throw new MeshError('MESH_ERR_BAD_HOST', 'HTTP/1.1 request without a Host header (RFC 9112 §3.2)');
    if (ctx.authority) return; // HTTP/1.0 with an absolute-form target: that is the authority
    if (ctx.direction === 'outbound') {
      throw new MeshError('MESH_ERR_NO_AUTHORITY', 'HTTP/1.0 request with neither a Host header nor an absolute-form target: no service to route to');
    }
    ctx.authority = ctx.runtime.opts.service;
    return;
  }
  if (!HOST_VALUE.test(host)) {
    throw new MeshError('MESH_ERR_BAD_HOST', `Host ${JSON.stringify(host.slice(0, 256))} is not host[:port]`);
  }
}
