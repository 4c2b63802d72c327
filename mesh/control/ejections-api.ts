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

import { EjectionError, MAX_EJECTION_MS, type Ejections } from './ejections.ts';
import type { KeyedSetting } from './keyed-api.ts';

export const EJECTIONS_PATH = '/v1/ejections';

/** The ejections API over an Ejections (served by ./keyed-api.ts). */
export function ejectionsApi(ejections: Ejections, now: () => number = Date.now): KeyedSetting {
  return {
    path: EJECTIONS_PATH, key: 'instance', maxBodyBytes: 4 * 1024, fields: ['seconds', 'reason'], bodyShape: 'body: must be {"seconds": <number>, "reason": "<text>"}',
    list: () => ({ ejections: ejections.active() }),
    clear: (instance) => ejections.lift(instance),
    notFound: (instance) => `instance "${instance.slice(0, 128)}" is not ejected`,
    set(instance, b, shape) {
      const s = b?.seconds;
      const secondsOk = typeof s === 'number' && Number.isFinite(s) && s > 0 && s * 1000 <= MAX_EJECTION_MS;
      if (b && !secondsOk) shape.push(`seconds: must be a number in (0, ${MAX_EJECTION_MS / 1000}], got ${JSON.stringify(s) ?? 'nothing'}`);
      // A body that is not even an object says nothing about until or reason.
      if (!b) ejections.refuse(instance, shape);
      return ejections.eject(instance, secondsOk ? now() + Math.max(1, Math.round((s as number) * 1000)) : null, b!.reason, shape);
    },
    refusalCode: (e) => (e instanceof EjectionError ? 'MESH_ERR_BAD_EJECTION' : null),
  };
}
