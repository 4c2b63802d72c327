// Outbound: which service the request is for. The authority (Host, or the host
// of an absolute-form target, without port) selects a Route; its weighted
// backends choose the Cluster.

import { MeshError } from '../errors.ts';
import type { Stage } from '../stage.ts';

export const routeStage: Stage = {
  name: 'route',
  async handle(ctx, next) {
    const route = ctx.config.route(ctx.authority);
    if (!route) throw new MeshError('MESH_ERR_NO_ROUTE', `no route for authority '${ctx.authority}' in config version ${ctx.config.version}`);
    const cluster = ctx.config.pickCluster(route);
    if (!cluster) throw new MeshError('MESH_ERR_NO_ENDPOINT', `route '${route.authority}' names a cluster that does not exist`);
    ctx.route = route;
    ctx.cluster = cluster;
    ctx.dst.service = cluster.service;
    await next();
  },
};
