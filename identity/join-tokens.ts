// Join tokens: how a workload proves, once, which service and instance it
// is before it has a certificate (SPIRE's join-token attestation). The
// control plane issues a token for one (service, proxy) pair; the sidecar
// presents it with its first certificate signing request; the token is then
// spent. Renewals are authenticated by the certificate itself.
//
// What this does not do (SPIRE's node and workload attestors do): prove
// *which process* presents the token. Whoever holds an unspent token can
// become that workload once; keep tokens out of argv (meshlens passes them in
// MESHLENS_JOIN_TOKEN) and short-lived (default 10 minutes).
//
// Tokens are kept in memory, hashed; a restarted control plane forgets the
// unspent ones (workloads that already hold certificates renew with those).

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isName } from './spiffe.ts';
import { IdentityError } from './svid.ts';

export interface JoinGrant { service: string; proxy: string; namespace: string }

export const DEFAULT_JOIN_TOKEN_TTL_MS = 10 * 60_000;
const PREFIX = 'mlj_';

const digest = (token: string) => createHash('sha256').update(token).digest();

export class JoinTokens {
  readonly #byHash = new Map<string, JoinGrant & { expires: number }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  issue(grant: { service: string; proxy: string; namespace?: string }, ttlMs = DEFAULT_JOIN_TOKEN_TTL_MS): string {
    for (const [what, v] of [['service', grant.service], ['proxy', grant.proxy]] as const) {
      if (!isName(v)) throw new IdentityError(`join token: ${what} "${v}" must be 1-128 of [A-Za-z0-9._-]`);
    }
    this.#sweep();
    const token = PREFIX + randomBytes(32).toString('base64url');
    this.#byHash.set(digest(token).toString('hex'), { service: grant.service, proxy: grant.proxy, namespace: grant.namespace ?? 'default', expires: this.#now() + ttlMs });
    return token;
  }

  /** Spends a token; throws IdentityError saying why it is not good (never which tokens exist). */
  redeem(token: string): JoinGrant {
    if (typeof token !== 'string' || !token.startsWith(PREFIX) || token.length > 128) throw new IdentityError('join token: malformed');
    const h = digest(token);
    const key = h.toString('hex');
    const g = this.#byHash.get(key);
    // The map lookup is by hash of a 256-bit secret; compare again in constant time for form's sake.
    if (!g || !timingSafeEqual(Buffer.from(key, 'hex'), h)) throw new IdentityError('join token: unknown or already used');
    this.#byHash.delete(key);
    if (g.expires < this.#now()) throw new IdentityError('join token: expired');
    return { service: g.service, proxy: g.proxy, namespace: g.namespace };
  }

  get outstanding(): number {
    this.#sweep();
    return this.#byHash.size;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [k, g] of this.#byHash) if (g.expires < now) this.#byHash.delete(k);
  }
}
