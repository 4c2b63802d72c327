// The UI error catalogue and the one place that turns errors into responses.
// Every API error leaves as JSON {code, message}; store failures keep their
// INGEST_ERR_* code and status, so a reader can tell "bad query" from
// "ClickHouse is down".

import type { ErrorRequestHandler } from 'express';

export const UI_ERRORS = {
  /** A query parameter is missing, malformed or out of range (message names it). */
  UI_ERR_BAD_PARAM: 400,
  /** No such API route. */
  UI_ERR_NOT_FOUND: 404,
  /** The route exists for another method (POST /api/models/retrain: a GET never changes state). */
  UI_ERR_METHOD_NOT_ALLOWED: 405,
  /** No operator credentials, or not this server's token (ui/api/operator-access.ts; access/ judges). */
  UI_ERR_UNAUTHENTICATED: 401,
  /** The Host header names no name the UI serves (DNS rebinding guard). */
  UI_ERR_HOST_NOT_ALLOWED: 421,
  /** A foreign Origin, or a state change without one (and without a bearer token). */
  UI_ERR_ORIGIN_NOT_ALLOWED: 403,
  /** A state change the browser marks Sec-Fetch-Site: cross-site. */
  UI_ERR_CROSS_SITE: 403,
  /** The action is not in a state that allows it (approving one no longer awaiting approval), or a report is being issued. */
  UI_ERR_CONFLICT: 409,
  /** A rollout the tuning engine refused: `problems` names every one. */
  UI_ERR_BAD_ROLLOUT: 400,
  /** The feature asked for is not running in this process (e.g. models with --no-models). */
  UI_ERR_UNAVAILABLE: 503,
  /** No tuning engine runs in this process (--no-tuning, or the control plane runs elsewhere). */
  UI_ERR_NO_TUNING: 503,
  /** No compliance report service runs in this process (ui/api/reports.ts). */
  UI_ERR_NO_REPORTS: 503,
  /** Anything unexpected. */
  UI_ERR_INTERNAL: 500,
} as const;

export type UiErrorCode = keyof typeof UI_ERRORS;

export class UiError extends Error {
  readonly code: UiErrorCode;
  readonly status: number;
  /** Every problem, when there are several (UI_ERR_BAD_ROLLOUT, a report request). */
  readonly problems?: string[];

  constructor(code: UiErrorCode, message: string, opts: { cause?: unknown; problems?: string[] } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'UiError';
    this.code = code;
    this.status = UI_ERRORS[code];
    if (opts.problems) this.problems = opts.problems;
  }
}

export interface ErrorCounters {
  bad_requests: number;
  store_errors: number;
  internal_errors: number;
}

/** Errors that carry their own code and status (UiError, IngestError) keep them; others become UI_ERR_INTERNAL. */
export function errorResponse(err: unknown): { status: number; body: { code: string; message: string; problems?: string[] } } {
  const e = err as { code?: unknown; status?: unknown; message?: unknown } | null;
  if (e && typeof e.code === 'string' && /^(UI|INGEST|MESH)_ERR_/.test(e.code) && typeof e.status === 'number') {
    const problems = err instanceof UiError && err.problems ? { problems: [...err.problems] } : {};
    return { status: e.status, body: { code: e.code, message: String(e.message), ...problems } };
  }
  // Express's own errors (e.g. a malformed URL) carry an HTTP status below 500: the client's fault.
  const status = typeof e?.status === 'number' && e.status >= 400 && e.status < 500 ? e.status : 500;
  return {
    status,
    body: { code: status < 500 ? 'UI_ERR_BAD_PARAM' : 'UI_ERR_INTERNAL', message: err instanceof Error ? err.message : String(err) },
  };
}

export function jsonErrorHandler(counters: ErrorCounters, log: (msg: string) => void): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const { status, body } = errorResponse(err);
    if (status < 500) counters.bad_requests++;
    else if (body.code.startsWith('INGEST_ERR_')) counters.store_errors++;
    else counters.internal_errors++;
    if (status >= 500) log(`ui: ${req.method} ${req.originalUrl} failed: ${body.code} ${body.message}`);
    if (res.headersSent) { res.end(); return; }
    res.status(status).json(body);
  };
}
