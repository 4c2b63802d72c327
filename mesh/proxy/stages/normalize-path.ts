// Both directions, before routing and policy: one spelling per path, as
// Envoy's `normalize_path` + `merge_slashes` give its routes and RBAC. The
// policy must judge the path the workload will serve: `//checkout`,
// `/%63heckout` and `/healthz/../checkout` are all `/checkout` to most
// servers, so they are `/checkout` to the policy too. The stage rewrites
// req.url in place to the normalised origin-form target (path + query), so
// the policy input, the tap and the request forwarded to the workload all
// carry the one string that was judged.
//
// In order (normalizeTarget):
//   1. The target must be origin-form (`/…`) or absolute-form (`http://host/…`);
//      absolute-form loses its scheme and authority: the authority becomes
//      ctx.authority, parsed here, not by the WHATWG URL parser (which reads
//      `\` as `/` and so could route by a host the policy never saw), and
//      replaces the Host header, as RFC 9112 §3.2.2 requires of a proxy, so
//      the workload and the tap see the authority the request was routed by.
//      A fragment is dropped: it is not part of a request target.
//   2. Percent-escapes of unreserved characters (RFC 3986 §2.3: ALPHA DIGIT
//      - . _ ~) are decoded, the rest upper-cased. Refused: %2F (an encoded
//      slash is a segment to us and a separator to many servers), %5C and `\`
//      (a separator on Windows and to WHATWG parsers), %00 and other control
//      characters, malformed escapes, raw bytes outside visible ASCII.
//   3. Repeated slashes are merged, then dot segments removed (RFC 3986
//      §5.2.4); `..` above the root stays at the root, as the RFC says.
// Merging before dot removal treats `a//..` as `a/..` (POSIX path semantics).
// Only the path changes; the query is forwarded as sent.

import { MeshError } from '../errors.ts';
import type { Stage } from '../stage.ts';
import { HOST_VALUE } from './message-checks.ts';

export const normalizePathStage: Stage = {
  name: 'normalize-path',
  handle(ctx, next) {
    if (ctx.tunnel) return next(); // an allowed CONNECT's target is `<service>:<port>`, no path (stages/connect.ts)
    const target = ctx.req.url ?? '';
    const n = normalizeTarget(target);
    if ('problem' in n) throw new MeshError('MESH_ERR_BAD_PATH', `request target ${JSON.stringify(target.slice(0, 256))}: ${n.problem}`);
    if (n.authority !== undefined) {
      ctx.authority = n.authority;
      ctx.req.headers.host = n.host;
    }
    ctx.req.url = n.target;
    return next();
  },
};

export type NormalizedTarget =
  /**
   * Origin-form target; when the target was absolute-form, its `host` (host[:port] as sent)
   * and `authority` (host without port, lower-case).
   */
  | { target: string; authority?: string; host?: string }
  | { problem: string };

const ABSOLUTE_FORM = /^(https?):\/\/([^/?#]*)(.*)$/is;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const HEX2 = /^[0-9A-Fa-f]{2}$/;

export function normalizeTarget(target: string): NormalizedTarget {
  let rest = target;
  let authority: string | undefined;
  let host = '';
  if (!target.startsWith('/')) {
    const m = ABSOLUTE_FORM.exec(target);
    if (!m) return { problem: 'not origin-form (/path) or absolute-form (http://host/path)' };
    if (!HOST_VALUE.test(m[2]) || m[2].includes('@')) return { problem: `authority ${JSON.stringify(m[2].slice(0, 256))} is not host[:port]` };
    host = m[2];
    authority = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '').toLowerCase();
    rest = m[3].startsWith('/') ? m[3] : `/${m[3]}`;
  }
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const q = rest.indexOf('?');
  const path = normalizePath(q < 0 ? rest : rest.slice(0, q));
  if (typeof path !== 'string') return path;
  const query = q < 0 ? '' : rest.slice(q);
  return authority === undefined ? { target: path + query } : { target: path + query, authority, host };
}

/** An origin-form path (starts with '/', no query) in its one spelling, or why it has none. */
export function normalizePath(raw: string): string | { problem: string } {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    const code = raw.charCodeAt(i);
    if (code <= 0x20 || code >= 0x7f) return { problem: `character 0x${code.toString(16).padStart(2, '0')} at ${i} (control, space or not ASCII)` };
    if (c === '\\') return { problem: `backslash at ${i}` };
    if (c !== '%') { out += c; continue; }
    const hex = raw.slice(i + 1, i + 3);
    if (!HEX2.test(hex)) return { problem: `malformed percent-escape at ${i}` };
    const byte = parseInt(hex, 16);
    if (byte === 0x2f) return { problem: `encoded slash (%${hex}) at ${i}` };
    if (byte === 0x5c) return { problem: `encoded backslash (%${hex}) at ${i}` };
    if (byte < 0x20 || byte === 0x7f) return { problem: `encoded control character (%${hex}) at ${i}` };
    const ch = String.fromCharCode(byte);
    out += UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`;
    i += 2;
  }
  return removeDotSegments(out.replace(/\/{2,}/g, '/'));
}

/** RFC 3986 §5.2.4 for an absolute path without empty segments (slashes merged). */
function removeDotSegments(path: string): string {
  const segments = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i];
    const last = i === segments.length - 1;
    if (s === '.' || s === '..') {
      if (s === '..') out.pop();
      if (last) out.push(''); // "/a/b/.." is "/a/": the trailing slash stays
      continue;
    }
    out.push(s);
  }
  return `/${out.join('/')}`;
}
