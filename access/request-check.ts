// Who may talk to an operator endpoint (the web UI's /api, the control
// plane's PUT /v1/policy/bundle and GET /v1/status), judged on the bare node
// request so any server can use it. The checks run in this order, and the
// first that fails decides:
//
//   1. Host: only the names this server serves. A page on evil.example whose
//      DNS name is re-pointed at 127.0.0.1 (DNS rebinding) is same-origin to
//      itself and would otherwise read and post freely; its Host gives it away.
//   2. Origin: a present Origin must be one of ours, on any method. A state
//      change (any method but GET/HEAD/OPTIONS) must carry one, unless it
//      authenticates with Authorization: Bearer (curl, scripts: no ambient
//      credentials to abuse); Sec-Fetch-Site: cross-site is refused outright.
//      Cookies ignore ports, so SameSite alone does not stop a page on
//      127.0.0.1:<another port> — it is same-site; its Origin is what differs.
//   3. Credentials: Authorization: Bearer <token>, else the session cookie.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const ACCESS_REFUSALS = {
  /** The Host header names no name this server serves. */
  HOST_NOT_ALLOWED: 421,
  /** A state change the browser marks Sec-Fetch-Site: cross-site. */
  CROSS_SITE: 403,
  /** A foreign Origin, or none on a state change without a bearer token. */
  ORIGIN_NOT_ALLOWED: 403,
  /** No credentials, or not this server's token. */
  UNAUTHENTICATED: 401,
} as const;

export type AccessRefusal = keyof typeof ACCESS_REFUSALS;

export interface AccessPolicy {
  token: string;
  /** Host header values served, `name:port`, lower case (servedHosts makes them). */
  hosts: readonly string[];
  /** Origins whose pages may call (servedOrigins makes them). */
  origins: readonly string[];
  /** Prefix of the refusal codes: 'UI_ERR' gives UI_ERR_UNAUTHENTICATED, 'MESH_ERR' MESH_ERR_UNAUTHENTICATED. */
  codePrefix: string;
  /** How the server is reached; a Host without a port means 80 (http, the default) or 443 (https). */
  scheme?: 'http' | 'https';
  /** The cookie a browser carries the token in; absent: Authorization: Bearer only. */
  cookieName?: string;
}

export type AccessVerdict =
  | { ok: true; credentials: 'bearer' | 'cookie' | 'none' }
  | { ok: false; status: number; code: string; refusal: AccessRefusal; message: string };

/** Methods that never change state here; every other one must come from one of our pages or carry a bearer token. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

export const NO_CREDENTIALS_MESSAGE =
  'no operator credentials: open the URL meshlens printed at start (it ends in ?token=…), ' +
  'or send Authorization: Bearer <the token in <data-dir>/operator-token>';

/**
 * Judges one request. `credentials: false` checks Host and Origin only
 * (public pages); a state change without Origin still needs a valid bearer token.
 */
export function judgeRequest(req: IncomingMessage, policy: AccessPolicy, opts: { credentials?: boolean } = {}): AccessVerdict {
  const refuse = (refusal: AccessRefusal, message: string): AccessVerdict =>
    ({ ok: false, status: ACCESS_REFUSALS[refusal], code: `${policy.codePrefix}_${refusal}`, refusal, message });

  const rawHost = req.headers.host;
  const host = normalizeHost(rawHost, policy.scheme === 'https' ? 443 : 80);
  if (host === undefined || !policy.hosts.includes(host)) {
    return refuse('HOST_NOT_ALLOWED', `Host ${JSON.stringify(clip(rawHost ?? ''))} is not a name this server answers to ` +
      '(a guard against DNS rebinding); if the name is yours, start the server with it among its names (meshlens: --ui-host)');
  }

  const origin = header(req, 'origin');
  const changesState = !SAFE_METHODS.has(req.method ?? 'GET');
  if (changesState && header(req, 'sec-fetch-site') === 'cross-site') {
    return refuse('CROSS_SITE', `${req.method} from another site (Sec-Fetch-Site: cross-site) is refused: state changes come from this server's own pages`);
  }
  if (origin !== undefined && !policy.origins.includes(origin.toLowerCase())) {
    return refuse('ORIGIN_NOT_ALLOWED', `Origin ${JSON.stringify(clip(origin))} is not this server's: only its own pages may call it`);
  }
  const authorization = header(req, 'authorization');
  if (changesState && origin === undefined && authorization === undefined) {
    return refuse('ORIGIN_NOT_ALLOWED', `${req.method} without an Origin header is refused: browsers send one, ` +
      'other clients authenticate with Authorization: Bearer <token>');
  }

  if (!opts.credentials && !(changesState && origin === undefined)) return { ok: true, credentials: 'none' };
  if (authorization !== undefined) {
    const m = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(authorization);
    if (!m) return refuse('UNAUTHENTICATED', 'the Authorization header must be "Bearer <operator token>"');
    if (!sameToken(m[1], policy.token)) return refuse('UNAUTHENTICATED', 'the bearer token is not this server\'s operator token');
    return { ok: true, credentials: 'bearer' };
  }
  const cookies = policy.cookieName === undefined ? [] : cookieValues(header(req, 'cookie'), policy.cookieName);
  // Cookies ignore ports: another local server may have set one of this name. Any one holding the token will do.
  if (cookies.some((c) => sameToken(c, policy.token))) return { ok: true, credentials: 'cookie' };
  if (cookies.length > 0) {
    return refuse('UNAUTHENTICATED', 'the session cookie holds a token this server no longer uses: open the URL meshlens printed at start again');
  }
  return refuse('UNAUTHENTICATED', NO_CREDENTIALS_MESSAGE);
}

/** Constant-time token comparison: both sides hashed first, so neither the content nor the length leaks through timing. */
export function sameToken(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** `Host` as `name:port`, lower case, `defaultPort` when absent; undefined when it is not a host name or address. */
export function normalizeHost(raw: string | undefined, defaultPort = 80): string | undefined {
  if (raw === undefined) return undefined;
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::(\d{1,5}))?$/.exec(raw.trim().toLowerCase());
  if (!m || (m[2] !== undefined && Number(m[2]) > 65535)) return undefined;
  return `${m[1]}:${m[2] === undefined ? defaultPort : Number(m[2])}`;
}

/**
 * The Host values a server on `listenHost:port` answers to: its listen
 * address, localhost, 127.0.0.1 and [::1] on that port, and each extra name
 * (`NAME` takes the port; `NAME:PORT` as given, e.g. behind a proxy).
 */
export function servedHosts(listenHost: string, port: number, names: readonly string[] = []): string[] {
  const bracket = (h: string) => (h.includes(':') && !h.startsWith('[') ? `[${h}]` : h);
  const out = new Set<string>();
  for (const h of [listenHost, 'localhost', '127.0.0.1', '::1']) out.add(normalizeHost(`${bracket(h)}:${port}`) ?? '');
  for (const name of names) {
    const withPort = /:\d+$/.test(name) && !/^[^[]*:.*:/.test(name) ? name : `${bracket(name)}:${port}`;
    const h = normalizeHost(withPort);
    if (h === undefined) throw new Error(`served host ${JSON.stringify(name)} is not a host name, address or name:port`);
    out.add(h);
  }
  out.delete('');
  return [...out];
}

/** Problems with extra served names (flag values), every one at once. */
export function hostNameProblems(names: readonly string[]): string[] {
  return names.filter((n) => {
    try { servedHosts('127.0.0.1', 1, [n]); return false; } catch { return true; }
  }).map((n) => `${JSON.stringify(n)} is not a host name, address or name:port`);
}

/** The origins of pages served under `hosts` (the scheme's default port left out, as browsers write it). */
export function servedOrigins(hosts: readonly string[], scheme: 'http' | 'https' = 'http'): string[] {
  const defaultPort = scheme === 'https' ? ':443' : ':80';
  return hosts.map((h) => `${scheme}://${h.endsWith(defaultPort) ? h.slice(0, -defaultPort.length) : h}`);
}

/** The policy of a server listening on `listenHost:port`: its served hosts and their origins. */
export function accessPolicy(o: {
  token: string; listenHost: string; port: number; names?: readonly string[];
  codePrefix: string; scheme?: 'http' | 'https'; cookieName?: string;
}): AccessPolicy {
  const hosts = servedHosts(o.listenHost, o.port, o.names);
  const scheme = o.scheme ?? 'http';
  return {
    token: o.token, hosts, origins: servedOrigins(hosts, scheme), codePrefix: o.codePrefix, scheme,
    ...(o.cookieName === undefined ? {} : { cookieName: o.cookieName }),
  };
}

/** `url` with the token a person opens it with, as printed at start. */
export function loginUrl(url: string, token: string): string {
  return `${url.replace(/\/$/, '')}/?token=${encodeURIComponent(token)}`;
}

/** For refusal logs: method, path without its query (it may hold a token), host and origin. `url`: the full one where a router cut req.url. */
export function describeRequest(req: IncomingMessage, url = req.url ?? ''): string {
  const path = url.split('?')[0];
  return `${req.method} ${JSON.stringify(clip(path))} host ${JSON.stringify(clip(req.headers.host ?? ''))} ` +
    `origin ${JSON.stringify(clip(header(req, 'origin') ?? ''))}`;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function cookieValues(cookieHeader: string | undefined, name: string): string[] {
  if (!cookieHeader) return [];
  return cookieHeader.split(';').map((c) => c.trim()).filter((c) => c.startsWith(`${name}=`)).map((c) => c.slice(name.length + 1));
}

const clip = (s: string) => (s.length > 200 ? `${s.slice(0, 200)}…` : s);
