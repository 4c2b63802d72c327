// The tuning engine's actions as the store keeps them (one row per state,
// written by mesh/control/tuning wherever it runs):
//
//   GET /api/actions?since=&state=&kind=&service=&alert=&limit=
//                          {limit, actions}: the newest state of each action, most recent first;
//                          since: epoch ms of that state; alert: actions whose alert_ids hold it;
//                          limit 1..500 (default 50); any other parameter is refused
//   GET /api/actions/<id>  {id, history}: every state of one action, oldest first; 404 unknown
//
//   event: actions  data: {actions: [...]}   on /api/events, when they change: the newest
//                   ACTIONS_SHOWN, without `requested` and `evidence` (the API has them)

import { Router } from 'express';
import { ACTION_KINDS, ACTION_LIMITS, ACTION_STATES, type ActionQuery, type ActionRecord, type TapStore } from '../../ingest/index.ts';
import { UiError } from './errors.ts';
import { epochMsParam, idParam, idText, intParam, nameParam, oneOf, onlyParams } from './params.ts';

export const DEFAULT_ACTION_LIMIT = 50;
export const MAX_ACTION_LIMIT = 500;
export const ACTIONS_SHOWN = 50;
const QUERY_KEYS = ['since', 'state', 'kind', 'service', 'alert', 'limit'] as const;

export function parseActionQuery(query: Record<string, unknown>): ActionQuery {
  onlyParams(query, QUERY_KEYS);
  const q: ActionQuery = { limit: intParam(query, 'limit', DEFAULT_ACTION_LIMIT, 1, MAX_ACTION_LIMIT) };
  const since = epochMsParam(query, 'since');
  if (since !== undefined) q.since = since;
  const state = oneOf(query, 'state', ACTION_STATES);
  if (state) q.state = state;
  const kind = oneOf(query, 'kind', ACTION_KINDS);
  if (kind) q.kind = kind;
  const service = nameParam(query, 'service');
  if (service) q.service = service;
  const alert = idParam(query, 'alert', ACTION_LIMITS.chars.alert_id);
  if (alert) q.alert = alert;
  return q;
}

/** An action id in a path: what the record allows. */
export const actionId = (raw: string): string => idText(raw, 'action id', ACTION_LIMITS.chars.id);

export function actionRouter(store: TapStore): Router {
  const r = Router();
  r.get('/actions', async (req, res) => {
    const q = parseActionQuery(req.query);
    res.json({ limit: q.limit, actions: await store.actions(q) });
  });
  r.get('/actions/:id', async (req, res) => {
    const id = actionId(req.params.id);
    const history = await store.actionHistory(id);
    if (history.length === 0) throw new UiError('UI_ERR_NOT_FOUND', `no action ${JSON.stringify(id.slice(0, 80))}`);
    res.json({ id, history });
  });
  return r;
}

export type ActionView = Omit<ActionRecord, 'requested' | 'evidence'>;

/** What the `actions` event carries: the newest states, light enough to push on every change. */
export async function readActionSnapshot(store: Pick<TapStore, 'actions'>): Promise<{ actions: ActionView[] }> {
  const rows = await store.actions({ limit: ACTIONS_SHOWN });
  return { actions: rows.map(({ requested: _r, evidence: _e, ...view }) => view) };
}
