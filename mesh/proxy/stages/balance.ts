// Outbound: which endpoint of the chosen backend (a cluster, or the subset of
// it the route named) serves the request: round-robin, the only lb the
// snapshot offers today.

import { MeshError } from '../errors.ts';
import type { Stage } from '../stage.ts';

export const balanceStage: Stage = {
  name: 'balance',
  async handle(ctx, next) {
    const backend = ctx.backend!;
    const endpoint = ctx.config.pickEndpoint(backend);
    if (!endpoint) throw new MeshError('MESH_ERR_NO_ENDPOINT', `${backend.name} has no endpoints`);
    ctx.endpoint = endpoint;
    ctx.dst.instance = endpoint.instance;
    ctx.dst.addr = endpoint.addr;
    ctx.dst.port = endpoint.port;
    ctx.dst.version = endpoint.labels?.version ?? '';
    await next();
  },
};
