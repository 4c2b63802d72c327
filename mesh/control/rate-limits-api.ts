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

import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJson, reply } from './http-json.ts';
import { RateLimitsError, type RateLimits } from './rate-limits.ts';

export const RATE_LIMITS_PATH = '/v1/ratelimits';
const MAX_BODY_BYTES = 32 * 1024;

/** Answers any method on /v1/ratelimits or /v1/ratelimits/<service>; `version` is the snapshot version in force after a change. */
export function serveRateLimits(req: IncomingMessage, res: ServerResponse, pathname: string, limits: RateLimits, version: () => number): void {
  const method = req.method ?? '';
  if (pathname === RATE_LIMITS_PATH) {
    req.resume();
    if (method !== 'GET') return reply(res, 405, { code: 'MESH_ERR_METHOD_NOT_ALLOWED', message: `${method.slice(0, 16)} ${RATE_LIMITS_PATH}: only GET` });
    return reply(res, 200, { rate_limits: limits.status(), version: version() });
  }
  const service = pathname.slice(RATE_LIMITS_PATH.length + 1);
  if (method === 'DELETE') {
    req.resume();
    if (!limits.clear(service)) return reply(res, 404, { code: 'MESH_ERR_NOT_FOUND', message: `no rate limits set for "${service.slice(0, 128)}"` });
    return reply(res, 200, { service, version: version() });
  }
  if (method !== 'PUT') {
    req.resume();
    return reply(res, 405, { code: 'MESH_ERR_METHOD_NOT_ALLOWED', message: `${method.slice(0, 16)} ${RATE_LIMITS_PATH}/<service>: only PUT or DELETE` });
  }
  readJson(req, MAX_BODY_BYTES, (err, body) => {
    const b = body !== null && typeof body === 'object' && !Array.isArray(body) ? body as Record<string, unknown> : undefined;
    const shape = err ? [err]
      : !b ? ['body: must be {"rules": [...]}']
        : Object.keys(b).filter((k) => k !== 'rules').map((k) => `body: unknown field "${k.slice(0, 64)}" (only "rules")`);
    try {
      // Without a body object there are no rules to judge: [] adds no problem of its own.
      const set = limits.set(service, b ? b.rules : [], shape);
      reply(res, 200, { ...set, version: version() });
    } catch (e) {
      if (e instanceof RateLimitsError) reply(res, 400, { code: 'MESH_ERR_BAD_RATE_LIMITS', message: e.message, problems: e.problems });
      else reply(res, 500, { code: 'MESH_ERR_INTERNAL', message: (e as Error).message });
    }
  });
}
