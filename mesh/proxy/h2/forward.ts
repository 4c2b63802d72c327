// Forwards a request upstream as HTTP/2 over the endpoint's session pool
// (./session-pool.ts), streaming both bodies, and passes the response's
// trailers on (gRPC's grpc-status and grpc-message travel there). A
// trailers-only response (HEADERS with END_STREAM, as gRPC answers an
// error) reaches an HTTP/2 client the same way. Resolves when the response
// has been handed to the client in full; rejects with a MeshError otherwise.
//
// Which hop speaks HTTP/2 (usesH2Upstream):
//   gRPC                       always (its status lives in trailers)
//   inbound → workload         --upstream-protocol: same (as the client spoke), h1, h2 (h2c)
//   outbound → peer sidecar    as the client spoke: h2 over mTLS (ALPN h2) with an
//                              identity, h2c without one
//
// A stream the upstream refused without processing it (RST_STREAM
// REFUSED_STREAM, or past the last stream id of a GOAWAY) is sent again
// once on another session when its body can be: none, or kept by the retry stage.

import http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { RequestContext } from '../context.ts';
import { MeshError } from '../errors.ts';
import { upstreamTarget } from '../upstream-target.ts';
import { grpcStatusIn, isGrpc } from './grpc.ts';
import { h2ErrorName, h2RequestHeaders, NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, responseFields } from './headers.ts';
import { goawayOf } from './session-pool.ts';
import type { H2SessionError } from './session-pool.ts';

export function usesH2Upstream(ctx: RequestContext): boolean {
  if (ctx.upgrade) return false;
  if (isGrpc(ctx.req)) return true;
  const choice = ctx.direction === 'inbound' ? ctx.runtime.opts.upstreamProtocol : 'same';
  return choice === 'h2' || (choice === 'same' && ctx.h2 !== undefined);
}

/** Whether the client's request has a body to stream (an HTTP/2 request says so by not ending with its HEADERS). */
function hasBody(ctx: RequestContext): boolean {
  const req = ctx.req;
  if (ctx.h2) return !(req as unknown as http2.Http2ServerRequest).stream.endAfterHeaders;
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

export function forwardH2(ctx: RequestContext): Promise<void> {
  const body = ctx.replayBody !== undefined ? 'kept' : hasBody(ctx) ? 'stream' : 'none';
  return attempt(ctx, body, body !== 'stream');
}

function attempt(ctx: RequestContext, body: 'none' | 'stream' | 'kept', mayReplay: boolean): Promise<void> {
  const { ep, target, connectMs, peer } = upstreamTarget(ctx);
  const rt = ctx.runtime;
  const pool = rt.pools.h2For(ep.addr, ep.port, rt.counters.h2, peer, ctx.cluster?.max_connections);
  const headers = h2RequestHeaders(ctx, peer !== undefined);
  const endStream = body === 'none' || (body === 'kept' && ctx.replayBody!.length === 0);
  const res = ctx.res;
  const downstream = ctx.h2 ? (res as unknown as http2.Http2ServerResponse).stream : null;

  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let stream: http2.ClientHttp2Stream | null = null;
    let session: http2.ClientHttp2Session | null = null;
    let responded = false;
    const settle = (err: MeshError | null, replay = false) => {
      if (settled) return;
      settled = true;
      ctx.signal?.removeEventListener('abort', onAbort);
      res.off('close', onClientGone);
      res.off('drain', onDrain);
      cancelWait();
      if (replay) { attempt(ctx, body, false).then(resolve, reject); return; }
      if (err) {
        ctx.req.unpipe();
        if (stream && !stream.closed) stream.close(NGHTTP2_CANCEL);
        reject(err);
      } else resolve();
    };
    const onAbort = () => settle(ctx.signal!.reason as MeshError);
    const onClientGone = () => {
      if (!res.writableFinished) settle(new MeshError('MESH_ERR_DOWNSTREAM_RESET', `client went away before the response from ${target} was complete`));
    };
    const onDrain = () => stream?.resume();
    if (body === 'none') ctx.req.resume(); // let 'end' come, so the server side is done with it

    let cancelWait = () => {};
    cancelWait = pool.request(headers, endStream, connectMs, (err, s, sess) => {
      if (settled) { s?.close(NGHTTP2_CANCEL); return; }
      if (err) return settle(sessionMeshError(err, target, peer));
      stream = s!;
      session = sess!;
      if (peer) {
        ctx.dst.identity = peer; // checked in the handshake (checkServerIdentity)
        ctx.tls = (session.socket as TLSSocket).getProtocol?.() ?? '';
      }
      if (body === 'kept' && !endStream) { ctx.reqBytes = ctx.replayBody!.length; stream.end(ctx.replayBody); }
      else if (body === 'stream') {
        ctx.req.on('data', (chunk: Buffer) => { ctx.reqBytes += chunk.length; });
        ctx.req.pipe(stream);
      }
      stream.on('error', () => {}); // its end is read from 'close' and rstCode
      stream.once('response', onResponse);
      stream.on('data', (chunk: Buffer) => {
        ctx.respBytes += chunk.length;
        if (!res.write(chunk)) stream!.pause();
      });
      stream.once('trailers', (trailers: http2.IncomingHttpHeaders) => {
        const grpc = grpcStatusIn(trailers);
        if (grpc !== undefined) ctx.grpcStatus = grpc;
        res.addTrailers(headersObject(responseFields(trailers)));
      });
      // 'end' may come before 'trailers' (both a tick after their frames): the response is
      // complete once the stream has closed cleanly and its body has ended.
      let ended = false;
      let clean = false;
      const finish = () => {
        res.end();
        if (res.writableFinished) settle(null);
        else res.once('finish', () => settle(null));
      };
      stream.once('end', () => { ended = true; if (clean && !settled) finish(); });
      stream.once('close', () => {
        if (settled) return;
        const code = stream!.rstCode ?? 0;
        if (responded && code === http2.constants.NGHTTP2_NO_ERROR) { clean = true; if (ended) finish(); return; }
        const goaway = goawayOf(session!);
        if (!responded && code === NGHTTP2_REFUSED_STREAM && mayReplay) return settle(null, true);
        const why = goaway !== undefined && code === NGHTTP2_REFUSED_STREAM ? `sent GOAWAY ${h2ErrorName(goaway)}` : `reset the stream (RST_STREAM ${h2ErrorName(code)})`;
        settle(new MeshError('MESH_ERR_UPSTREAM_RESET', `upstream ${target} ${why} ${responded ? 'while answering' : 'before answering'}`));
      });
    });

    function onResponse(fields: http2.IncomingHttpHeaders, flags: number) {
      const status = Number(fields[':status']);
      ctx.upstreamStatus = status;
      if (ctx.retryResponse?.(status, status === 503 || status === 429 ? fields['retry-after'] as string | undefined : undefined)) {
        return settle(new MeshError('MESH_ERR_UPSTREAM_STATUS', `upstream ${target} answered ${status}: tried again`));
      }
      responded = true;
      const grpc = grpcStatusIn(fields);
      if (grpc !== undefined) ctx.grpcStatus = grpc;
      const trailersOnly = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
      if (trailersOnly && downstream) {
        // HEADERS with END_STREAM, as received: gRPC reads its status there only when nothing follows.
        res.statusCode = status;
        downstream.respond({ ...headersObject(responseFields(fields)), ':status': status }, { endStream: true });
        return settle(null);
      }
      res.writeHead(status, responseFields(fields));
      if (trailersOnly) { res.end(); settle(null); }
    }

    if (ctx.signal?.aborted) return onAbort();
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    res.on('close', onClientGone);
    res.on('drain', onDrain);
  });
}

function headersObject(flat: string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const had = out[flat[i]];
    out[flat[i]] = had === undefined ? flat[i + 1] : [...(Array.isArray(had) ? had : [had]), flat[i + 1]];
  }
  return out;
}

function sessionMeshError(e: H2SessionError, target: string, peer: string | undefined): MeshError {
  if (e.kind === 'identity' && peer) {
    return new MeshError('MESH_ERR_UPSTREAM_IDENTITY', `upstream ${target} is not ${peer}: ${e.code} ${e.message}`.replace(/\s+/g, ' '), { cause: e });
  }
  return new MeshError('MESH_ERR_UPSTREAM_CONNECT', e.message.startsWith('connect to') ? e.message : `connect to ${target} failed: ${e.message}`, { cause: e });
}
