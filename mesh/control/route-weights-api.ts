// The operator API for route weights (./route-weights.ts). The server has
// authenticated the operator (Host, Origin, token) before any of this runs.
//
//   GET    /v1/routes             -> 200 {routes: [{service, subsets, set_at}], version}
//   PUT    /v1/routes/<service>   body {"subsets":[{"version":"v1","weight":90},{"version":"v2","weight":10}]}
//                                 -> 200 {service, subsets, set_at, version}; every sidecar gets that version
//                                 -> 400 MESH_ERR_BAD_ROUTE_WEIGHTS naming every problem; nothing changes
//   DELETE /v1/routes/<service>   -> 200 {service, version}: back to one backend of every endpoint
//                                 -> 404 MESH_ERR_NOT_FOUND when no weights were set

import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJson, reply } from './http-json.ts';
import { RouteWeightsError, type RouteWeights } from './route-weights.ts';

export const ROUTES_PATH = '/v1/routes';
const MAX_BODY_BYTES = 16 * 1024;

/** Answers any method on /v1/routes or /v1/routes/<service>; `version` is the snapshot version in force after a change. */
export function serveRouteWeights(req: IncomingMessage, res: ServerResponse, pathname: string, weights: RouteWeights, version: () => number): void {
  const method = req.method ?? '';
  if (pathname === ROUTES_PATH) {
    req.resume();
    if (method !== 'GET') return reply(res, 405, { code: 'MESH_ERR_METHOD_NOT_ALLOWED', message: `${method.slice(0, 16)} ${ROUTES_PATH}: only GET` });
    return reply(res, 200, { routes: weights.status().routes, version: version() });
  }
  const service = pathname.slice(ROUTES_PATH.length + 1);
  if (method === 'DELETE') {
    req.resume();
    if (!weights.clear(service)) return reply(res, 404, { code: 'MESH_ERR_NOT_FOUND', message: `no route weights set for "${service.slice(0, 128)}"` });
    return reply(res, 200, { service, version: version() });
  }
  if (method !== 'PUT') {
    req.resume();
    return reply(res, 405, { code: 'MESH_ERR_METHOD_NOT_ALLOWED', message: `${method.slice(0, 16)} ${ROUTES_PATH}/<service>: only PUT or DELETE` });
  }
  readJson(req, MAX_BODY_BYTES, (err, body) => {
    const b = body as Record<string, unknown> | undefined;
    const shape = err ? [err]
      : b === null || typeof b !== 'object' || Array.isArray(b) ? ['body: must be {"subsets": [...]}']
        : Object.keys(b).filter((k) => k !== 'subsets').map((k) => `body: unknown field "${k.slice(0, 64)}" (only "subsets")`);
    try {
      const set = weights.set(service, b !== null && typeof b === 'object' ? b.subsets : undefined, shape);
      reply(res, 200, { ...set, version: version() });
    } catch (e) {
      if (e instanceof RouteWeightsError) reply(res, 400, { code: 'MESH_ERR_BAD_ROUTE_WEIGHTS', message: e.message, problems: e.problems });
      else reply(res, 500, { code: 'MESH_ERR_INTERNAL', message: (e as Error).message });
    }
  });
}
