// The collector's half of signed tap batches (format: ./batch.ts): is this
// batch signed by the proxy its header names, with a certificate the mesh
// trusts?
//
//   1. the frame is schema 4 (unsigned frames are refused);
//   2. the leaf in x5c chains to the trust bundle (TrustBundle.verify,
//      identity/): once per certificate, then cached by its DER until it
//      expires, so a batch costs one ECDSA verify and not a chain walk;
//   3. the leaf's subject CN is the header's proxy: a valid certificate of
//      ANOTHER proxy does not do (a compromised cart-1 cannot write web-1's
//      taps);
//   4. the signature verifies over signedMessage(hash) with the leaf's key.
//      The hash was already checked against the frame's bytes, so this
//      covers the header and every event.
//
// Expired certificates: a Kafka record is read when the collector gets to
// it, possibly hours after it was signed (a collector outage), and SVIDs
// live an hour. A leaf that expired less than `expiredGraceMs` ago (default
// 24 h) is still believed if the chain was valid when it expired. The
// price: a key stolen from a sidecar signs for that much longer than its
// certificate. A batch past the grace is refused, and lands in tap_rejects.

import { X509Certificate, verify, type KeyObject } from 'node:crypto';
import { IdentityError, type Svid, type TrustBundle } from '../identity/index.ts';
import { signedMessage } from './batch-signer.ts';
import { SIGNED_BATCH_SCHEMA, type BatchSigned } from './batch.ts';
import type { FrameHead } from './batch-check.ts';
import { IngestError } from './errors.ts';

export const DEFAULT_EXPIRED_GRACE_MS = 24 * 3600_000;
/** Certificates kept believed at once; past it, the oldest are checked again when next seen. */
const MAX_CACHED = 10_000;

export interface BatchVerifierOptions {
  /** See the header (default DEFAULT_EXPIRED_GRACE_MS). */
  expiredGraceMs?: number;
  now?: () => number;
}

interface Believed { svid: Svid; key: KeyObject; /** Believed until (notAfter + grace). */ until: number }

export interface BatchVerifierCounters {
  /** Signatures that verified. */
  signatures_verified: number;
  /** Certificate chains walked to the bundle (cache misses); a sidecar's first batch per certificate. */
  certificate_chains_verified: number;
}

/** ECDSA-with-SHA-256 over signedMessage(hash); false, not an exception, for a key of another kind. */
function verifies(key: KeyObject, hash: string, sig: string): boolean {
  try {
    return verify('sha256', signedMessage(hash), key, Buffer.from(sig, 'base64'));
  } catch {
    return false;
  }
}

export class BatchVerifier {
  readonly #trust: () => TrustBundle;
  readonly #graceMs: number;
  readonly #now: () => number;
  /** Believed leaves by their base64 DER, for the bundle they were believed under. */
  readonly #cache = new Map<string, Believed>();
  #cacheBundle: TrustBundle | null = null;
  readonly counters: BatchVerifierCounters = { signatures_verified: 0, certificate_chains_verified: 0 };

  /** `trust`: the bundle, or a function giving the current one (a rotated bundle empties the cache). */
  constructor(trust: TrustBundle | (() => TrustBundle), opts: BatchVerifierOptions = {}) {
    this.#trust = typeof trust === 'function' ? trust : () => trust;
    this.#graceMs = opts.expiredGraceMs ?? DEFAULT_EXPIRED_GRACE_MS;
    if (!Number.isFinite(this.#graceMs) || this.#graceMs < 0) throw new IngestError('INGEST_ERR_CONFIG', `batch verifier: expiredGraceMs must be >= 0, got ${opts.expiredGraceMs}`);
    this.#now = opts.now ?? Date.now;
  }

  /**
   * Who signed the frame, or INGEST_ERR_SIGNATURE naming why it is not
   * believed. `believed` hears of the certificate as soon as its chain is
   * believed, even if the batch is then refused (for the rejects table).
   */
  verify(f: FrameHead, believed?: (svid: Svid) => void): BatchSigned {
    const { header: h, label } = f;
    const refuse = (why: string) => new IngestError('INGEST_ERR_SIGNATURE', `${label}: ${why}`);
    if (h.schema !== SIGNED_BATCH_SCHEMA || !h.signature) {
      throw refuse(`unsigned (schema ${h.schema}): this collector takes only batches signed by their sidecar's certificate (schema ${SIGNED_BATCH_SCHEMA})`);
    }
    const { sig, x5c } = h.signature;
    const c = this.#believe(x5c, refuse);
    believed?.(c.svid);
    if (c.svid.proxy !== h.proxy) {
      throw refuse(`signed by ${c.svid.proxy} (${c.svid.uri}), but the header names proxy ${h.proxy}; a sidecar signs only its own batches`);
    }
    if (!verifies(c.key, h.hash, sig)) {
      throw refuse(`the signature does not verify over hash ${h.hash.slice(0, 12)}… with the key of ${c.svid.proxy}'s certificate (signed by another key, or the batch was changed and hashed again)`);
    }
    this.counters.signatures_verified++;
    return { uri: c.svid.uri, proxy: c.svid.proxy, service: c.svid.service, fingerprint: c.svid.fingerprint, sig };
  }

  /** The leaf of `x5c`, believed: from the cache, or by walking its chain to the bundle. */
  #believe(x5c: readonly string[], refuse: (why: string) => IngestError): Believed {
    const bundle = this.#trust();
    if (bundle !== this.#cacheBundle) {
      this.#cache.clear(); // a root may have left the bundle
      this.#cacheBundle = bundle;
    }
    const now = this.#now();
    const hit = this.#cache.get(x5c[0]);
    if (hit && now <= hit.until) return hit;
    if (hit) this.#cache.delete(x5c[0]);

    let chain: X509Certificate[];
    try {
      chain = x5c.map((c) => new X509Certificate(Buffer.from(c, 'base64')));
    } catch (e) {
      throw refuse(`x5c holds something that is not a DER X.509 certificate: ${(e as Error).message}`);
    }
    let svid: Svid;
    try {
      svid = this.#verifyChain(bundle, chain, now);
    } catch (e) {
      if (e instanceof IdentityError) throw refuse(`certificate not believed: ${e.message}`);
      throw e;
    }
    this.counters.certificate_chains_verified++;
    const c: Believed = { svid, key: chain[0].publicKey, until: svid.notAfter + this.#graceMs };
    if (this.#cache.size >= MAX_CACHED) {
      for (const [k, v] of this.#cache) if (v.until < now) this.#cache.delete(k);
      if (this.#cache.size >= MAX_CACHED) this.#cache.delete(this.#cache.keys().next().value as string);
    }
    this.#cache.set(x5c[0], c);
    return c;
  }

  /** TrustBundle.verify at `now`, or, for a leaf expired within the grace, at the moment it expired. */
  #verifyChain(bundle: TrustBundle, chain: X509Certificate[], now: number): Svid {
    try {
      return bundle.verify(chain, now);
    } catch (e) {
      const notAfter = Date.parse(chain[0].validTo);
      if (!(e instanceof IdentityError) || !(notAfter < now && now - notAfter <= this.#graceMs)) throw e;
      return bundle.verify(chain, notAfter);
    }
  }
}
