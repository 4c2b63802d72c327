// Both directions: no request header can speak for the mesh. Every
// `x-meshlens-*` header a client sends is removed before anything forwards
// the request, and none is believed about the caller: the caller a policy and a tap see is
// the listener's proven peer (the mTLS certificate's SPIFFE id), or
// `external`. Earlier versions named the caller in `x-meshlens-src`, which
// anyone could send (`curl -H 'x-meshlens-src: cart'` turned a 403 into 200).
// One is read, never forwarded: outbound, `x-meshlens-retryable: 1` is the
// workload's word that its own request may be sent twice, honoured only
// where the cluster's retry policy allows it (stages/retry.ts).

import type { Stage } from '../stage.ts';

export const MESH_HEADER_PREFIX = 'x-meshlens-';

export const meshHeadersStage: Stage = {
  name: 'mesh-headers',
  handle(ctx, next) {
    for (const name of Object.keys(ctx.req.headers)) {
      if (name.startsWith(MESH_HEADER_PREFIX)) ctx.strippedHeaders.add(name);
    }
    return next();
  },
};
