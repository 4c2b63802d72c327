// The meshlens web UI: JSON API, server-sent graph events and the d3 page.
//
//   GET /api/graph?window=60         ServiceGraph of the last `window` seconds (10..3600)
//   GET /api/taps?limit=&kind=&service=&src=&dst=&proxy=&direction=
//                                     {limit, taps}: newest raw taps, limit ≤ 1000
//   GET /api/status                   {ui: uptime and counters, control: control plane status or null}
//   GET /api/alerts?state=&limit=     {state, limit, alerts}: newest alert states (ui/api/alerts.ts)
//   POST /api/models/retrain?subject= 202 {queued}: retrain one subject's model, or all
//   GET /api/events?window=60         text/event-stream, `graph` events every 2 s, `alerts` when they change
//   GET /, /app.js, …                 the page (ui/public/), /graph.js, /vendor/d3.min.js
//
// Every API error is JSON {code, message}: UI_ERR_* for bad requests,
// INGEST_ERR_* (with the store's status) when ClickHouse fails.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { TapStore } from '../ingest/index.ts';
import { assetRouter } from './assets.ts';
import { jsonErrorHandler, type ErrorCounters } from './api/errors.ts';
import { AlertEventStream } from './api/alert-events.ts';
import { alertRouter, type ModelControl } from './api/alerts.ts';
import { GraphEventStream } from './api/graph-events.ts';
import { parseWindow } from './api/params.ts';
import { apiRouter, type StatusSource } from './api/routes.ts';

export interface UiOptions {
  store: TapStore;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 7070; 0 picks a free port. */
  port?: number;
  control?: StatusSource;
  /** The live detector, for POST /api/models/retrain; absent = 503. */
  models?: ModelControl;
  /** How often /api/events pushes the graph; default 2000 ms. */
  eventIntervalMs?: number;
  now?: () => number;
  log?: (message: string) => void;
}

export interface RunningUi {
  url: string;
  close(): Promise<void>;
}

export const DEFAULT_UI_PORT = 7070;

export async function startUi(opts: UiOptions): Promise<RunningUi> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? DEFAULT_UI_PORT;
  const intervalMs = opts.eventIntervalMs ?? 2000;
  const problems: string[] = [];
  if (!opts.store || typeof opts.store.serviceGraph !== 'function') problems.push('store: must be a TapStore');
  if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`port: must be an integer in 0..65535, got ${port}`);
  if (!Number.isInteger(intervalMs) || intervalMs < 100) problems.push(`eventIntervalMs: must be an integer >= 100, got ${intervalMs}`);
  if (opts.control && typeof opts.control.status !== 'function') problems.push('control: must have a status() method');
  if (problems.length) throw new Error(`ui: invalid options: ${problems.join('; ')}`);

  const now = opts.now ?? Date.now;
  const log = opts.log ?? ((m: string) => console.error(m));
  const counters: ErrorCounters & { api_requests: number } = { api_requests: 0, bad_requests: 0, store_errors: 0, internal_errors: 0 };
  const events = new GraphEventStream(opts.store, {
    intervalMs,
    onStoreError: (m) => { counters.store_errors++; log(m); },
  });

  const alerts = new AlertEventStream(opts.store, {
    intervalMs,
    onStoreError: (m) => { counters.store_errors++; log(m); },
  });

  const app = express();
  app.disable('x-powered-by');
  app.use('/api', (_req, _res, next) => { counters.api_requests++; next(); });
  app.get('/api/events', (req, res) => {
    events.attach(res, parseWindow(req.query));
    alerts.attach(res);
  });
  app.use('/api', alertRouter(opts.store, opts.models));
  app.use('/api', apiRouter({
    store: opts.store, control: opts.control, startedAt: now(), now,
    counters: () => ({ ...counters, sse_clients: events.clients, sse_events_sent: events.sent + alerts.sent }),
  }));
  app.use(await assetRouter());
  app.use(jsonErrorHandler(counters, log));

  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    const fail = (e: Error) => reject(new Error(`ui: cannot listen on ${host}:${port}: ${e.message}`, { cause: e }));
    server.once('error', fail);
    server.listen(port, host, () => { server.off('error', fail); resolve(); });
  });
  const addr = server.address() as AddressInfo;
  const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;

  let closing: Promise<void> | null = null;
  return {
    url: `http://${urlHost}:${addr.port}`,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        alerts.close();
        events.close();
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
