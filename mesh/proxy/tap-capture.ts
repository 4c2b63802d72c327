// What of a request may enter a tap. Secrets never do: query values are kept
// only for allow-listed keys, headers only when allow-listed, and
// FORBIDDEN_HEADERS (Authorization, Cookie, …) never, whatever the list says.

import type http from 'node:http';
import { FORBIDDEN_HEADERS } from '../../ingest/index.ts';
import type { TapCapture } from '../control/snapshot.ts';

const MAX_PATH = 2048;
const MAX_HEADER_VALUE = 256;

/** Path without query string, plus `?k=v&…` for allow-listed keys only. */
export function tapPath(rawTarget: string, queryAllow: readonly string[]): string {
  // A fragment is never part of what a tap may keep.
  let target = rawTarget.split('#')[0];
  // Absolute-form (proxy requests): keep only the path.
  if (!target.startsWith('/')) {
    try { const u = new URL(target); target = u.pathname + u.search; } catch { target = '/'; }
  }
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  let kept = '';
  if (q >= 0 && queryAllow.length > 0) {
    const params = new URLSearchParams(target.slice(q + 1));
    const out = new URLSearchParams();
    for (const [k, v] of params) if (queryAllow.includes(k)) out.append(k, v);
    const s = out.toString();
    if (s) kept = `?${s}`;
  }
  return (path + kept).slice(0, MAX_PATH);
}

/** Allow-listed request headers, lower-case names; forbidden ones are never captured. */
export function tapHeaders(headers: http.IncomingHttpHeaders, capture: TapCapture): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const name of capture.header_allow) {
    const key = name.toLowerCase();
    if (FORBIDDEN_HEADERS.has(key)) continue;
    const v = headers[key];
    if (v === undefined) continue;
    (out ??= {})[key] = (Array.isArray(v) ? v.join(', ') : v).slice(0, MAX_HEADER_VALUE);
  }
  return out;
}

/** W3C trace id from `traceparent` (version-traceid-parentid-flags); "" when absent or malformed. */
export function traceIdFrom(traceparent: string | string[] | undefined): string {
  const v = Array.isArray(traceparent) ? traceparent[0] : traceparent;
  if (!v) return '';
  const m = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}/.exec(v.trim().toLowerCase());
  if (!m || /^0+$/.test(m[1])) return '';
  return m[1];
}

/** "::ffff:127.0.0.1" → "127.0.0.1": one spelling per address in taps. */
export function plainAddr(addr: string | undefined): string {
  if (!addr) return '';
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}
