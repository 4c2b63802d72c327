// The control plane's certificate authority, from flags: kept by meshlens in
// <data-dir>/ca (made at first start, key 0600), or an external one (your
// PKI's intermediate and key, and the root bundle that anchors it).

import { join, resolve } from 'node:path';
import { CertificateAuthority, DEFAULT_TRUST_DOMAIN, spiffeProblems } from '../identity/index.ts';
import type { FlagSpec, FlagValues } from './flags.ts';

export const IDENTITY_FLAGS: FlagSpec[] = [
  { name: 'trust-domain', type: 'string', env: 'MESHLENS_TRUST_DOMAIN', default: DEFAULT_TRUST_DOMAIN, help: 'SPIFFE trust domain of this mesh (spiffe://<trust-domain>/ns/<ns>/sa/<service>)' },
  { name: 'svid-ttl-s', type: 'int', env: 'MESHLENS_SVID_TTL_S', default: 3600, help: 'lifetime in seconds of the workload certificates issued; sidecars renew at half of what is left' },
  { name: 'ca-cert', type: 'string', env: 'MESHLENS_CA_CERT', help: 'external CA: PEM certificate (an intermediate your PKI issued for the mesh); with --ca-key and --ca-bundle' },
  { name: 'ca-key', type: 'string', env: 'MESHLENS_CA_KEY', help: 'external CA: its PKCS#8 PEM private key (mode 0600)' },
  { name: 'ca-bundle', type: 'string', env: 'MESHLENS_CA_BUNDLE', help: 'external CA: PEM roots that anchor --ca-cert' },
];

export function identityProblems(f: FlagValues): string[] {
  const p = spiffeProblems({ trustDomain: String(f['trust-domain']), namespace: 'default', service: 'x' }).map((m) => `--trust-domain: ${m}`);
  const external = ['ca-cert', 'ca-key', 'ca-bundle'].filter((k) => f[k] !== undefined);
  if (external.length > 0 && external.length < 3) p.push('--ca-cert, --ca-key and --ca-bundle: give all three for an external CA, or none');
  if (!(Number(f['svid-ttl-s']) >= 4)) p.push('--svid-ttl-s: at least 4 seconds');
  return p;
}

export async function openCertificateAuthority(f: FlagValues, log: (line: string) => void): Promise<{ ca: CertificateAuthority; bundleFile: string }> {
  const trustDomain = String(f['trust-domain']);
  if (f['ca-cert'] !== undefined) {
    const ca = await CertificateAuthority.fromFiles({ certPath: String(f['ca-cert']), keyPath: String(f['ca-key']), bundlePath: String(f['ca-bundle']), trustDomain });
    log(`identity: external CA ${String(f['ca-cert'])}, trust domain ${trustDomain}`);
    return { ca, bundleFile: resolve(String(f['ca-bundle'])) };
  }
  const dir = join(resolve(String(f['data-dir'])), 'ca');
  const ca = await CertificateAuthority.open({ dir, trustDomain });
  log(`identity: CA in ${dir}, trust domain ${trustDomain}, trust bundle ${ca.bundlePath}`);
  return { ca, bundleFile: ca.bundlePath! };
}
