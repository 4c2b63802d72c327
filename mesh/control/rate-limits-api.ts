// The operator API for rate limits (./rate-limits.ts). The server has
// authenticated the operator (Host, Origin, token) before any of this runs.
//
//   GET    /v1/ratelimits             -> 200 {rate_limits: [{service, rules}], version}
//   PUT    /v1/ratelimits/<service>   body {"rules": [{"caller": "web", "rps": 50, "burst": 100}, …]}
//                                     -> 200 {service, rules, version}; the service's sidecars
//                                        get that version with the rules ([] clears them)
//                                     -> 400 MESH_ERR_BAD_RATE_LIMITS naming every problem; nothing changes
//   DELETE /v1/ratelimits/<service>   -> 200 {service, version}: no limits
//                                     -> 404 MESH_ERR_NOT_FOUND when none were set

import type { KeyedSetting } from './keyed-api.ts';
import { RateLimitsError, type RateLimits } from './rate-limits.ts';

export const RATE_LIMITS_PATH = '/v1/ratelimits';

/** The rate limits API over a RateLimits (served by ./keyed-api.ts). */
export function rateLimitsApi(limits: RateLimits): KeyedSetting {
  return {
    path: RATE_LIMITS_PATH, key: 'service', maxBodyBytes: 32 * 1024, fields: ['rules'], bodyShape: 'body: must be {"rules": [...]}',
    list: () => ({ rate_limits: limits.status() }),
    clear: (service) => limits.clear(service),
    notFound: (service) => `no rate limits set for "${service.slice(0, 128)}"`,
    // Without a body object there are no rules to judge: [] adds no problem of its own.
    set: (service, b, shape) => limits.set(service, b ? b.rules : [], shape),
    refusalCode: (e) => (e instanceof RateLimitsError ? 'MESH_ERR_BAD_RATE_LIMITS' : null),
  };
}
