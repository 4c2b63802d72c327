// Outbound: sends a failed request again, per the cluster's `retry` policy
// (mesh/control/resilience.ts), or the one of the route's resilience rule the
// request matched (ctx.override, ../route-resilience.ts: another policy, or
// none), as Envoy and Linkerd do. It wraps balance,
// endpoint-outcome and upstream, so each try picks its endpoint afresh
// (passing over those already tried) and counts toward outlier detection;
// the timeout stage outside it bounds all tries together, and
// per_try_timeout_ms each one until its response head.
//
// A try is sent again only when all of these hold:
//   - it failed as the policy's `on` names (before anything reached the client):
//       connect-failure  no connection (MESH_ERR_UPSTREAM_CONNECT)
//       reset            the connection closed before a response head
//       timeout          per_try_timeout_ms passed before a response head
//       unavailable      a 503 answer
//       gateway-error    a 502, 503 or 504 answer, or any of the first three
//       5xx              any 5xx answer, or any of the first three
//       rate-limited     a 429 answer (another endpoint may have tokens left);
//   - the request may be sent twice: an idempotent method (RFC 9110: GET,
//     HEAD, OPTIONS, PUT, DELETE, TRACE), or, where the policy says
//     non_idempotent: when_marked, one the workload marked with
//     `x-meshlens-retryable: 1`; and a body the sidecar kept: none, or one
//     whose Content-Length is at most max_body_bytes (read whole before the
//     first try). A chunked or larger body streams as always and is never
//     retried;
//   - tries are left (attempts) and the cluster's retry budget has one (../retry-budget.ts).
// Each retry waits first: half to all of min(backoff_max_ms, backoff_base_ms
// × 2^(n-1)), so retries spread out and never come back at once. A 503 or
// 429 with `retry-after` (../retry-after.ts) is the upstream's own word:
// a wait of at most backoff_max_ms that ends before the request timeout is
// waited exactly; a longer one is not retried at all (as Envoy does with a
// reset header past its max interval), the tap's flag retry_not_allowed and
// the cluster's retry_after_too_long counter saying so: the client gets the
// upstream's answer, retry-after included, and decides itself.
//
// The retryable header is read from the workload's own request, on the
// outbound side only: it says something about that request alone (it may
// be sent twice), grants nothing, and is stripped before forwarding with
// every x-meshlens-* header (stages/mesh-headers.ts). A caller cannot make a
// non-idempotent request retried unless the cluster's policy allows marks.

import { RequestSignal } from '../request-signal.ts';
import { DEFAULT_MAX_BODY_BYTES, IDEMPOTENT_METHODS, RETRYABLE_HEADER, type RetryOn, type RetryPolicy } from '../../control/resilience.ts';
import type { RequestContext } from '../context.ts';
import { MeshError, toMeshError } from '../errors.ts';
import { flag } from '../request-flags.ts';
import { retryAfterMs } from '../retry-after.ts';
import type { Stage } from '../stage.ts';

export const retryStage: Stage = {
  name: 'retry',
  async handle(ctx, next) {
    const policy = ctx.override ? ctx.override.retry : ctx.cluster?.retry;
    if (!policy) return next();
    const rt = ctx.runtime;
    const { budget, counters } = rt.clusters.cluster(ctx.cluster!.service);
    budget.deposit(rt.now());
    const overall = ctx.signal;
    const allowed = await mayRepeat(ctx, policy, overall);
    let tries = 0;
    try {
      for (;;) {
        tries++;
        /** Whether this try is to be retried: decided once, at its response head or its failure. */
        let decided: boolean | undefined;
        /** The wait the upstream asked for (retry-after of a 503 or 429), if it did. */
        let askedMs: number | undefined;
        const decide = (): boolean => {
          if (decided !== undefined) return decided;
          if (allowed !== true) { flag(ctx, 'retry_not_allowed'); counters.retry_not_allowed++; return decided = false; }
          if (tries > policy.attempts || overall?.aborted) return decided = false;
          if (askedMs !== undefined && (askedMs > policy.backoff_max_ms || rt.now() + askedMs >= deadlineOf(ctx))) {
            flag(ctx, 'retry_not_allowed'); counters.retry_after_too_long++; return decided = false;
          }
          if (!budget.withdraw(rt.now(), policy.budget)) { flag(ctx, 'retry_budget_exhausted'); counters.retry_budget_exhausted++; return decided = false; }
          return decided = true;
        };
        const perTry = perTryBound(ctx, policy, overall);
        ctx.retryResponse = (status, retryAfter) => {
          perTry?.headArrived();
          if (!statusMatches(policy.on, status)) return false;
          if (retryAfter !== undefined) askedMs = retryAfterMs(retryAfter, Date.now());
          return decide();
        };
        try {
          await next();
          return;
        } catch (e) {
          const err = toMeshError(e);
          const timedOut = perTry?.fired(err) ?? false;
          if (timedOut) { flag(ctx, 'per_try_timeout'); counters.per_try_timeouts++; }
          // decided already: the answer was dropped for a retry (whatever broke while it drained).
          const retry = decided === true
            || (decided === undefined && !ctx.res.headersSent && failureMatches(policy.on, err, timedOut, ctx.upstreamStatus) && decide());
          if (!retry) throw e;
        } finally {
          perTry?.clear();
        }
        ctx.retries++;
        counters.retries++;
        flag(ctx, 'retried');
        if (ctx.endpoint) (ctx.triedEndpoints ??= []).push(ctx.endpoint);
        await backoff(ctx, policy, tries, overall, askedMs);
      }
    } finally {
      ctx.signal = overall;
      ctx.retryResponse = undefined;
    }
  },
};

/**
 * true when the request may be sent again, else what stops it. Keeps the
 * body (ctx.replayBody) when it may; reading it is bounded by the overall
 * timeout and ends if the client goes away.
 */
async function mayRepeat(ctx: RequestContext, policy: RetryPolicy, overall: RequestSignal | undefined): Promise<true | 'method' | 'body'> {
  const method = ctx.req.method ?? '';
  const marked = policy.non_idempotent === 'when_marked' && ctx.req.headers[RETRYABLE_HEADER] === '1';
  if (!IDEMPOTENT_METHODS.has(method) && !marked) return 'method';
  if (ctx.req.headers['transfer-encoding'] !== undefined) return 'body';
  const length = Number(ctx.req.headers['content-length'] ?? 0);
  if (length === 0) return true;
  if (!(length <= (policy.max_body_bytes ?? DEFAULT_MAX_BODY_BYTES))) return 'body';
  ctx.replayBody = await readBody(ctx, overall);
  ctx.reqBytes = ctx.replayBody.length;
  return true;
}

function readBody(ctx: RequestContext, overall: RequestSignal | undefined): Promise<Buffer> {
  const req = ctx.req;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const done = (err: unknown) => {
      req.off('data', onData); req.off('end', onEnd); req.off('error', onGone); req.off('close', onGone);
      overall?.removeEventListener('abort', onAbort);
      if (err) reject(err); else resolve(Buffer.concat(chunks));
    };
    const onData = (c: Buffer) => { chunks.push(c); };
    const onEnd = () => done(null);
    const onGone = () => done(new MeshError('MESH_ERR_DOWNSTREAM_RESET', 'client went away while sending the request body'));
    const onAbort = () => done(overall!.reason);
    req.on('data', onData); req.once('end', onEnd); req.once('error', onGone); req.once('close', onGone);
    overall?.addEventListener('abort', onAbort, { once: true });
  });
}

interface PerTry {
  /** The response head came: the per-try bound is met (the overall one still bounds the body). */
  headArrived(): void;
  /** Whether `err` is this bound's own. */
  fired(err: MeshError): boolean;
  clear(): void;
}

/** Sets ctx.signal for one try: the overall signal, and the per-try timeout when the policy has one. */
function perTryBound(ctx: RequestContext, policy: RetryPolicy, overall: RequestSignal | undefined): PerTry | null {
  ctx.signal = overall;
  const ms = policy.per_try_timeout_ms;
  if (ms === undefined) return null;
  const controller = new RequestSignal();
  let reason: MeshError | null = null;
  const timer = setTimeout(() => {
    const at = ctx.endpoint ? `${ctx.endpoint.addr}:${ctx.endpoint.port}` : 'upstream';
    controller.abort(reason = new MeshError('MESH_ERR_UPSTREAM_TIMEOUT', `no response head from ${at} within the per-try timeout (${ms} ms)`));
  }, ms);
  ctx.signal = overall ? RequestSignal.any([overall, controller]) : controller;
  return {
    headArrived: () => clearTimeout(timer),
    fired: (err) => err === reason,
    clear: () => clearTimeout(timer),
  };
}

/** When the timeout stage's bound over every try runs out, counted from the request's arrival (a little early, never late). */
const deadlineOf = (ctx: RequestContext): number => ctx.startedAt + (ctx.override?.request_timeout_ms ?? ctx.cluster!.request_timeout_ms);

function statusMatches(on: readonly RetryOn[], status: number): boolean {
  if (status === 429) return on.includes('rate-limited');
  if (status < 500) return false;
  if (on.includes('5xx')) return true;
  if ((status === 502 || status === 504) && on.includes('gateway-error')) return true;
  return status === 503 && (on.includes('unavailable') || on.includes('gateway-error'));
}

/** A try that failed without an answer the client saw: does the policy retry it? */
function failureMatches(on: readonly RetryOn[], err: MeshError, perTryTimeout: boolean, status: number | undefined): boolean {
  const broad = on.includes('gateway-error') || on.includes('5xx');
  if (err.code === 'MESH_ERR_UPSTREAM_CONNECT') return broad || on.includes('connect-failure');
  if (status !== undefined) return false; // the head had come: not a failure "before answering"
  if (err.code === 'MESH_ERR_UPSTREAM_RESET') return broad || on.includes('reset');
  if (perTryTimeout) return broad || on.includes('timeout');
  return false;
}

/**
 * Waits before retry n (1-based): what the upstream asked (`asked`, already
 * judged short enough), else half to all of min(max, base × 2^(n-1)); the
 * overall timeout or the client leaving ends the wait with their error.
 */
function backoff(ctx: RequestContext, policy: RetryPolicy, n: number, overall: RequestSignal | undefined, asked: number | undefined): Promise<void> {
  const cap = Math.min(policy.backoff_max_ms, policy.backoff_base_ms * 2 ** (n - 1));
  const ms = asked ?? cap / 2 + Math.random() * (cap / 2);
  return new Promise((resolve, reject) => {
    const done = (err: unknown) => {
      clearTimeout(timer);
      overall?.removeEventListener('abort', onAbort);
      ctx.res.off('close', onGone);
      if (err) reject(err); else resolve();
    };
    const onAbort = () => done(overall!.reason);
    const onGone = () => done(new MeshError('MESH_ERR_DOWNSTREAM_RESET', `client went away while a retry waited ${Math.round(ms)} ms`));
    const timer = setTimeout(() => done(null), ms);
    if (overall?.aborted) return onAbort();
    overall?.addEventListener('abort', onAbort, { once: true });
    ctx.res.once('close', onGone);
  });
}
