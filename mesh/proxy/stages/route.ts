// Outbound: which service the request is for. The authority (Host, or the host
// of an absolute-form target, without port) selects a Route; its weighted
// backends (a cluster, or a subset of it by labels) choose where it goes
// (routing-table.ts). A backend with no endpoint is passed over while another
// has one; when none has, the request is refused 503 naming each. A route
// with resilience rules may give the request its own timeouts and retries.

import { MeshError } from '../errors.ts';
import { applyRouteResilience } from '../route-resilience.ts';
import type { Stage } from '../stage.ts';

export const routeStage: Stage = {
  name: 'route',
  handle(ctx, next) {
    const route = ctx.config.route(ctx.authority);
    if (!route) throw new MeshError('MESH_ERR_NO_ROUTE', `no route for authority '${ctx.authority}' in config version ${ctx.config.version}`);
    ctx.route = route;
    const backend = ctx.config.pickBackend(route);
    if (!backend) {
      const weighted = ctx.config.backends(route).filter((b) => b.weight > 0);
      if (weighted.length === 0) throw new MeshError('MESH_ERR_NO_ENDPOINT', `route '${route.authority}' names a cluster that does not exist`);
      // The tap still says which service was called.
      ctx.cluster = weighted[0].cluster;
      ctx.dst.service = weighted[0].cluster.service;
      throw new MeshError('MESH_ERR_NO_ENDPOINT', weighted.length === 1 && !weighted[0].subset
        ? `cluster '${weighted[0].name}' has no endpoints`
        : `no endpoint for ${weighted.map((b) => b.name).join(' nor ')} (route '${route.authority}', config version ${ctx.config.version})`);
    }
    ctx.backend = backend;
    ctx.cluster = backend.cluster;
    ctx.dst.service = backend.cluster.service;
    if (route.resilience !== undefined) applyRouteResilience(ctx, route); // per-path timeouts and retries (../route-resilience.ts)
    return next();
  },
};
