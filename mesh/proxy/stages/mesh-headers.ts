// Both directions: no request header can speak for the mesh. Every
// `x-meshlens-*` header a client sends is removed before anything forwards
// the request, and nothing reads them: the caller a policy and a tap see is
// the listener's proven peer (the mTLS certificate's SPIFFE id), or
// `external`. Earlier versions named the caller in `x-meshlens-src`, which
// anyone could send (`curl -H 'x-meshlens-src: cart'` turned a 403 into 200).

import type { Stage } from '../stage.ts';

export const MESH_HEADER_PREFIX = 'x-meshlens-';

export const meshHeadersStage: Stage = {
  name: 'mesh-headers',
  async handle(ctx, next) {
    for (const name of Object.keys(ctx.req.headers)) {
      if (name.startsWith(MESH_HEADER_PREFIX)) ctx.strippedHeaders.add(name);
    }
    await next();
  },
};
