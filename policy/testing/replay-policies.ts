// The policies of replay's tests: one in force and a draft that changes it
// in known ways, and the recorded requests whose flips those changes imply,
// request by request.

import type { SeedRequest } from './replay-seed.ts';

export const CURRENT_REGO = `package meshlens.authz

callers := {"cart": {"web"}, "payments": {"cart"}, "catalog": {"web", "indexer"}}

default decision := {"allow": false, "reason": "no rule allowed this request"}

decision := {"allow": true, "reason": "caller allowed"} if input.source.service in callers[input.destination.service]
`;

// Opens GET /products to external callers, closes DELETE on cart, refuses
// curl by user-agent, and wants an Authorization header on refunds: a header
// taps never keep, so every recorded refund flips (the notes say why).
export const DRAFT_REGO = `package meshlens.authz

callers := {"cart": {"web"}, "payments": {"cart"}, "catalog": {"web", "indexer"}}

src := input.source.service

dst := input.destination.service

default decision := {"allow": false, "reason": "no rule allowed this request"}

decision := {"allow": true, "reason": "public catalog"} if {
	src == "external"
	dst == "catalog"
	input.request.method == "GET"
	input.request.path == "/products"
} else := {"allow": false, "reason": "nobody deletes from cart"} if {
	dst == "cart"
	input.request.method == "DELETE"
} else := {"allow": false, "reason": "no curl"} if {
	startswith(input.request.headers["user-agent"], "curl/")
} else := {"allow": false, "reason": "refunds need authorization"} if {
	input.request.path == "/refund"
	not input.request.headers.authorization
} else := {"allow": true, "reason": "caller allowed"} if {
	src in callers[dst]
}
`;

/** A seeded request and what each side decides on it: the draft, the current policy (replayed), and the tap's record. */
export interface KnownRequest extends SeedRequest { draft: boolean; current: boolean }

/** Requests at t0 + i ms; recorded decisions are what the current policy decided, but where a note says otherwise. */
export function knownRequests(t0: number): KnownRequest[] {
  const rows: [string, string, string, string, Record<string, string> | undefined, SeedRequest['decision'], string, boolean, boolean][] = [
    // src, dst, method, path, headers, recorded, reason, current, draft
    ['web', 'cart', 'GET', '/items', { 'user-agent': 'web/1' }, 'allow', 'caller allowed', true, true],
    ['web', 'cart', 'DELETE', '/items/7?force=1', undefined, 'allow', 'caller allowed', true, false],
    ['web', 'cart', 'DELETE', '/items/7', undefined, 'allow', 'caller allowed', true, false],
    ['external', 'catalog', 'GET', '/products', undefined, 'deny', 'no rule allowed this request', false, true],
    ['external', 'catalog', 'POST', '/products', undefined, 'deny', 'no rule allowed this request', false, false],
    ['cart', 'payments', 'POST', '/pay', { 'user-agent': 'curl/8.1', 'x-request-id': 'r6' }, 'allow', 'caller allowed', true, false],
    ['cart', 'payments', 'POST', '/pay', { 'user-agent': 'node' }, 'allow', 'caller allowed', true, true],
    // The live request carried Authorization; the tap could not keep it.
    ['cart', 'payments', 'POST', '/refund', undefined, 'allow', 'caller allowed', true, false],
    ['indexer', 'cart', 'GET', '/items', undefined, 'deny', 'no rule allowed this request', false, false],
    // Recorded before any policy was configured: it went through.
    ['web', 'inventory', 'GET', '/stock', undefined, 'none', '', false, false],
    // Denied by an older policy early in the period; the current one allows it.
    ['web', 'catalog', 'GET', '/products', undefined, 'deny', 'catalog closed', true, true],
  ];
  return rows.map(([src, dst, method, path, headers, decision, reason, current, draft], i) => ({
    ts: t0 + i, src, dst, method, path, headers, decision, reason, current, draft,
  }));
}
