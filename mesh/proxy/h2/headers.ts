// Header fields across the HTTP/1.1 ↔ HTTP/2 boundary. HTTP/2 has no
// connection-specific fields (RFC 9113 §8.2.2): a request carrying one is
// malformed, and none may be sent; `te` is allowed with the value
// "trailers" only (gRPC sends it, and needs it to reach the server).
// Host becomes :authority and back.

import type http from 'node:http';
import http2 from 'node:http2';
import type { RequestContext } from '../context.ts';

/** Per-connection headers (RFC 9110 §7.6.1, RFC 9113 §8.2.2): never forwarded, and refused in an HTTP/2 request. */
export const CONNECTION_SPECIFIC = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

/** The connection-specific header an HTTP/2 request carries, if any (`te: trailers` is not one). */
export function connectionSpecificIn(headers: http.IncomingHttpHeaders): string | undefined {
  for (const name of Object.keys(headers)) {
    if (!CONNECTION_SPECIFIC.has(name)) continue;
    if (name === 'te' && String(headers.te).trim().toLowerCase() === 'trailers') continue;
    return name;
  }
  return undefined;
}

/** Names a Connection header lists: hop-by-hop as well (RFC 9110 §7.6.1). */
function connectionNamed(value: string | undefined): Set<string> | null {
  if (!value) return null;
  return new Set(value.split(',').map((n) => n.trim().toLowerCase()));
}

/** The request to send upstream as HTTP/2: pseudo-headers, then the client's fields less hop-by-hop ones, stripped ones and those `add` replaces. */
export function h2RequestHeaders(ctx: RequestContext, secure: boolean): http2.OutgoingHttpHeaders {
  const req = ctx.req;
  const target = req.url ?? '/';
  const out: http2.OutgoingHttpHeaders = {
    ':method': req.method ?? 'GET',
    ':path': target.startsWith('/') ? target : absolutePath(target),
    ':scheme': secure ? 'https' : 'http',
    ':authority': (ctx.h2 ? req.headers[':authority'] as string | undefined : undefined) ?? req.headers.host ?? ctx.authority,
  };
  const named = connectionNamed(req.headers.connection as string | undefined);
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i].toLowerCase();
    if (k.charCodeAt(0) === 58 /* ':' */ || k === 'host' || ctx.strippedHeaders.has(k) || named?.has(k) || k in ctx.upstreamHeaders) continue;
    if (CONNECTION_SPECIFIC.has(k) && !(k === 'te' && raw[i + 1].trim().toLowerCase() === 'trailers')) continue;
    const had = out[k];
    out[k] = had === undefined ? raw[i + 1] : [...(Array.isArray(had) ? had : [String(had)]), raw[i + 1]];
  }
  for (const k in ctx.upstreamHeaders) out[k] = ctx.upstreamHeaders[k];
  return out;
}

/** An HTTP/2 response's fields as a flat [name, value, …] list for writeHead: no pseudo-headers, nothing connection-specific. */
export function responseFields(headers: http2.IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const k of Object.keys(headers)) {
    if (k.charCodeAt(0) === 58 || CONNECTION_SPECIFIC.has(k)) continue;
    const v = headers[k];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const one of v) out.push(k, one);
    else out.push(k, String(v));
  }
  return out;
}

const ERROR_NAMES = ['NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED',
  'FRAME_SIZE_ERROR', 'REFUSED_STREAM', 'CANCEL', 'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM', 'INADEQUATE_SECURITY', 'HTTP_1_1_REQUIRED'];

/** The RFC 9113 §7 name of an error code (a number, or Node's "… error code N" message). */
export function h2ErrorName(code: number | Error): string {
  let n = typeof code === 'number' ? code : Number(/code (\d+)/.exec(code.message)?.[1] ?? NaN);
  if (Number.isNaN(n)) n = -1;
  return ERROR_NAMES[n] ?? `error code ${n}`;
}

export const { NGHTTP2_REFUSED_STREAM, NGHTTP2_CANCEL } = http2.constants;

function absolutePath(target: string): string {
  try { const u = new URL(target); return u.pathname + u.search; } catch { return '/'; }
}
