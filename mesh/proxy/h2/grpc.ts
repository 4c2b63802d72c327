// gRPC as the sidecar sees it: a request whose content-type is
// application/grpc (or application/grpc+proto, …; not grpc-web, which
// carries its status in the body), whose path is /<package.Service>/<Method>,
// and whose outcome is the grpc-status in the response's trailers (or in
// the headers of a trailers-only response). The sidecar forwards it over
// HTTP/2 end to end (./forward.ts) and answers its own refusals as a gRPC
// server would: HTTP 200, a trailers-only response with grpc-status and
// grpc-message, so a gRPC client sees a status instead of a transport error.
//
// MeshError → gRPC status:
//   POLICY_DENIED                        7  PERMISSION_DENIED (grpc-message: the policy's reason only)
//   RATE_LIMITED                         8  RESOURCE_EXHAUSTED
//   NO_ROUTE                            12  UNIMPLEMENTED (as gRPC maps HTTP 404)
//   UPSTREAM_TIMEOUT, REQUEST_TIMEOUT    4  DEADLINE_EXCEEDED
//   NO_ENDPOINT, UPSTREAM_CONNECT, UPSTREAM_RESET, UPSTREAM_STATUS,
//   UPSTREAM_IDENTITY, OVERLOADED       14  UNAVAILABLE
//   DOWNSTREAM_RESET                     1  CANCELLED (nobody reads it)
//   anything else (malformed requests, INTERNAL)  13  INTERNAL (as gRPC maps HTTP 400)

import type http from 'node:http';
import type http2 from 'node:http2';
import { ERROR_HEADER, type MeshError, type MeshErrorCode } from '../errors.ts';

export const GRPC_STATUS = {
  OK: 0, CANCELLED: 1, DEADLINE_EXCEEDED: 4, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14,
} as const;

const BY_CODE: Partial<Record<MeshErrorCode, number>> = {
  MESH_ERR_POLICY_DENIED: GRPC_STATUS.PERMISSION_DENIED,
  MESH_ERR_RATE_LIMITED: GRPC_STATUS.RESOURCE_EXHAUSTED,
  MESH_ERR_NO_ROUTE: GRPC_STATUS.UNIMPLEMENTED,
  MESH_ERR_UPSTREAM_TIMEOUT: GRPC_STATUS.DEADLINE_EXCEEDED,
  MESH_ERR_REQUEST_TIMEOUT: GRPC_STATUS.DEADLINE_EXCEEDED,
  MESH_ERR_NO_ENDPOINT: GRPC_STATUS.UNAVAILABLE,
  MESH_ERR_UPSTREAM_CONNECT: GRPC_STATUS.UNAVAILABLE,
  MESH_ERR_UPSTREAM_RESET: GRPC_STATUS.UNAVAILABLE,
  MESH_ERR_UPSTREAM_STATUS: GRPC_STATUS.UNAVAILABLE,
  MESH_ERR_UPSTREAM_IDENTITY: GRPC_STATUS.UNAVAILABLE,
  MESH_ERR_OVERLOADED: GRPC_STATUS.UNAVAILABLE,
  MESH_ERR_DOWNSTREAM_RESET: GRPC_STATUS.CANCELLED,
};

export function grpcStatusOf(err: MeshError): number {
  return BY_CODE[err.code] ?? GRPC_STATUS.INTERNAL;
}

/** application/grpc, application/grpc+proto, application/grpc;… — not application/grpc-web. */
export function isGrpc(req: http.IncomingMessage): boolean {
  const ct = req.headers['content-type'];
  if (typeof ct !== 'string' || !ct.startsWith('application/grpc')) return false;
  const next = ct.charCodeAt(16);
  return Number.isNaN(next) || next === 43 /* + */ || next === 59 /* ; */;
}

/** Service and method of a gRPC path (/pkg.Service/Method); null when the path has another shape. */
export function grpcMethod(path: string): { service: string; method: string } | null {
  const m = /^\/([^/?#]+)\/([^/?#]+)$/.exec(path.split('?')[0]);
  return m ? { service: m[1].slice(0, 256), method: m[2].slice(0, 256) } : null;
}

/** grpc-status from response headers or trailers; undefined when absent or not a number. */
export function grpcStatusIn(fields: http2.IncomingHttpHeaders | undefined): number | undefined {
  const v = fields?.['grpc-status'];
  const n = Number(Array.isArray(v) ? v[0] : v);
  return v === undefined || !Number.isInteger(n) || n < 0 || n > 999 ? undefined : n;
}

/** grpc-message is percent-encoded: bytes outside printable ASCII, and '%' itself. */
function encodeGrpcMessage(text: string): string {
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/**
 * Answers `err` as a trailers-only gRPC response (HTTP 200, grpc-status,
 * grpc-message, x-meshlens-error) on either protocol; returns the status.
 */
export function writeGrpcError(res: http.ServerResponse, err: MeshError): number {
  const status = grpcStatusOf(err);
  // A denial tells the client only the policy's reason, as the HTTP answer does.
  const message = encodeGrpcMessage(err.reason !== undefined ? `${err.code}: ${err.reason}` : `${err.code}: ${err.message}`).slice(0, 1024);
  const fields = { 'content-type': 'application/grpc', 'grpc-status': String(status), 'grpc-message': message, [ERROR_HEADER]: err.code };
  const stream = (res as unknown as { stream?: http2.ServerHttp2Stream }).stream;
  res.statusCode = 200;
  if (stream) {
    // HEADERS with END_STREAM: gRPC reads a status there only when nothing follows.
    stream.respond({ ':status': 200, ...fields }, { endStream: true });
  } else {
    res.writeHead(200, fields);
    res.end();
  }
  return status;
}
