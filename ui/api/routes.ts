// The JSON API: the service graph, recent taps and status. Handlers only
// parse, call the store and answer; errors go to the one handler in server.ts.

import { Router } from 'express';
import type { TapStore } from '../../ingest/index.ts';
import { UiError } from './errors.ts';
import { parseTapQuery, parseWindow, type TapQuery } from './params.ts';

export interface StatusSource { status(): unknown }

export interface ApiContext {
  store: TapStore;
  control?: StatusSource;
  startedAt: number;
  now: () => number;
  /** Extra figures for /api/status (request and error counters, SSE clients). */
  counters: () => Record<string, number>;
}

export function apiRouter(ctx: ApiContext): Router {
  const api = Router();

  api.get('/graph', async (req, res) => {
    const windowS = parseWindow(req.query);
    res.json(await ctx.store.serviceGraph(windowS));
  });

  api.get('/taps', async (req, res) => {
    const q = parseTapQuery(req.query);
    res.json({ limit: q.limit, taps: await readTaps(ctx.store, q) });
  });

  api.get('/status', async (_req, res) => {
    // status() may be sync or async; either way its failure goes to the error handler.
    const control = ctx.control ? await ctx.control.status() : null;
    const now = ctx.now();
    res.json({
      ui: { started_at: ctx.startedAt, uptime_s: Math.max(0, Math.floor((now - ctx.startedAt) / 1000)), ...ctx.counters() },
      control,
    });
  });

  api.use((req, _res, next) => {
    next(new UiError('UI_ERR_NOT_FOUND', `no API route ${req.method} /api${req.path}`));
  });
  return api;
}

/** `service=x` means x called or was called: two store reads merged newest first. */
export async function readTaps(store: TapStore, q: TapQuery): Promise<Record<string, unknown>[]> {
  if (!q.service) return store.recentTaps(q.filter, q.limit);
  const [asSrc, asDst] = await Promise.all([
    store.recentTaps({ ...q.filter, src_service: q.service }, q.limit),
    store.recentTaps({ ...q.filter, dst_service: q.service }, q.limit),
  ]);
  const seen = new Set<string>();
  const merged: Record<string, unknown>[] = [];
  for (const tap of [...asSrc, ...asDst].sort((a, b) => Number(b.ts) - Number(a.ts))) {
    // A self-call matches both reads; the same tap is the same proxy, seq, connection and start.
    const key = `${tap.proxy}\u0000${tap.seq}\u0000${tap.conn_id}\u0000${tap.ts}`;
    if (seen.has(key)) continue;
    seen.add(key);
    merged.push(tap);
    if (merged.length === q.limit) break;
  }
  return merged;
}
