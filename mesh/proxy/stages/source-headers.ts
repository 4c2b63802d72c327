// Outbound: tells the destination's inbound sidecar which service is calling,
// so its tap records src_service. Stand-in until mTLS identities (a later
// issue) carry this in the peer certificate instead.

import type { Stage } from '../stage.ts';

export const SRC_SERVICE_HEADER = 'x-meshlens-src';
export const SRC_INSTANCE_HEADER = 'x-meshlens-src-instance';

export const sourceHeadersStage: Stage = {
  name: 'source-headers',
  async handle(ctx, next) {
    // Whatever the app sent in these headers is replaced, never forwarded.
    ctx.strippedHeaders.add(SRC_SERVICE_HEADER).add(SRC_INSTANCE_HEADER);
    ctx.upstreamHeaders[SRC_SERVICE_HEADER] = ctx.runtime.opts.service;
    ctx.upstreamHeaders[SRC_INSTANCE_HEADER] = ctx.runtime.opts.instance;
    await next();
  },
};
