// The sidecar's half of signed tap batches (format: ./batch.ts): a
// BatchSigner holds the sidecar's private key and its certificate chain
// (an X.509 SVID from identity/, leaf first) and signs a batch's hash when
// the batch is sealed. Certificates rotate (an hour or less), so a sidecar
// keeps a *current* signer and makes a new one when its certificate is
// renewed; a frame keeps the signature it was sealed with.

import { createPrivateKey, sign, type KeyObject, type X509Certificate } from 'node:crypto';
import { certificatesFromPem, readSvid, type Svid } from '../identity/index.ts';
import { IngestError } from './errors.ts';

/** The signature line's fields: the ECDSA signature and the signer's certificate chain, base64 DER. */
export interface BatchSignature {
  /** DER ECDSA-with-SHA-256 signature of signedMessage(hash). */
  sig: string;
  /** Leaf first, then any intermediates (an external CA's); never the root. */
  x5c: string[];
}

/**
 * What is signed: a context string and the hash, so a batch signature can
 * never be taken for a signature of anything else the same key signs (a
 * TLS handshake signs its own context string).
 */
export const signedMessage = (hash: string): Buffer => Buffer.from(`meshlens-tap-batch-v1:${hash}`, 'latin1');

/** The signature line of a frame, with its "\n". */
export const signatureLine = (s: BatchSignature): string => `${JSON.stringify({ sig: s.sig, x5c: s.x5c })}\n`;

export class BatchSigner {
  /** Who the certificate says the signer is (subject CN: the proxy id; URI SAN: the SPIFFE id). */
  readonly svid: Svid;
  readonly #key: KeyObject;
  readonly #x5c: string[];

  /**
   * `keyPem`: the sidecar's PKCS#8 key; `chainPem`: its SVID, leaf first.
   * The key is parsed once here, not per batch. Throws INGEST_ERR_CONFIG
   * when the chain is empty, the leaf is not an SVID, or the key is not
   * the leaf's.
   */
  constructor(keyPem: string, chainPem: string) {
    let chain: X509Certificate[];
    try {
      chain = certificatesFromPem(chainPem);
      if (chain.length === 0) throw new Error('no PEM certificate in the chain');
      this.#key = createPrivateKey(keyPem);
      this.svid = readSvid(chain[0]);
    } catch (e) {
      throw new IngestError('INGEST_ERR_CONFIG', `batch signer: ${(e as Error).message}`, { cause: e });
    }
    if (!chain[0].checkPrivateKey(this.#key)) {
      throw new IngestError('INGEST_ERR_CONFIG', `batch signer: the key is not the key of certificate ${chain[0].serialNumber} (${this.svid.uri}, ${this.svid.proxy})`);
    }
    this.#x5c = chain.filter((c, i) => i === 0 || !c.checkIssued(c)).map((c) => c.raw.toString('base64'));
  }

  /** The proxy id the certificate was issued to (its subject CN). */
  get proxy(): string { return this.svid.proxy; }

  /** Signs a batch's hash (64 hex digits). */
  sign(hash: string): BatchSignature {
    return { sig: sign('sha256', signedMessage(hash), this.#key).toString('base64'), x5c: this.#x5c };
  }
}
