// The workload side of issuance: a fresh key pair and a PKCS#10 request for
// it. The private key never leaves the process that made it; the control
// plane only ever sees the request, and decides the identity itself (from
// the join token or the certificate presented), whatever the request says.

import { EC_ALG, newKeyPair, peculiarX509, privateKeyPem } from './x509.ts';

export interface KeyAndCsr {
  /** PKCS#8 PEM; keep it 0600. */
  keyPem: string;
  csrPem: string;
}

export async function newKeyAndCsr(commonName: string): Promise<KeyAndCsr> {
  const keys = await newKeyPair();
  const csr = await (await peculiarX509()).Pkcs10CertificateRequestGenerator.create({
    name: `CN=${commonName}`, keys, signingAlgorithm: EC_ALG,
  });
  return { keyPem: await privateKeyPem(keys.privateKey), csrPem: csr.toString('pem') + '\n' };
}
