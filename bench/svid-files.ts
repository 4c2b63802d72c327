// X.509 SVIDs as files, for benches that start sidecars and their peers
// (HAProxy) as separate processes: one in-memory CA of the bench's trust
// domain, one key + certificate per service, and the trust bundle. The same
// files serve `meshlens sidecar --svid-key/--svid-cert/--trust-bundle` and
// HAProxy's `crt` (key and certificate in one file) and `ca-file`.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CertificateAuthority, newKeyAndCsr } from '../identity/index.ts';

export const BENCH_TRUST_DOMAIN = 'bench.local';

export interface SvidFiles {
  key: string;
  cert: string;
  /** Certificate chain, then the key: HAProxy's `crt`. */
  combined: string;
}

/** A SVID for each service (proxy id `<service>-1`), valid a day, and bundle.pem, all in `dir`. */
export async function writeSvidFiles(dir: string, services: string[]): Promise<{ bundle: string; svids: Record<string, SvidFiles> }> {
  const ca = await CertificateAuthority.open({ dir: null, trustDomain: BENCH_TRUST_DOMAIN });
  const bundle = join(dir, 'bundle.pem');
  writeFileSync(bundle, ca.bundle.toPem());
  const svids: Record<string, SvidFiles> = {};
  for (const service of services) {
    const { keyPem, csrPem } = await newKeyAndCsr(`${service}-1`);
    const { chainPem } = await ca.sign({ csrPem, service, proxy: `${service}-1`, ttlMs: 24 * 3600_000 });
    const f = { key: join(dir, `${service}.key`), cert: join(dir, `${service}.crt`), combined: join(dir, `${service}.pem`) };
    writeFileSync(f.key, keyPem, { mode: 0o600 });
    writeFileSync(f.cert, chainPem);
    writeFileSync(f.combined, chainPem + keyPem, { mode: 0o600 });
    svids[service] = f;
  }
  return { bundle, svids };
}
