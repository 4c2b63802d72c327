// The operator API for route weights (./route-weights.ts). The server has
// authenticated the operator (Host, Origin, token) before any of this runs.
//
//   GET    /v1/routes             -> 200 {routes: [{service, subsets, set_at}], version}
//   PUT    /v1/routes/<service>   body {"subsets":[{"version":"v1","weight":90},{"version":"v2","weight":10}]}
//                                 -> 200 {service, subsets, set_at, version}; every sidecar gets that version
//                                 -> 400 MESH_ERR_BAD_ROUTE_WEIGHTS naming every problem; nothing changes
//   DELETE /v1/routes/<service>   -> 200 {service, version}: back to one backend of every endpoint
//                                 -> 404 MESH_ERR_NOT_FOUND when no weights were set

import type { KeyedSetting } from './keyed-api.ts';
import { RouteWeightsError, type RouteWeights } from './route-weights.ts';

export const ROUTES_PATH = '/v1/routes';

/** The routes API over a RouteWeights (served by ./keyed-api.ts). */
export function routeWeightsApi(weights: RouteWeights): KeyedSetting {
  return {
    path: ROUTES_PATH, key: 'service', maxBodyBytes: 16 * 1024, fields: ['subsets'], bodyShape: 'body: must be {"subsets": [...]}',
    list: () => ({ routes: weights.status().routes }),
    clear: (service) => weights.clear(service),
    notFound: (service) => `no route weights set for "${service.slice(0, 128)}"`,
    set: (service, b, shape) => weights.set(service, b?.subsets, shape),
    refusalCode: (e) => (e instanceof RouteWeightsError ? 'MESH_ERR_BAD_ROUTE_WEIGHTS' : null),
  };
}

