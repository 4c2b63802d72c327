// Bounds the whole upstream exchange (until the response body has been sent),
// every retry included (stages/retry.ts bounds each try within it).
// Inbound uses --timeout-ms; outbound the chosen cluster's request_timeout_ms,
// or that of the route's resilience rule the request matched (../route-resilience.ts).
// On expiry the signal aborts the upstream stage with MESH_ERR_UPSTREAM_TIMEOUT.

import { MeshError } from '../errors.ts';
import { flag } from '../request-flags.ts';
import { RequestSignal } from '../request-signal.ts';
import type { Stage } from '../stage.ts';

export const timeoutStage: Stage = {
  name: 'timeout',
  async handle(ctx, next) {
    const ms = ctx.override?.request_timeout_ms ?? ctx.cluster?.request_timeout_ms ?? ctx.runtime.opts.requestTimeoutMs;
    const signal = new RequestSignal();
    ctx.signal = signal;
    const timer = setTimeout(() => {
      flag(ctx, 'timed_out');
      signal.abort(new MeshError('MESH_ERR_UPSTREAM_TIMEOUT',
        `no complete response from ${ctx.endpoint ? `${ctx.endpoint.addr}:${ctx.endpoint.port}` : 'upstream'} within ${ms} ms${ctx.retries > 0 ? ` (${ctx.retries + 1} tries)` : ''}`));
    }, ms);
    try {
      await next();
    } finally {
      clearTimeout(timer);
    }
  },
};
