// X.509 SVIDs as node:crypto sees them: who a certificate says it is, and
// whether it chains to a trust bundle. Used wherever an identity is
// believed: the sidecar's inbound listener (the peer of an mTLS connection),
// the control plane (who opened a config stream, who posts taps) and the
// collector (who signed a tap batch, on either bus).

import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { parseSpiffeId, type SpiffeId } from './spiffe.ts';

export interface Svid extends SpiffeId {
  /** The URI SAN, e.g. spiffe://meshlens.local/ns/default/sa/cart */
  uri: string;
  /** Subject CN: the proxy (instance) id the certificate was issued to. */
  proxy: string;
  notAfter: number;
  /** SHA-256 fingerprint of the DER, colon-hex as node prints it. */
  fingerprint: string;
}

export class IdentityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdentityError';
  }
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate in a PEM text, in order. */
export function certificatesFromPem(pem: string): X509Certificate[] {
  return (pem.match(PEM_CERT) ?? []).map((p) => new X509Certificate(p));
}

/** The URI SANs in node's rendering of subjectAltName ("URI:spiffe://…, DNS:…"). */
export function uriSans(subjectAltName: string | undefined): string[] {
  return (subjectAltName ?? '').split(', ').filter((s) => s.startsWith('URI:')).map((s) => s.slice(4));
}

/** The error code of a peer whose certificate is not the SPIFFE id expected (expectPeer). */
export const PEER_IDENTITY_MISMATCH = 'ERR_MESH_PEER_IDENTITY';

/** checkServerIdentity for node:tls/https: the peer's only URI SAN must be exactly `uri` (the chain is checked by TLS). */
export function expectPeer(uri: string): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const uris = uriSans(cert.subjectaltname);
    if (uris.length === 1 && uris[0] === uri) return undefined;
    return Object.assign(new Error(`peer is ${uris.join(' ') || 'no SPIFFE id'}, expected ${uri}`), { code: PEER_IDENTITY_MISMATCH });
  };
}

/**
 * Who a TLS peer is, from a certificate the handshake already verified
 * (node's PeerCertificate: cheaper to get than an X509Certificate). Service
 * and proxy are '' when the certificate is not a meshlens SVID.
 */
export function peerIdentity(cert: PeerCertificate): { uri: string; service: string; proxy: string } {
  const uri = uriSans(cert.subjectaltname)[0] ?? '';
  const cn = cert.subject?.CN;
  return { uri, service: parseSpiffeId(uri)?.service ?? '', proxy: (Array.isArray(cn) ? cn[0] : cn) ?? '' };
}

export type PeerResult = { ok: true; svid: Svid } | { ok: false; message: string };

/**
 * The SVID of the peer of a TLS connection whose server asked for a client
 * certificate and checked it against the trust bundle (`requestCert`, `ca`):
 * believed only when the handshake authorized it; otherwise why not.
 */
export function verifiedPeer(socket: Socket): PeerResult {
  const tls = socket as TLSSocket;
  if (typeof tls.getPeerX509Certificate !== 'function') return { ok: false, message: 'not a TLS connection' };
  const cert = tls.getPeerX509Certificate();
  if (!cert) return { ok: false, message: 'no client certificate: sidecar routes need the sidecar\'s SVID (mTLS)' };
  if (!tls.authorized) return { ok: false, message: `client certificate refused: ${String(tls.authorizationError)}` };
  try {
    return { ok: true, svid: readSvid(cert) };
  } catch (e) {
    return { ok: false, message: e instanceof IdentityError ? e.message : String(e) };
  }
}

/** The identity a certificate claims (not yet believed: see TrustBundle.verify). */
export function readSvid(cert: X509Certificate): Svid {
  const uris = uriSans(cert.subjectAltName);
  if (uris.length !== 1) throw new IdentityError(`certificate ${cert.serialNumber}: an SVID has exactly one URI SAN, this has ${uris.length}`);
  const id = parseSpiffeId(uris[0]);
  if (!id) throw new IdentityError(`certificate ${cert.serialNumber}: "${uris[0]}" is not a spiffe://<trust-domain>/ns/<ns>/sa/<service> id`);
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? '';
  return { ...id, uri: uris[0], proxy: cn, notAfter: Date.parse(cert.validTo), fingerprint: cert.fingerprint256 };
}

/**
 * The roots a mesh trusts. During a CA rotation it holds the old root and
 * the new one, so certificates from either verify until the old ones expire.
 */
export class TrustBundle {
  readonly roots: readonly X509Certificate[];

  constructor(roots: readonly X509Certificate[]) {
    if (roots.length === 0) throw new IdentityError('trust bundle: no certificates');
    for (const r of roots) if (!r.ca) throw new IdentityError(`trust bundle: certificate ${r.subject.replace(/\n/g, ', ')} is not a CA`);
    this.roots = roots;
  }

  static fromPem(pem: string, where = 'trust bundle'): TrustBundle {
    const roots = certificatesFromPem(pem);
    if (roots.length === 0) throw new IdentityError(`${where}: no PEM certificates found`);
    return new TrustBundle(roots);
  }

  toPem(): string {
    return this.roots.map((r) => r.toString()).join('');
  }

  /**
   * Believes a leaf SVID: `chain` is the leaf first, then any intermediates
   * (an external CA's); each link must be issued and signed by the next, the
   * last by a root of this bundle, all valid at `now`. Throws IdentityError
   * naming the first problem.
   */
  verify(chain: readonly X509Certificate[], now = Date.now()): Svid {
    if (chain.length === 0) throw new IdentityError('no certificate presented');
    const leaf = chain[0];
    if (leaf.ca) throw new IdentityError(`certificate ${leaf.serialNumber} is a CA, not a workload SVID`);
    const svid = readSvid(leaf);
    for (let i = 0; i < chain.length; i++) {
      const c = chain[i];
      if (now < Date.parse(c.validFrom)) throw new IdentityError(`certificate ${c.serialNumber} (${svid.uri}) is not valid before ${c.validFrom}`);
      if (now > Date.parse(c.validTo)) throw new IdentityError(`certificate ${c.serialNumber} (${svid.uri}) expired at ${c.validTo}`);
      const root = this.roots.find((r) => c.checkIssued(r) && c.verify(r.publicKey));
      if (root) {
        if (now > Date.parse(root.validTo)) throw new IdentityError(`root ${root.serialNumber} of ${svid.uri} expired at ${root.validTo}`);
        return svid;
      }
      const next = chain[i + 1];
      if (!next || !next.ca || !c.checkIssued(next) || !c.verify(next.publicKey)) break;
    }
    throw new IdentityError(`certificate ${leaf.serialNumber} (${svid.uri}) does not chain to the trust bundle`);
  }
}
