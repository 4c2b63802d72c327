// The operator API for ejections (./ejections.ts). The server has
// authenticated the operator (Host, Origin, token) before any of this runs.
//
//   GET    /v1/ejections              -> 200 {ejections: [{service, instance, until, reason}], version}
//   PUT    /v1/ejections/<instance>   body {"seconds": 30, "reason": "p99 5x its peers"}
//                                     -> 200 {service, instance, until, reason, version}; every
//                                        other sidecar gets that version without the endpoint
//                                     -> 400 MESH_ERR_BAD_EJECTION naming every problem (an
//                                        unknown instance among them); nothing changes
//   DELETE /v1/ejections/<instance>   -> 200 {instance, version}: the endpoint is back now
//                                     -> 404 MESH_ERR_NOT_FOUND when it was not ejected

import type { IncomingMessage, ServerResponse } from 'node:http';
import { EjectionError, MAX_EJECTION_MS, type Ejections } from './ejections.ts';
import { readJson, reply } from './http-json.ts';

export const EJECTIONS_PATH = '/v1/ejections';
const MAX_BODY_BYTES = 4 * 1024;
const FIELDS = ['seconds', 'reason'];

/** Answers any method on /v1/ejections or /v1/ejections/<instance>; `version` is the snapshot version in force after a change. */
export function serveEjections(req: IncomingMessage, res: ServerResponse, pathname: string, ejections: Ejections, version: () => number, now: () => number = Date.now): void {
  const method = req.method ?? '';
  if (pathname === EJECTIONS_PATH) {
    req.resume();
    if (method !== 'GET') return reply(res, 405, { code: 'MESH_ERR_METHOD_NOT_ALLOWED', message: `${method.slice(0, 16)} ${EJECTIONS_PATH}: only GET` });
    return reply(res, 200, { ejections: ejections.active(), version: version() });
  }
  const instance = pathname.slice(EJECTIONS_PATH.length + 1);
  if (method === 'DELETE') {
    req.resume();
    if (!ejections.lift(instance)) return reply(res, 404, { code: 'MESH_ERR_NOT_FOUND', message: `instance "${instance.slice(0, 128)}" is not ejected` });
    return reply(res, 200, { instance, version: version() });
  }
  if (method !== 'PUT') {
    req.resume();
    return reply(res, 405, { code: 'MESH_ERR_METHOD_NOT_ALLOWED', message: `${method.slice(0, 16)} ${EJECTIONS_PATH}/<instance>: only PUT or DELETE` });
  }
  readJson(req, MAX_BODY_BYTES, (err, body) => {
    const b = body !== null && typeof body === 'object' && !Array.isArray(body) ? body as Record<string, unknown> : undefined;
    const shape = err ? [err]
      : !b ? ['body: must be {"seconds": <number>, "reason": "<text>"}']
        : Object.keys(b).filter((k) => !FIELDS.includes(k)).map((k) => `body: unknown field "${k.slice(0, 64)}" (only "seconds", "reason")`);
    const s = b?.seconds;
    const secondsOk = typeof s === 'number' && Number.isFinite(s) && s > 0 && s * 1000 <= MAX_EJECTION_MS;
    if (b && !secondsOk) shape.push(`seconds: must be a number in (0, ${MAX_EJECTION_MS / 1000}], got ${JSON.stringify(s) ?? 'nothing'}`);
    try {
      // A body that is not even an object says nothing about until or reason.
      if (!b) ejections.refuse(instance, shape);
      const e = ejections.eject(instance, secondsOk ? now() + Math.max(1, Math.round((s as number) * 1000)) : null, b!.reason, shape);
      reply(res, 200, { ...e, version: version() });
    } catch (e) {
      if (e instanceof EjectionError) reply(res, 400, { code: 'MESH_ERR_BAD_EJECTION', message: e.message, problems: e.problems });
      else reply(res, 500, { code: 'MESH_ERR_INTERNAL', message: (e as Error).message });
    }
  });
}
