// X.509 SVIDs as files, for benches that start sidecars and their peers
// (HAProxy) as separate processes: a CA (an in-memory one of the bench's
// trust domain, or the caller's), one key + certificate per workload, and
// the trust bundle. The same
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

/** One workload's SVID: `service` says which service it is, `proxy` the sidecar id the collector holds its tap batches to. */
export interface SvidRequest { service: string; proxy: string }

/**
 * A SVID for each service (a name: proxy id `<service>-1`; or service and
 * proxy), valid a day, and bundle.pem, all in `dir`; keyed by the name or
 * the proxy id. Signed by `ca` if given (e.g. the one a `meshlens control`
 * will open from its data dir, so its collector believes these sidecars'
 * batches), else by a new in-memory CA of BENCH_TRUST_DOMAIN.
 */
export async function writeSvidFiles(dir: string, services: (string | SvidRequest)[], ca?: CertificateAuthority): Promise<{ bundle: string; svids: Record<string, SvidFiles> }> {
  ca ??= await CertificateAuthority.open({ dir: null, trustDomain: BENCH_TRUST_DOMAIN });
  const bundle = join(dir, 'bundle.pem');
  writeFileSync(bundle, ca.bundle.toPem());
  const svids: Record<string, SvidFiles> = {};
  for (const s of services) {
    const { service, proxy } = typeof s === 'string' ? { service: s, proxy: `${s}-1` } : s;
    const name = typeof s === 'string' ? s : proxy;
    const { keyPem, csrPem } = await newKeyAndCsr(proxy);
    const { chainPem } = await ca.sign({ csrPem, service, proxy, ttlMs: 24 * 3600_000 });
    const f = { key: join(dir, `${name}.key`), cert: join(dir, `${name}.crt`), combined: join(dir, `${name}.pem`) };
    writeFileSync(f.key, keyPem, { mode: 0o600 });
    writeFileSync(f.cert, chainPem);
    writeFileSync(f.combined, chainPem + keyPem, { mode: 0o600 });
    svids[name] = f;
  }
  return { bundle, svids };
}
