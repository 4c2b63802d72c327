// Inbound: who is calling. The caller's outbound sidecar names its service in
// `x-meshlens-src` / `x-meshlens-src-instance` (see source-headers.ts); without
// them the caller is EXTERNAL_SERVICE. The headers are removed before the
// workload sees them.
//
// These headers are self-declared and spoofable; the identity stage (mTLS,
// SPIFFE ids from the peer certificate) replaces them in a later issue.

import { EXTERNAL_SERVICE } from '../../../ingest/index.ts';
import type { Stage } from '../stage.ts';
import { SRC_INSTANCE_HEADER, SRC_SERVICE_HEADER } from './source-headers.ts';

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v) ?? '';

export const callerStage: Stage = {
  name: 'caller',
  async handle(ctx, next) {
    const service = first(ctx.req.headers[SRC_SERVICE_HEADER]).slice(0, 128);
    const instance = first(ctx.req.headers[SRC_INSTANCE_HEADER]).slice(0, 128);
    ctx.src.service = service || EXTERNAL_SERVICE;
    ctx.src.instance = service ? instance : '';
    ctx.strippedHeaders.add(SRC_SERVICE_HEADER).add(SRC_INSTANCE_HEADER);
    await next();
  },
};
