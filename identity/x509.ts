// The one place @peculiar/x509 is loaded: it needs a Reflect polyfill
// (reflect-metadata) and a WebCrypto provider (Node's own) before first use.
// Loaded when first asked for, by whoever makes a key, a CSR or a
// certificate: the two cost a process ~22 MB and ~0.3 s, which a sidecar
// that only checks certificates (node:crypto does that), or has none, never
// needs to pay.
// Everything here is ECDSA P-256 with SHA-256, the curve SPIRE and Istio
// default to: small certificates and fast handshakes.

import { webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

let loaded: Promise<typeof X509> | null = null;

/** @peculiar/x509, ready to use. */
export function peculiarX509(): Promise<typeof X509> {
  return (loaded ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto as unknown as Crypto);
    return x509;
  })());
}

export const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const subtle = webcrypto.subtle;

export async function newKeyPair(): Promise<CryptoKeyPair> {
  return subtle.generateKey(EC_ALG, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

/** PKCS#8 PEM of a private key, as node:tls takes it. */
export async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await subtle.exportKey('pkcs8', key));
  return (await peculiarX509()).PemConverter.encode(der, 'PRIVATE KEY') + '\n';
}

/** A key pair back from its PKCS#8 PEM (the public half derived through node:crypto). */
export async function keyPairFromPem(pem: string): Promise<CryptoKeyPair> {
  const { createPrivateKey, createPublicKey } = await import('node:crypto');
  const priv = createPrivateKey(pem);
  const pkcs8 = priv.export({ type: 'pkcs8', format: 'der' });
  const spki = createPublicKey(priv).export({ type: 'spki', format: 'der' });
  const privateKey = await subtle.importKey('pkcs8', pkcs8, EC_ALG, true, ['sign']);
  const publicKey = await subtle.importKey('spki', spki, EC_ALG, true, ['verify']);
  return { privateKey, publicKey } as CryptoKeyPair;
}

/** Random positive 128-bit serial, hex. */
export function serialNumber(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] &= 0x7f;
  b[0] |= 0x01;
  return Buffer.from(b).toString('hex');
}
