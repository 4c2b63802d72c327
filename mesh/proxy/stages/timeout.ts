// Bounds the whole upstream exchange (until the response body has been sent).
// Inbound uses --timeout-ms; outbound the chosen cluster's request_timeout_ms.
// On expiry the signal aborts the upstream stage with MESH_ERR_UPSTREAM_TIMEOUT.

import { MeshError } from '../errors.ts';
import type { Stage } from '../stage.ts';

export const timeoutStage: Stage = {
  name: 'timeout',
  async handle(ctx, next) {
    const ms = ctx.cluster?.request_timeout_ms ?? ctx.runtime.opts.requestTimeoutMs;
    const controller = new AbortController();
    ctx.signal = controller.signal;
    const timer = setTimeout(() => controller.abort(new MeshError('MESH_ERR_UPSTREAM_TIMEOUT',
      `no complete response from ${ctx.endpoint ? `${ctx.endpoint.addr}:${ctx.endpoint.port}` : 'upstream'} within ${ms} ms`)), ms);
    try {
      await next();
    } finally {
      clearTimeout(timer);
    }
  },
};
