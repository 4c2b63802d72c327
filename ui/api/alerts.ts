// Alerts in the JSON API and the models' retrain button:
//
//   GET  /api/alerts?state=open|resolved|all&limit=   {state, limit, alerts}: newest change first, limit 1..500 (default 50)
//   POST /api/models/retrain?subject=                   202 {queued: ["service:cart", …]}; 503 UI_ERR_UNAVAILABLE without models;
//                                                       any other method 405 (a GET never retrains)
//
// The store keeps one row per alert state change and answers with each
// alert's newest state (ingest/sql.ts); the live detector (models/) writes.

import { Router } from 'express';
import type { TapStore } from '../../ingest/index.ts';
import { UiError } from './errors.ts';
import { intParam, nameParam, oneOf } from './params.ts';

export const ALERT_STATES = ['open', 'resolved', 'all'] as const;
export const DEFAULT_ALERT_LIMIT = 50;
export const MAX_ALERT_LIMIT = 500;

/** What the UI needs of the live detector. */
export interface ModelControl { retrain(subject?: string): string[] }

export interface AlertQuery { state: (typeof ALERT_STATES)[number]; limit: number }

export function parseAlertQuery(query: Record<string, unknown>): AlertQuery {
  return {
    state: oneOf(query, 'state', ALERT_STATES) ?? 'all',
    limit: intParam(query, 'limit', DEFAULT_ALERT_LIMIT, 1, MAX_ALERT_LIMIT),
  };
}

export function alertRouter(store: TapStore, models: ModelControl | undefined): Router {
  const r = Router();
  r.get('/alerts', async (req, res) => {
    const q = parseAlertQuery(req.query);
    const alerts = await store.alerts(q.state === 'all' ? { limit: q.limit } : { state: q.state, limit: q.limit });
    res.json({ state: q.state, limit: q.limit, alerts });
  });
  r.post('/models/retrain', (req, res) => {
    const subject = nameParam(req.query, 'subject');
    if (!models) throw new UiError('UI_ERR_UNAVAILABLE', 'models are not running in this process (started with --no-models?)');
    const queued = models.retrain(subject);
    if (subject !== undefined && queued.length === 0) {
      throw new UiError('UI_ERR_NOT_FOUND', `no service or edge named ${JSON.stringify(subject)} has rollups yet`);
    }
    res.status(202).json({ queued });
  });
  r.all('/models/retrain', (req, res) => {
    res.set('allow', 'POST');
    throw new UiError('UI_ERR_METHOD_NOT_ALLOWED', `${req.method} /api/models/retrain: retraining changes state, so it takes POST only`);
  });
  return r;
}
