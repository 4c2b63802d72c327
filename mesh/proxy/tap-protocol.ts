// The protocol fields of an l7.request tap: what the client spoke to the
// sidecar that recorded it.
//   'http/1.0', 'http/1.1'  HTTP/1.x (a refused CONNECT and upgrades other than WebSocket too)
//   'h2', 'h2c'             HTTP/2 over TLS (ALPN) or plaintext (prior knowledge)
//   'grpc'                  a gRPC request (content-type application/grpc…), over
//                           either; then grpc_service and grpc_method from its
//                           path, and grpc_status the status the client got
//                           (absent when it got none: it went away first)
//   'ws'                    a WebSocket upgrade; its status is 101 once tunnelled
//   'connect'               a CONNECT tunnel configuration allowed (stages/connect.ts); 200 once open

import type { L7RequestTap } from '../../ingest/index.ts';
import type { RequestContext } from './context.ts';
import { grpcMethod, isGrpc } from './h2/index.ts';
import { isWebSocket } from './upgrade/index.ts';

type ProtocolFields = Pick<L7RequestTap, 'protocol' | 'grpc_service' | 'grpc_method' | 'grpc_status'>;

/** Sets the tap's protocol and, for gRPC, its service, method and status (written into the tap: no object per request). */
export function setTapProtocol(ev: ProtocolFields, ctx: RequestContext): void {
  const req = ctx.req;
  if (isGrpc(req)) {
    ev.protocol = 'grpc';
    const m = grpcMethod(req.url ?? '');
    if (m) { ev.grpc_service = m.service; ev.grpc_method = m.method; }
    if (ctx.grpcStatus !== undefined) ev.grpc_status = ctx.grpcStatus;
  } else if (ctx.tunnel) ev.protocol = 'connect';
  else if (ctx.h2) ev.protocol = ctx.h2;
  else if (ctx.upgrade && isWebSocket(req)) ev.protocol = 'ws';
  else ev.protocol = req.httpVersion === '1.0' ? 'http/1.0' : 'http/1.1';
}
