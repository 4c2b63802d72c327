// The meshlens web UI: JSON API, server-sent graph events and the d3 page.
//
//   GET /api/graph?window=60         ServiceGraph of the last `window` seconds (10..3600)
//   GET /api/taps?limit=&kind=&service=&src=&dst=&proxy=&direction=&since=&until=
//                                     {limit, taps}: newest raw taps (since <= ts < until, epoch ms), limit ≤ 1000
//   GET /api/status                   {ui: uptime and counters, control: control plane status or null}
//   GET /api/alerts?state=&limit=     {state, limit, alerts}: newest alert states (ui/api/alerts.ts)
//   POST /api/models/retrain?subject= 202 {queued}: retrain one subject's model, or all (other methods: 405)
//   GET /api/actions?since=&state=&kind=&service=&alert=&limit=, GET /api/actions/<id>
//                                     the tuning engine's actions from the store (ui/api/actions.ts)
//   POST /api/actions/<id>/approve|reject, GET /api/tuning, POST /api/tuning/pause|resume,
//   POST /api/rollouts, DELETE /api/rollouts/<service>
//                                     the tuning engine in this process (ui/api/tuning.ts); none: 503 UI_ERR_NO_TUNING
//   GET /api/reports, POST /api/reports {from, until, pack?}, GET /api/reports/<id>[/html|/pdf|/json]
//                                     compliance reports: list and packs, issue one, the file and its downloads
//                                     (ui/api/reports.ts); no report service here: 503 UI_ERR_NO_REPORTS
//   GET /api/events?window=60         text/event-stream, `graph` events every 2 s, `alerts` and `actions` when they change
//   GET /, /app.js, …                 the page (ui/public/), /graph.js, /vendor/d3.min.js
//
// Every API error is JSON {code, message}: UI_ERR_* for bad requests,
// INGEST_ERR_* (with the store's status) when ClickHouse fails.
//
// Access (ui/api/operator-access.ts): every request's Host must be one the UI
// serves; /api needs the operator token (the `?token=` login link sets a
// cookie, or Authorization: Bearer); state changes must come from the UI's
// own origin. The page itself is public and says how to sign in.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { accessPolicy, hostNameProblems, loginUrl, newToken, type AccessPolicy } from '../access/index.ts';
import type { TapStore } from '../ingest/index.ts';
import { assetRouter } from './assets.ts';
import { jsonErrorHandler, type ErrorCounters } from './api/errors.ts';
import { AlertEventStream } from './api/alert-events.ts';
import { alertRouter, type ModelControl } from './api/alerts.ts';
import { actionRouter, readActionSnapshot } from './api/actions.ts';
import { PolledEvents } from './api/polled-events.ts';
import { tuningRouter, type TuningControl } from './api/tuning.ts';
import { reportRouter, type ReportsControl } from './api/reports.ts';
import { GraphEventStream } from './api/graph-events.ts';
import { newRefusalCounters, operatorAccess, sessionCookieName } from './api/operator-access.ts';
import { parseWindow } from './api/params.ts';
import { apiRouter, type StatusSource } from './api/routes.ts';

export interface UiOptions {
  store: TapStore;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 7070; 0 picks a free port. */
  port?: number;
  /** The operator token (access/ operatorToken); absent: a new one for this run only. */
  token?: string;
  /** Names the UI answers to besides its listen address, localhost, 127.0.0.1 and [::1]: NAME (on the UI's port) or NAME:PORT. */
  hosts?: string[];
  control?: StatusSource;
  /** The live detector, for POST /api/models/retrain; absent = 503. */
  models?: ModelControl;
  /** The tuning engine, for approvals, the pause switch and rollouts; absent = 503 UI_ERR_NO_TUNING. */
  tuning?: TuningControl;
  /** Compliance reports: the service over the store and the pack names offered; absent = 503 UI_ERR_NO_REPORTS. */
  reports?: ReportsControl;
  /** How often /api/events pushes the graph; default 2000 ms. */
  eventIntervalMs?: number;
  now?: () => number;
  log?: (message: string) => void;
}

export interface RunningUi {
  /** The UI's address, without credentials. */
  url: string;
  /** What a person opens: url with ?token=, which signs the browser in. */
  loginUrl: string;
  token: string;
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
  const tuningMethods = ['approve', 'reject', 'pause', 'resume', 'startRollout', 'abortRollout', 'status'] as const;
  if (opts.tuning && tuningMethods.some((m) => typeof opts.tuning![m] !== 'function')) problems.push(`tuning: must have ${tuningMethods.join(', ')} methods`);
  if (opts.reports && (typeof opts.reports.service?.issue !== 'function' || !opts.reports.packs || typeof opts.reports.packs !== 'object')) {
    problems.push('reports: must be {service: ReportService, packs: {name: pack}}');
  }
  if (opts.token !== undefined && !/^[A-Za-z0-9_-]{32,256}$/.test(opts.token)) problems.push('token: must be 32..256 characters A-Z a-z 0-9 _ -');
  for (const p of hostNameProblems(opts.hosts ?? [])) problems.push(`hosts: ${p}`);
  if (problems.length) throw new Error(`ui: invalid options: ${problems.join('; ')}`);

  const now = opts.now ?? Date.now;
  const log = opts.log ?? ((m: string) => console.error(m));
  const counters: ErrorCounters & { api_requests: number } = { api_requests: 0, bad_requests: 0, store_errors: 0, internal_errors: 0 };
  const refusals = newRefusalCounters();
  const token = opts.token ?? newToken();
  // Set once the server listens (its port, hence its names, is known then); no request is read before.
  let policy: AccessPolicy | undefined;
  const access = operatorAccess(() => policy!, refusals, log);
  const events = new GraphEventStream(opts.store, {
    intervalMs,
    onStoreError: (m) => { counters.store_errors++; log(m); },
  });

  const alerts = new AlertEventStream(opts.store, {
    intervalMs,
    onStoreError: (m) => { counters.store_errors++; log(m); },
  });
  const actions = new PolledEvents('actions', () => readActionSnapshot(opts.store), {
    intervalMs,
    onStoreError: (m) => { counters.store_errors++; log(m); },
  });

  const app = express();
  app.disable('x-powered-by');
  app.use(access.guard);
  app.use('/api', access.requireCredentials);
  app.use('/api', (_req, _res, next) => { counters.api_requests++; next(); });
  app.get('/api/events', (req, res) => {
    events.attach(res, parseWindow(req.query));
    alerts.attach(res);
    actions.attach(res);
  });
  app.use('/api', alertRouter(opts.store, opts.models));
  app.use('/api', actionRouter(opts.store));
  app.use('/api', tuningRouter(opts.tuning));
  app.use('/api', reportRouter(opts.reports, now));
  app.use('/api', apiRouter({
    store: opts.store, control: opts.control, startedAt: now(), now,
    counters: () => ({ ...counters, ...refusals, sse_clients: events.clients, sse_events_sent: events.sent + alerts.sent + actions.sent }),
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
  policy = accessPolicy({ token, listenHost: addr.address, port: addr.port, names: opts.hosts, codePrefix: 'UI_ERR', cookieName: sessionCookieName(addr.port) });
  const url = `http://${urlHost}:${addr.port}`;

  let closing: Promise<void> | null = null;
  return {
    url,
    loginUrl: loginUrl(url, token),
    token,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        alerts.close();
        actions.close();
        events.close();
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
