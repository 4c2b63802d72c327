// The operator API for per-route resilience overrides (./route-resilience.ts).
// The server has authenticated the operator (Host, Origin, token) before any
// of this runs.
//
//   GET    /v1/resilience             -> 200 {resilience: [{service, rules}], version}
//   PUT    /v1/resilience/<service>   body {"rules": [{"path_prefix": "/search", "request_timeout_ms": 2000, "retry": false}, …]}
//                                     -> 200 {service, rules, version}; every sidecar gets that version,
//                                        the service's route carrying the rules ([] clears them)
//                                     -> 400 MESH_ERR_BAD_ROUTE_RESILIENCE naming every problem; nothing changes
//   DELETE /v1/resilience/<service>   -> 200 {service, version}: the cluster's settings for every request
//                                     -> 404 MESH_ERR_NOT_FOUND when none were set

import type { KeyedSetting } from './keyed-api.ts';
import { RouteResilienceError, type RouteResilience } from './route-resilience.ts';

export const RESILIENCE_PATH = '/v1/resilience';

/** The resilience API over a RouteResilience (served by ./keyed-api.ts). */
export function routeResilienceApi(overrides: RouteResilience): KeyedSetting {
  return {
    path: RESILIENCE_PATH, key: 'service', maxBodyBytes: 64 * 1024, fields: ['rules'], bodyShape: 'body: must be {"rules": [...]}',
    list: () => ({ resilience: overrides.status() }),
    clear: (service) => overrides.clear(service),
    notFound: (service) => `no route resilience set for "${service.slice(0, 128)}"`,
    // Without a body object there are no rules to judge: [] adds no problem of its own.
    set: (service, b, shape) => overrides.set(service, b ? b.rules : [], shape),
    refusalCode: (e) => (e instanceof RouteResilienceError ? 'MESH_ERR_BAD_ROUTE_RESILIENCE' : null),
  };
}
