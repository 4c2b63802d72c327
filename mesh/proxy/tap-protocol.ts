// The protocol fields of an l7.request tap: what the client spoke to the
// sidecar that recorded it.
//   'http/1.0', 'http/1.1'  HTTP/1.x (CONNECT and upgrades other than WebSocket too)
//   'h2', 'h2c'             HTTP/2 over TLS (ALPN) or plaintext (prior knowledge)
//   'grpc'                  a gRPC request (content-type application/grpc…), over
//                           either; then grpc_service and grpc_method from its
//                           path, and grpc_status the status the client got
//                           (absent when it got none: it went away first)
//   'ws'                    a WebSocket upgrade; its status is 101 once tunnelled

import type { L7RequestTap } from '../../ingest/index.ts';
import type { RequestContext } from './context.ts';
import { grpcMethod, isGrpc } from './h2/index.ts';
import { isWebSocket } from './upgrade/index.ts';

type ProtocolFields = Pick<L7RequestTap, 'protocol' | 'grpc_service' | 'grpc_method' | 'grpc_status'>;

export function tapProtocol(ctx: RequestContext): ProtocolFields {
  const req = ctx.req;
  if (isGrpc(req)) {
    const out: ProtocolFields = { protocol: 'grpc' };
    const m = grpcMethod(req.url ?? '');
    if (m) { out.grpc_service = m.service; out.grpc_method = m.method; }
    if (ctx.grpcStatus !== undefined) out.grpc_status = ctx.grpcStatus;
    return out;
  }
  if (ctx.h2) return { protocol: ctx.h2 };
  if (ctx.upgrade && isWebSocket(req)) return { protocol: 'ws' };
  return { protocol: req.httpVersion === '1.0' ? 'http/1.0' : 'http/1.1' };
}
