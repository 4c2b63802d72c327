// Records one l7.request tap per request and direction, after the exchange is
// over whatever happened (the rescue stage inside it has turned errors into
// responses). Outermost stage, so its latency covers the whole chain.

import { performance } from 'node:perf_hooks';
import type { L7RequestTap } from '../../../ingest/index.ts';
import type { RequestContext } from '../context.ts';
import { flagNames } from '../request-flags.ts';
import { setTapProtocol } from '../tap-protocol.ts';
import type { Stage } from '../stage.ts';
import { tapHeaders, tapPath, traceIdFrom } from '../tap-capture.ts';
import type { TapInput } from '../taps.ts';

export const tapStage: Stage = {
  name: 'tap',
  async handle(ctx, next) {
    try {
      await next();
    } finally {
      const counters = ctx.runtime.counters[ctx.direction];
      counters.requests++;
      if (ctx.error) counters.errors[ctx.error.code] = (counters.errors[ctx.error.code] ?? 0) + 1;
      if (ctx.runtime.taps.enabled) ctx.runtime.taps.push(l7Tap(ctx));
    }
  },
};

function l7Tap(ctx: RequestContext): TapInput {
  const capture = ctx.config.capture;
  const ev: Omit<L7RequestTap, 'proxy' | 'seq'> = {
    v: 1, kind: 'l7.request', ts: ctx.startedAt, direction: ctx.direction, conn_id: ctx.connId,
    src_service: ctx.src.service, src_instance: ctx.src.instance, src_addr: ctx.src.addr, src_port: ctx.src.port,
    dst_service: ctx.dst.service, dst_instance: ctx.dst.instance, dst_addr: ctx.dst.addr, dst_port: ctx.dst.port,
    method: (ctx.req.method ?? '').slice(0, 32),
    authority: (ctx.req.headers.host ?? ctx.authority).toLowerCase().slice(0, 256),
    path: tapPath(ctx.req.url ?? '/', capture.query_allow),
    // The status the client actually got; 0 when it got none (it went away first).
    status: ctx.res.headersSent ? ctx.res.statusCode : 0,
    latency_ms: Math.round((performance.now() - ctx.startedHr) * 1000) / 1000,
    req_bytes: ctx.reqBytes,
    resp_bytes: ctx.respBytes,
    upstream: ctx.upstream,
    retries: ctx.retries,
    trace_id: traceIdFrom(ctx.req.headers.traceparent),
    error: ctx.error?.code ?? '',
    protocol: 'http/1.1', // set below with gRPC's service, method and status (../tap-protocol.ts)
  };
  setTapProtocol(ev, ctx);
  if (ctx.flags) ev.flags = flagNames(ctx.flags);
  if (ctx.src.identity) ev.src_identity = ctx.src.identity;
  if (ctx.dst.identity) ev.dst_identity = ctx.dst.identity;
  if (ctx.tls) ev.tls_version = ctx.tls;
  if (ctx.src.version) ev.src_version = ctx.src.version;
  if (ctx.dst.version) ev.dst_version = ctx.dst.version;
  const headers = tapHeaders(ctx.req.headers, capture);
  if (headers) ev.headers = headers;
  if (ctx.decision) {
    ev.decision = ctx.decision.decision;
    ev.decision_reason = ctx.decision.reason;
  }
  return ev;
}
