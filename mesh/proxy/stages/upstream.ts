// Forwards the request to the chosen endpoint over its keep-alive pool and
// streams both bodies: nothing is buffered whole. Resolves when the response
// has been handed to the client in full; rejects with a MeshError otherwise.

import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { PEER_IDENTITY_MISMATCH } from '../../../identity/index.ts';
import { MeshError } from '../errors.ts';
import type { RequestContext } from '../context.ts';
import type { Stage } from '../stage.ts';

/** Per-connection headers (RFC 9110 §7.6.1): never forwarded. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

function forwardHeaders(headers: http.IncomingHttpHeaders, drop: Set<string>): http.OutgoingHttpHeaders {
  const named = new Set<string>(drop);
  // Headers the Connection header names are hop-by-hop as well.
  for (const n of String(headers.connection ?? '').split(',')) named.add(n.trim().toLowerCase());
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined && !HOP_BY_HOP.has(k) && !named.has(k)) out[k] = v;
  }
  return out;
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

export const upstreamStage: Stage = {
  name: 'upstream',
  handle: forward,
};

type BodyFraming = 'none' | 'length' | 'chunked';

/**
 * How the request body is delimited toward the upstream, whatever the method.
 * Transfer-Encoding is hop-by-hop, so it is dropped with the others and set
 * again here: Node's client chunks a body by itself only for methods it
 * expects one on (not GET, HEAD, DELETE, OPTIONS), and would otherwise write
 * a GET's body raw, unframed, where the workload parses it as a second
 * request no policy checked and no tap recorded (request smuggling).
 * Content-Length is end-to-end and forwarded as received. A coding other than
 * `chunked` alone is refused (stages/message-checks.ts answers first; this
 * check keeps the upstream safe without it).
 */
function bodyFraming(req: http.IncomingMessage): BodyFraming | MeshError {
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) {
    if (te.trim().toLowerCase() !== 'chunked') {
      return new MeshError('MESH_ERR_BAD_FRAMING', `Transfer-Encoding ${JSON.stringify(te)} cannot be forwarded: only "chunked" alone is; request refused`);
    }
    return 'chunked';
  }
  return Number(req.headers['content-length'] ?? 0) > 0 ? 'length' : 'none';
}

/** The peer closed a kept-alive socket just as we reused it: nothing reached the upstream's handler. */
function isStaleReuse(up: http.ClientRequest, e: NodeJS.ErrnoException, responded: boolean): boolean {
  return !responded && up.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE');
}

function forward(ctx: RequestContext): Promise<void> {
  const framing = bodyFraming(ctx.req);
  if (framing instanceof MeshError) return Promise.reject(framing);
  // Requests whose body is known to be empty can be replayed on a fresh connection.
  return attempt(ctx, framing === 'none', framing);
}

// Node documents the race this guards against (http.ClientRequest#reusedSocket):
// a pooled socket the server closes while we write to it fails with
// ECONNRESET before any response. A request without a body is replayed once
// on a new connection; one with a body has been consumed and fails as
// MESH_ERR_UPSTREAM_RESET (the retry stage, a later issue, decides for those).
function attempt(ctx: RequestContext, mayReplay: boolean, framing: BodyFraming): Promise<void> {
  const ep = ctx.endpoint!;
  const target = `${ep.addr}:${ep.port}`;
  ctx.upstream = target;
  const connectMs = ctx.cluster?.connect_timeout_ms ?? ctx.runtime.opts.connectTimeoutMs;
  const path = ctx.req.url?.startsWith('/') ? ctx.req.url : absolutePath(ctx.req.url ?? '/');
  const headers = forwardHeaders(ctx.req.headers, ctx.strippedHeaders);
  headers.host ??= ctx.authority;
  Object.assign(headers, ctx.upstreamHeaders);
  if (framing === 'chunked') {
    headers['transfer-encoding'] = 'chunked'; // makes Node's client chunk the body for any method
    delete headers['content-length'];
  }

  // Outbound with an identity: mTLS to the peer sidecar, whose certificate must name the chosen service.
  const peer = ctx.direction === 'outbound' && ctx.runtime.pools.mtls ? ctx.runtime.identity!.peerId(ctx.cluster!.service) : undefined;

  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let responded = false;
    const up = (peer ? https : http).request({
      host: ep.addr, port: ep.port, method: ctx.req.method, path, headers, setHost: false,
      agent: ctx.runtime.pools.agentFor(ep.addr, ep.port, peer),
    });
    const fail = (err: MeshError) => {
      if (settled) return;
      settled = true;
      ctx.req.unpipe(up);
      up.destroy();
      reject(err);
    };
    const onAbort = () => fail(ctx.signal!.reason as MeshError);
    if (ctx.signal?.aborted) return onAbort();
    ctx.signal?.addEventListener('abort', onAbort, { once: true });

    up.on('socket', (socket) => {
      if (!socket.connecting) return;
      const timer = setTimeout(() => fail(new MeshError('MESH_ERR_UPSTREAM_CONNECT', `connect to ${target} timed out after ${connectMs} ms`)), connectMs);
      socket.once('connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
    up.on('error', (e: NodeJS.ErrnoException) => {
      if (mayReplay && !settled && isStaleReuse(up, e, responded)) {
        settled = true;
        ctx.signal?.removeEventListener('abort', onAbort);
        up.destroy();
        attempt(ctx, false, framing).then(resolve, reject);
        return;
      }
      if (peer && !responded && (e.code === PEER_IDENTITY_MISMATCH || e.code?.startsWith('ERR_SSL') || e.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || e.code === 'CERT_HAS_EXPIRED')) {
        fail(new MeshError('MESH_ERR_UPSTREAM_IDENTITY', `upstream ${target} is not ${peer}: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' '), { cause: e }));
      } else if (!responded && e.code && CONNECT_CODES.has(e.code)) {
        fail(new MeshError('MESH_ERR_UPSTREAM_CONNECT', `connect to ${target} failed: ${e.code}`, { cause: e }));
      } else {
        fail(new MeshError('MESH_ERR_UPSTREAM_RESET', `upstream ${target} ${responded ? 'reset mid-response' : 'closed before answering'}: ${e.code ?? e.message}`, { cause: e }));
      }
    });
    up.on('response', (upRes) => {
      responded = true;
      if (peer) {
        ctx.dst.identity = peer; // checked in the handshake (checkServerIdentity)
        ctx.tls = (upRes.socket as TLSSocket).getProtocol?.() ?? '';
      }
      const resHeaders = forwardHeaders(upRes.headers, new Set());
      ctx.res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, resHeaders);
      upRes.on('data', (chunk: Buffer) => { ctx.respBytes += chunk.length; });
      upRes.on('aborted', () => fail(new MeshError('MESH_ERR_UPSTREAM_RESET', `upstream ${target} reset mid-response`)));
      upRes.on('error', () => fail(new MeshError('MESH_ERR_UPSTREAM_RESET', `upstream ${target} reset mid-response`)));
      upRes.pipe(ctx.res);
    });
    ctx.res.on('finish', () => {
      if (settled) return;
      settled = true;
      ctx.signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    ctx.res.on('close', () => {
      if (!ctx.res.writableFinished) fail(new MeshError('MESH_ERR_DOWNSTREAM_RESET', `client went away before the response from ${target} was complete`));
    });
    if (mayReplay) {
      // No body: end the upstream request ourselves, so a replay does not wait on a stream already ended.
      ctx.req.resume();
      up.end();
    } else {
      ctx.req.on('data', (chunk: Buffer) => { ctx.reqBytes += chunk.length; });
      ctx.req.pipe(up);
    }
  });
}

function absolutePath(target: string): string {
  try { const u = new URL(target); return u.pathname + u.search; } catch { return '/'; }
}
