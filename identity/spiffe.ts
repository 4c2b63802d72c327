// SPIFFE ids (https://spiffe.io, SPIFFE-ID spec): `spiffe://<trust-domain>/<path>`.
// meshlens gives each service one id, Istio's shape:
//
//   spiffe://<trust-domain>/ns/<namespace>/sa/<service>
//
// The instance (proxy id) is not part of the id, as the X.509-SVID spec
// allows exactly one URI SAN; it travels in the certificate's subject CN.

export interface SpiffeId {
  trustDomain: string;
  namespace: string;
  service: string;
}

/** Trust domain: lower-case letters, digits, `.`, `-`, `_` (SPIFFE-ID §2.1). */
const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;
/** A path segment: letters, digits, `.`, `-`, `_`, not `.` or `..` (§2.2). */
const SEGMENT = /^[A-Za-z0-9._-]{1,128}$/;

export const DEFAULT_TRUST_DOMAIN = 'meshlens.local';
export const DEFAULT_NAMESPACE = 'default';

export function isName(s: string): boolean {
  return SEGMENT.test(s) && s !== '.' && s !== '..';
}

/** Problems with the parts of an id, each naming the part; [] when valid. */
export function spiffeProblems(id: SpiffeId): string[] {
  const p: string[] = [];
  if (!TRUST_DOMAIN.test(id.trustDomain)) p.push(`trust domain "${id.trustDomain}": lower-case letters, digits, '.', '-', '_' only`);
  if (!isName(id.namespace)) p.push(`namespace "${id.namespace}": 1-128 of [A-Za-z0-9._-], not '.' or '..'`);
  if (!isName(id.service)) p.push(`service "${id.service}": 1-128 of [A-Za-z0-9._-], not '.' or '..'`);
  return p;
}

export function formatSpiffeId(id: SpiffeId): string {
  const p = spiffeProblems(id);
  if (p.length > 0) throw new TypeError(`not a valid SPIFFE id: ${p.join('; ')}`);
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.service}`;
}

/** Parses a meshlens-shaped SPIFFE id; null for anything else. */
export function parseSpiffeId(uri: string): SpiffeId | null {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uri);
  if (!m) return null;
  const id = { trustDomain: m[1], namespace: m[2], service: m[3] };
  return spiffeProblems(id).length === 0 ? id : null;
}
