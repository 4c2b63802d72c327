// Outbound: which endpoint of the chosen cluster serves the request
// (round-robin; the only lb the snapshot offers today).

import { MeshError } from '../errors.ts';
import type { Stage } from '../stage.ts';

export const balanceStage: Stage = {
  name: 'balance',
  async handle(ctx, next) {
    const cluster = ctx.cluster!;
    const endpoint = ctx.config.pickEndpoint(cluster);
    if (!endpoint) throw new MeshError('MESH_ERR_NO_ENDPOINT', `cluster '${cluster.service}' has no endpoints`);
    ctx.endpoint = endpoint;
    ctx.dst.instance = endpoint.instance;
    ctx.dst.addr = endpoint.addr;
    ctx.dst.port = endpoint.port;
    await next();
  },
};
