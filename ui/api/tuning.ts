// The operator's hand on the tuning engine, from the page:
//
//   GET    /api/tuning                   {tuning: the engine's status, or null when none runs here}
//   POST   /api/actions/<id>/approve     the action's new record; 404 unknown, 409 not awaiting approval
//   POST   /api/actions/<id>/reject      the same
//   POST   /api/tuning/pause | resume    the engine's status
//   POST   /api/rollouts                 body {service, to, steps?, interval_s?} -> 201 the rollout;
//                                        400 UI_ERR_BAD_ROLLOUT with `problems`
//   DELETE /api/rollouts/<service>       {service, state: "halted"}; 404 when none is in progress
//
// Without an engine in this process every change is 503 UI_ERR_NO_TUNING.
// Other methods on these paths are 405. The engine records the actor
// "operator (ui)": the token names no person, but says where it came from.

import express, { Router, type Request } from 'express';
import { UiError, type UiErrorCode } from './errors.ts';
import { actionId } from './actions.ts';
import { idText } from './params.ts';

/** What the UI needs of the tuning engine (mesh/control's TuningEngine, through a one-line adapter). */
export interface TuningControl {
  approve(id: string, actor: string): Promise<unknown>;
  reject(id: string, actor: string): unknown;
  pause(actor: string): void;
  resume(actor: string): void;
  startRollout(req: RolloutBody, actor: string): unknown;
  /** false when no rollout of the service is in progress. */
  abortRollout(service: string, actor: string): boolean;
  status(): unknown;
}

export interface RolloutBody { service: string; to: string; steps?: number[]; interval_s?: number }

export const UI_ACTOR = 'operator (ui)';
const MAX_BODY = '16kb';
const ROLLOUT_FIELDS = ['service', 'to', 'steps', 'interval_s'];
/** The engine's refusals by status (TuningError carries 404 or 409). */
const BY_STATUS: Record<number, UiErrorCode> = { 400: 'UI_ERR_BAD_PARAM', 404: 'UI_ERR_NOT_FOUND', 409: 'UI_ERR_CONFLICT' };

export function tuningRouter(tuning: TuningControl | undefined): Router {
  const r = Router();
  const engine = (): TuningControl => {
    if (!tuning) throw new UiError('UI_ERR_NO_TUNING', 'no tuning engine runs in this process (started with --no-tuning, or the control plane runs elsewhere)');
    return tuning;
  };

  r.get('/tuning', (_req, res) => { res.json({ tuning: tuning ? tuning.status() : null }); });
  for (const verb of ['pause', 'resume'] as const) {
    r.post(`/tuning/${verb}`, (_req, res) => {
      const t = engine();
      t[verb](UI_ACTOR);
      res.json(t.status());
    });
  }
  for (const verb of ['approve', 'reject'] as const) {
    r.post(`/actions/:id/${verb}`, async (req, res) => {
      const t = engine();
      const id = actionId(req.params.id);
      res.json(await engineCall(() => t[verb](id, UI_ACTOR)));
    });
  }
  r.post('/rollouts', express.json({ limit: MAX_BODY }), async (req, res) => {
    const t = engine();
    const body = rolloutBody(req);
    res.status(201).json(await engineCall(() => t.startRollout(body, UI_ACTOR)));
  });
  r.delete('/rollouts/:service', (req, res) => {
    const t = engine();
    const service = idText(req.params.service, 'service', 128);
    if (!t.abortRollout(service, UI_ACTOR)) throw new UiError('UI_ERR_NOT_FOUND', `no rollout of ${JSON.stringify(service)} in progress`);
    res.json({ service, state: 'halted' });
  });

  // A GET never changes the engine: the routes above answer their own method only.
  const only = (path: string, allow: string) => r.all(path, (req, res) => {
    res.set('allow', allow);
    throw new UiError('UI_ERR_METHOD_NOT_ALLOWED', `${req.method} /api${req.path}: it changes the tuning engine, so it takes ${allow} only`);
  });
  for (const path of ['/tuning/pause', '/tuning/resume', '/actions/:id/approve', '/actions/:id/reject']) only(path, 'POST');
  only('/rollouts/:service', 'DELETE');
  return r;
}

/** The engine's errors as the UI's: its status (TuningError) and problems (RolloutError) kept. */
async function engineCall<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const x = e as { status?: unknown; problems?: unknown; message?: unknown } | null;
    const message = String(x?.message ?? e);
    if (Array.isArray(x?.problems)) throw new UiError('UI_ERR_BAD_ROLLOUT', message, { problems: x.problems.map(String), cause: e });
    const code = typeof x?.status === 'number' ? BY_STATUS[x.status] : undefined;
    if (code) throw new UiError(code, message, { cause: e });
    throw e;
  }
}

/** The body's shape, every problem at once; the engine checks the values (versions, steps, interval). */
function rolloutBody(req: Request): RolloutBody {
  const b = req.body as Record<string, unknown> | undefined;
  const fail = (problems: string[]) => new UiError('UI_ERR_BAD_ROLLOUT', `rollout: ${problems.join('; ')}`, { problems });
  if (b === null || typeof b !== 'object' || Array.isArray(b)) {
    throw fail(['body: must be a JSON object {"service", "to", "steps"?, "interval_s"?} sent as application/json']);
  }
  const p: string[] = Object.keys(b).filter((k) => !ROLLOUT_FIELDS.includes(k)).map((k) => `body: unknown field ${JSON.stringify(k.slice(0, 64))}`);
  const text = (k: 'service' | 'to') => {
    const v = b[k];
    if (typeof v !== 'string' || v.length === 0 || v.length > 128 || /[\u0000-\u001f\u007f]/.test(v)) p.push(`${k}: must be 1..128 printable characters`);
  };
  text('service');
  text('to');
  if (b.steps !== undefined && !(Array.isArray(b.steps) && b.steps.length <= 20 && b.steps.every((s) => typeof s === 'number'))) {
    p.push('steps: must be a list of at most 20 numbers (percentages, e.g. [5, 25, 50, 100])');
  }
  if (b.interval_s !== undefined && typeof b.interval_s !== 'number') p.push('interval_s: must be a number of seconds');
  if (p.length) throw fail(p);
  return {
    service: b.service as string, to: b.to as string,
    ...(b.steps !== undefined ? { steps: b.steps as number[] } : {}), ...(b.interval_s !== undefined ? { interval_s: b.interval_s as number } : {}),
  };
}
