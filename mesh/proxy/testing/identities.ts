// Real workload identities for the sidecar's tests: an in-memory CA of the
// test trust domain, SVIDs for any (service, proxy) as a sidecar's static
// identity, and HTTPS requests that present one (a caller sidecar's side
// of mTLS) or none.

import https from 'node:https';
import { CertificateAuthority, newKeyAndCsr } from '../../../identity/index.ts';
import type { SidecarOptions } from '../options.ts';
import { request, type Reply } from './servers.ts';

export type StaticIdentity = NonNullable<SidecarOptions['staticIdentity']>;

export interface TestIdentities {
  ca: CertificateAuthority;
  /** A sidecar's identity: its key and SVID chain, and the bundle. */
  identity(service: string, proxy?: string, ttlMs?: number): Promise<StaticIdentity>;
}

export async function testIdentities(trustDomain = 'test.local'): Promise<TestIdentities> {
  const ca = await CertificateAuthority.open({ dir: null, trustDomain });
  return {
    ca,
    async identity(service, proxy = `${service}-1`, ttlMs) {
      const { keyPem, csrPem } = await newKeyAndCsr(proxy);
      const { chainPem } = await ca.sign({ csrPem, service, proxy, ttlMs });
      return { keyPem, chainPem, bundlePem: ca.bundle.toPem() };
    },
  };
}

/** An HTTPS request to 127.0.0.1:port presenting `as` (a caller sidecar's SVID); the server's chain is checked against the same bundle. */
export function mtlsRequest(port: number, as: StaticIdentity | null, opts: https.RequestOptions & { body?: string; bundlePem?: string } = {}): Promise<Reply> {
  return request(port, {
    ...opts, ca: opts.bundlePem ?? as?.bundlePem, ...(as ? { key: as.keyPem, cert: as.chainPem } : {}),
    checkServerIdentity: () => undefined, // tests name no expected service; the sidecars' own pools do
  } as https.RequestOptions, https.request as typeof import('node:http').request);
}
