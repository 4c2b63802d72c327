// The operator API of the tuning engine. The server has authenticated the
// operator (Host, Origin, token) before any of this runs.
//
//   GET    /v1/tuning                   -> 200 engine status: paused, modes, bounds, policy, counters, rollouts
//   GET    /v1/tuning/input             -> 200 the input document of the last tick (what the policy saw)
//   PUT    /v1/tuning/policy            body: OPA bundle (.tar.gz) with entrypoint meshlens/tuning/actions
//                                       -> 200 {digest}; 400 MESH_ERR_BAD_POLICY_BUNDLE (the old one stays)
//   POST   /v1/tuning/pause | resume    -> 200 status; pause stops new actions (approvals still expire)
//   GET    /v1/actions?since=&until=&state=&kind=&service=&alert=&limit=
//                                       -> 200 {actions: [newest state of each, most recent first]}
//   GET    /v1/actions/<id>             -> 200 {history: [every state, oldest first]}; 404 unknown
//   POST   /v1/actions/<id>/approve | reject -> 200 the new record; 404 unknown; 409 not awaiting approval
//   GET    /v1/rollouts                 -> 200 {rollouts}
//   POST   /v1/rollouts                 body {service, to, steps?: [5,25,50,100], interval_s?: 60}
//                                       -> 201 the rollout; 400 MESH_ERR_BAD_ROLLOUT naming every problem
//   DELETE /v1/rollouts/<service>       -> 200 {service, state: "halted"}; 404 when none is in progress
//
// The actor recorded for an operator's approval, rejection, pause or
// rollout is "operator" (the operator token names no person).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { PolicyBundleError } from '../../../policy/index.ts';
import { readBytes, readJson, reply } from '../http-json.ts';
import { MAX_BUNDLE_BYTES } from '../snapshot.ts';
import type { ActionLog } from './action-book.ts';
import { TuningError, type TuningEngine } from './engine.ts';
import { RolloutError } from './rollouts.ts';

export const TUNING_PATHS = ['/v1/tuning', '/v1/actions', '/v1/rollouts'] as const;
const MAX_BODY_BYTES = 16 * 1024;
const ACTOR = 'operator';
const QUERY_KEYS = ['since', 'until', 'state', 'kind', 'service', 'alert', 'limit'] as const;

export const isTuningPath = (pathname: string): boolean => TUNING_PATHS.some((p) => pathname === p || pathname.startsWith(`${p}/`));

export async function serveTuning(req: IncomingMessage, res: ServerResponse, url: URL, engine: TuningEngine, records: ActionLog): Promise<void> {
  const method = req.method ?? '';
  const path = url.pathname;
  const r = `${method} ${path}`;
  const bad = (status: number, code: string, message: string, extra: object = {}) => { req.resume(); reply(res, status, { code, message, ...extra }); };
  try {
    switch (r) {
      case 'GET /v1/tuning': req.resume(); return reply(res, 200, engine.status());
      case 'GET /v1/tuning/input': req.resume(); return reply(res, 200, { input: engine.lastInput() });
      case 'POST /v1/tuning/pause': req.resume(); engine.pause(ACTOR); return reply(res, 200, engine.status());
      case 'POST /v1/tuning/resume': req.resume(); engine.resume(ACTOR); return reply(res, 200, engine.status());
      case 'PUT /v1/tuning/policy': return putPolicy(req, res, engine);
      case 'GET /v1/actions': {
        req.resume();
        const q = actionQuery(url.searchParams);
        if ('problems' in q) return reply(res, 400, { code: 'MESH_ERR_BAD_QUERY', message: q.problems.join('; '), problems: q.problems });
        return reply(res, 200, { actions: await records.actions(q) });
      }
      case 'GET /v1/rollouts': req.resume(); return reply(res, 200, { rollouts: engine.rollouts.all() });
      case 'POST /v1/rollouts': return readJson(req, MAX_BODY_BYTES, (err, body) => {
        if (err) return reply(res, 400, { code: 'MESH_ERR_BAD_ROLLOUT', message: err, problems: [err] });
        const b = body as Record<string, unknown>;
        const shape = b === null || typeof b !== 'object' || Array.isArray(b) ? ['body: must be {"service", "to", "steps"?, "interval_s"?}']
          : [...(typeof b.service === 'string' ? [] : ['service: must be a string']), ...(typeof b.to === 'string' ? [] : ['to: must be a string']),
            ...Object.keys(b).filter((k) => !['service', 'to', 'steps', 'interval_s'].includes(k)).map((k) => `body: unknown field "${k.slice(0, 64)}"`)];
        if (shape.length) return reply(res, 400, { code: 'MESH_ERR_BAD_ROLLOUT', message: shape.join('; '), problems: shape });
        try {
          reply(res, 201, engine.startRollout({ service: b.service as string, to: b.to as string, steps: b.steps as number[] | undefined, interval_s: b.interval_s as number | undefined }, ACTOR));
        } catch (e) {
          if (e instanceof RolloutError) reply(res, 400, { code: 'MESH_ERR_BAD_ROLLOUT', message: e.message, problems: e.problems });
          else reply(res, 500, { code: 'MESH_ERR_INTERNAL', message: (e as Error).message });
        }
      });
    }
    const action = /^\/v1\/actions\/([^/]{1,200})(?:\/(approve|reject))?$/.exec(path);
    if (action) {
      const [, id, verb] = action;
      if (!verb && method === 'GET') {
        req.resume();
        const history = await records.actionHistory(id);
        return history.length ? reply(res, 200, { history }) : reply(res, 404, { code: 'MESH_ERR_NOT_FOUND', message: `no action ${id.slice(0, 80)}` });
      }
      if (verb && method === 'POST') {
        req.resume();
        return reply(res, 200, verb === 'approve' ? await engine.approve(id, ACTOR) : engine.reject(id, ACTOR));
      }
    }
    const rollout = /^\/v1\/rollouts\/([^/]{1,200})$/.exec(path);
    if (rollout && method === 'DELETE') {
      req.resume();
      if (!engine.abortRollout(rollout[1], ACTOR)) return reply(res, 404, { code: 'MESH_ERR_NOT_FOUND', message: `no rollout of ${rollout[1].slice(0, 80)} in progress` });
      return reply(res, 200, { service: rollout[1], state: 'halted' });
    }
    return bad(404, 'MESH_ERR_NOT_FOUND', `${method.slice(0, 16)} ${path.slice(0, 200)}: no such tuning route`);
  } catch (e) {
    if (e instanceof TuningError) return bad(e.status, e.status === 404 ? 'MESH_ERR_NOT_FOUND' : 'MESH_ERR_CONFLICT', e.message);
    return bad(500, 'MESH_ERR_INTERNAL', (e as Error).message);
  }
}

function putPolicy(req: IncomingMessage, res: ServerResponse, engine: TuningEngine): void {
  readBytes(req, MAX_BUNDLE_BYTES, (tooLarge, bytes) => {
    if (tooLarge) return reply(res, 413, { code: 'MESH_ERR_BAD_POLICY_BUNDLE', message: `bundle larger than ${MAX_BUNDLE_BYTES} bytes` });
    engine.setPolicy(bytes, 'PUT /v1/tuning/policy').then(
      (digest) => reply(res, 200, { digest }),
      (e: unknown) => {
        if (e instanceof PolicyBundleError) reply(res, 400, { code: 'MESH_ERR_BAD_POLICY_BUNDLE', message: e.message });
        else reply(res, 500, { code: 'MESH_ERR_INTERNAL', message: (e as Error).message });
      },
    );
  });
}

/** The action filters of a query string, or every problem with them. */
export function actionQuery(p: URLSearchParams): Parameters<ActionLog['actions']>[0] | { problems: string[] } {
  const problems = [...p.keys()].filter((k) => !(QUERY_KEYS as readonly string[]).includes(k)).map((k) => `unknown parameter "${k.slice(0, 64)}" (known: ${QUERY_KEYS.join(', ')})`);
  const int = (k: string, dflt?: number) => {
    const v = p.get(k);
    if (v === null) return dflt;
    if (!/^\d{1,15}$/.test(v)) { problems.push(`${k}: must be a whole number, got "${v.slice(0, 32)}"`); return undefined; }
    return Number(v);
  };
  const q = {
    since: int('since'), until: int('until'), limit: Math.min(int('limit', 100) ?? 100, 1000),
    ...Object.fromEntries((['state', 'kind', 'service', 'alert'] as const).filter((k) => p.has(k)).map((k) => [k, p.get(k)!.slice(0, 300)])),
  };
  return problems.length ? { problems } : q as Parameters<ActionLog['actions']>[0];
}
