/**
 * The input document an inbound authorization policy is asked about, one
 * per request. Built in one place for both who ask: the sidecar's policy
 * stage (from the live request) and policy replay (from a recorded
 * l7.request tap), so a replayed request reads to the policy exactly as the
 * live one did, but for what the tap could not keep (see below).
 *
 *   {
 *     source:      { service: "web",     // the caller's mTLS certificate's service; "external" without one
 *                    identity: "spiffe://meshlens.local/ns/default/sa/web" },  // "" for external callers
 *     destination: { service: "cart" },  // the service the deciding sidecar fronts
 *     request:     { method: "GET",
 *                    path: "/checkout",  // normalised, without query string or fragment
 *                    headers: { … } }    // only the policy header allow-list's names, lower-case
 *   }
 *
 * A tap keeps less than the sidecar saw: headers only when the tap capture
 * allow-list names them, never FORBIDDEN_HEADERS (authorization, cookie, …),
 * values cut at 256 characters, and the path cut at 2048. Replay says so in
 * its result rather than guess.
 */

/** The sidecar's --policy-header-allow default: the headers a policy may read. */
export const DEFAULT_POLICY_HEADERS: readonly string[] = ['authorization', 'content-type', 'user-agent', 'x-request-id'];

export interface AuthzInput {
  source: { service: string; identity: string };
  destination: { service: string };
  request: { method: string; path: string; headers: Record<string, string> };
}

/** What a request (live, or as a tap recorded it) contributes to the input document. */
export interface AuthzRequest {
  src_service: string;
  /** The verified SPIFFE id; absent or "" for external callers. */
  src_identity?: string;
  dst_service: string;
  method?: string;
  /** The request target: a path, with or without query string and fragment, or absolute-form. */
  target?: string;
  /** Request headers, lower-case names (node's IncomingHttpHeaders, or a tap's captured ones). */
  headers?: Readonly<Record<string, string | string[] | undefined>>;
}

export function authzInput(r: AuthzRequest, headerAllow: readonly string[]): AuthzInput {
  return {
    source: { service: r.src_service, identity: r.src_identity ?? '' },
    destination: { service: r.dst_service },
    request: {
      method: r.method ?? '',
      path: requestPath(r.target),
      headers: allowedHeaders(r.headers ?? {}, headerAllow),
    },
  };
}

/** The path of a request target, without query string or fragment ("/" for an unreadable absolute-form). */
export function requestPath(target = '/'): string {
  let t = target.split('#')[0];
  if (!t.startsWith('/')) {
    try { t = new URL(t).pathname; } catch { t = '/'; }
  }
  const q = t.indexOf('?');
  return q < 0 ? t : t.slice(0, q);
}

function allowedHeaders(headers: Readonly<Record<string, string | string[] | undefined>>, allow: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of allow) {
    const v = Object.hasOwn(headers, name) ? headers[name] : undefined;
    if (v !== undefined) out[name] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}
