// The UI's front door, in front of every route (access/ judges, this answers):
//
//   every request       Host must be one the UI serves (DNS rebinding), a present
//                       Origin must be ours, a state change must come from our page
//   GET /any?token=T    the login link printed at start: sets the session cookie
//                       (HttpOnly, SameSite=Strict) and redirects to the same URL without T
//   /api/*              needs the cookie or Authorization: Bearer T (requireCredentials)
//
// The page, its scripts and d3 stay public: they hold no data. Every refusal is
// a JSON {code, message}, counted by kind and logged once with method, path
// (never the query: it may hold the token), host and origin.

import type { Request, RequestHandler, Response } from 'express';
import {
  describeRequest, judgeRequest, NO_CREDENTIALS_MESSAGE, SAFE_METHODS, sameToken, type AccessPolicy, type AccessRefusal, type AccessVerdict,
} from '../../access/index.ts';

type Refusal = Extract<AccessVerdict, { ok: false }>;
type Refuse = (req: Request, res: Response, v: Refusal) => void;

export type RefusalCounters = Record<`refused_${Lowercase<AccessRefusal>}`, number>;

export function newRefusalCounters(): RefusalCounters {
  return { refused_host_not_allowed: 0, refused_cross_site: 0, refused_origin_not_allowed: 0, refused_unauthenticated: 0 };
}

/** The token file outlives restarts, so the cookie does too; deleting the file (a new token) ends every session. */
const COOKIE_MAX_AGE_S = 30 * 86_400;

/** Cookies ignore ports: the name carries the UI's port so two UIs on one host keep apart. */
export function sessionCookieName(port: number): string {
  return `meshlens_ui_${port}`;
}

export interface OperatorAccess {
  /** First middleware: Host and Origin on everything, credentials on state changes, the ?token= login. */
  guard: RequestHandler;
  /** Mounted on /api (Express's own path matching decides what is API): credentials on every method. */
  requireCredentials: RequestHandler;
}

/** `policy` is read per request: the UI knows its port, hence its names, only once it listens. */
export function operatorAccess(policy: () => AccessPolicy, counters: RefusalCounters, log: (message: string) => void): OperatorAccess {
  const refuse: Refuse = (req, res, v) => {
    counters[`refused_${v.refusal.toLowerCase() as Lowercase<AccessRefusal>}`]++;
    log(`ui: refused ${describeRequest(req, req.originalUrl)}: ${v.code} ${v.message}`);
    if (v.status === 401) res.set('www-authenticate', 'Bearer realm="meshlens"');
    res.status(v.status).json({ code: v.code, message: v.message });
  };

  return {
    guard(req, res, next) {
      // No other page may frame the UI: a page on 127.0.0.1:<another port> is same-site, and its frame would carry the cookie.
      res.set('x-frame-options', 'DENY').set('content-security-policy', "frame-ancestors 'none'").set('x-content-type-options', 'nosniff');
      const p = policy();
      const verdict = judgeRequest(req, p, { credentials: !SAFE_METHODS.has(req.method) });
      if (!verdict.ok) return refuse(req, res, verdict);
      const query = splitOnce(req.originalUrl, '?')[1];
      if ((req.method === 'GET' || req.method === 'HEAD') && query !== undefined && new URLSearchParams(query).has('token')) return login(req, res, p, refuse);
      next();
    },
    requireCredentials(req, res, next) {
      const verdict = judgeRequest(req, policy(), { credentials: true });
      if (!verdict.ok) return refuse(req, res, verdict);
      next();
    },
  };
}

function login(req: Request, res: Response, p: AccessPolicy, refuse: Refuse): void {
  const [rawPath, rawQuery = ''] = splitOnce(req.originalUrl, '?');
  const query = new URLSearchParams(rawQuery);
  const given = query.getAll('token');
  if (given.length !== 1 || !sameToken(given[0], p.token)) {
    return refuse(req, res, {
      ok: false, status: 401, code: `${p.codePrefix}_UNAUTHENTICATED`, refusal: 'UNAUTHENTICATED',
      message: `the token in this URL is not this server's operator token; ${NO_CREDENTIALS_MESSAGE}`,
    });
  }
  query.delete('token');
  // Leading slashes (or backslashes) collapse to one: "//evil.example/?token=" must not become an off-site redirect.
  const path = `/${rawPath.replace(/^[/\\]+/, '')}`;
  const rest = query.toString();
  res.set('cache-control', 'no-store').set('referrer-policy', 'no-referrer');
  res.set('set-cookie', `${p.cookieName}=${p.token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${COOKIE_MAX_AGE_S}`);
  res.redirect(303, rest ? `${path}?${rest}` : path);
}

function splitOnce(s: string, sep: string): [string, string?] {
  const i = s.indexOf(sep);
  return i < 0 ? [s] : [s.slice(0, i), s.slice(i + 1)];
}
